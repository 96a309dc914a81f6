"""The columns of the files the analysis reads, as ``data/README.md`` defines them.

Trial file, block file, and the coder file that the voice-coding tool writes into a
session's audio folder. The analysis never imports ``experiment``, so the codebook is
restated here as data; ``tests/analysis/input/test_analysis_codebook.py`` checks the trial and block
columns against ``experiment/core/records.py``. Conditions and inks are not listed here: they
come from each session's saved config (:mod:`analysis.input.vocabulary`), which also says which of
the experiment's three congruency levels a session holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The experiment's congruency levels (its trial generator knows only these; which of them a
#: session holds comes from its config).
CONGRUENCY = ("congruent", "incongruent", "neutral")
RT_SOURCES = ("keyboard", "button", "voice-detected", "voice-corrected")
RESPONSE_DEVICES = ("keyboard", "buttons", "voice")
#: ``accuracy_code``: ``auto`` for keyboard and button trials (response compared with
#: correct_response); a voice trial's code: the experimenter's key during the trial, or
#: after the coder merge the coder's code.
ACCURACY_CODES = ("auto", "correct", "wrong", "unclear", "uncoded")
#: What a coder may code (the coder file's ``code``).
CODER_CODES = ("correct", "wrong", "unclear")
VOICE_DEVICE = "voice"
#: The trial file's ``response`` of a voice trial with a detected speech onset.
VOICE_RESPONSE = "voice"
#: Longest response window and interval the experiment runs (``timing.*_s`` ≤ 60 s), in ms.
MAX_WINDOW_MS = 60000.0
#: Fastest treadmill speed the experiment accepts (km/h).
MAX_SPEED_KMH = 30.0
#: Coder IDs (in ``coding_<coder>.csv`` and the plan's ``voice.coder``).
CODER_ID_PATTERN = r"[A-Za-z0-9_-]+"
#: An ISO 8601 wall time as the experiment writes it (``datetime.isoformat``), e.g.
#: 2026-01-05T09:00:47.518+00:00; a row torn inside it is refused, never read as a time.
ISO_TIME_PATTERN = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                    r"(?:[+-][0-9]{2}:[0-9]{2}|Z)?")
#: PsychoPy's ``data.getDateStr()``, e.g. 2026-11-21_14h05.09.123.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}h[0-9]{2}\.[0-9]{2}(?:\.[0-9]{1,6})?"


@dataclass(frozen=True)
class Column:
    """One codebook column. ``kind``: 'str', 'int' or 'float'. ``allowed``: the only values
    a string column may take; ``minimum``/``maximum``: bounds of a numeric column;
    ``empty_ok``: an empty cell (missing value) is allowed; ``pattern``: a regular expression
    every non-empty cell of a string column must match in full; ``what``: the codebook's
    words, used in error messages."""
    name: str
    kind: str
    what: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    empty_ok: bool = False
    pattern: str | None = None


#: The columns that say which block a row belongs to, the same in the trials and blocks files.
BLOCK_IDENTITY: tuple[Column, ...] = (
    Column("is_practice", "int", "0 or 1", minimum=0, maximum=1),
    Column("block", "int", "block number ≥ 1", minimum=1),
    Column("condition", "str", "condition (design.conditions of the session's config)"),
    Column("block_in_condition", "int", "≥ 1", minimum=1),
    Column("speed_set_kmh", "float", "km/h 0 … 30", minimum=0, maximum=MAX_SPEED_KMH,
           empty_ok=True),
)

TRIAL_COLUMNS: tuple[Column, ...] = (
    Column("participant", "str", "participant ID"),
    Column("session", "int", "session number ≥ 1", minimum=1),
    Column("run", "int", "run ≥ 1", minimum=1),
    Column("experiment", "str", "experiment name"),
    Column("date", "str", "session start", pattern=DATE_PATTERN),
    Column("simulated", "int", "0 or 1", minimum=0, maximum=1),
    Column("seed", "int", "0 … 2^32−1", minimum=0, maximum=2**32 - 1),
    Column("condition_order", "str", "order of conditions", empty_ok=True),
    *BLOCK_IDENTITY,
    Column("trial_in_block", "int", "≥ 1", minimum=1),
    Column("trial_in_session", "int", "≥ 1", minimum=1),
    Column("word", "str", "the word shown"),
    Column("word_colour", "str", "colour name, empty for neutral words", empty_ok=True),
    Column("ink", "str", "ink colour (design.colours of the session's config)"),
    Column("congruency", "str", "congruency", allowed=CONGRUENCY),
    Column("prev_congruency", "str", "congruency of trial n−1 or empty",
           allowed=CONGRUENCY, empty_ok=True),
    Column("correct_response", "str", "key name, buttonN, or for voice the ink name"),
    Column("response", "str", "key name, buttonN or voice, empty if none", empty_ok=True),
    Column("rt_ms", "float", "milliseconds > 0, at most the 60 s response window, empty if "
           "no response", minimum=0, maximum=MAX_WINDOW_MS, empty_ok=True),
    Column("correct", "int", "0 or 1", minimum=0, maximum=1),
    Column("timeout", "int", "0 or 1", minimum=0, maximum=1),
    Column("rt_source", "str", "how the RT was measured", allowed=RT_SOURCES),
    Column("response_device", "str", "response device", allowed=RESPONSE_DEVICES),
    Column("fixation_onset_s", "float", "seconds", empty_ok=True),
    Column("stim_onset_s", "float", "seconds", empty_ok=True),
    Column("iti_s", "float", "seconds 0 … 60", minimum=0, maximum=MAX_WINDOW_MS / 1000,
           empty_ok=True),
    Column("dropped_frames", "int", "≥ 0", minimum=0),
    Column("accuracy_code", "str", "how correct was decided", allowed=ACCURACY_CODES),
    Column("audio_file", "str", "the trial's WAV file name, empty for non-voice trials",
           empty_ok=True),
    Column("noise_file", "str", "the noise-calibration WAV file name, empty for non-voice "
           "trials", empty_ok=True),
    Column("voice_online_rt_ms", "float", "milliseconds, may be empty",
           maximum=MAX_WINDOW_MS, empty_ok=True),
    Column("voice_confidence", "float", "0 … 1, may be empty", minimum=0, maximum=1,
           empty_ok=True),
    Column("timestamp", "str", "ISO 8601 time", pattern=ISO_TIME_PATTERN),
)
#: The trial-file columns added with vocal responses (a file without them was written by an
#: older stroop-walk).
VOICE_TRIAL_COLUMN_NAMES = ("accuracy_code", "audio_file", "noise_file",
                            "voice_online_rt_ms", "voice_confidence")

BLOCK_COLUMNS: tuple[Column, ...] = (
    Column("participant", "str", "participant ID"),
    Column("session", "int", "session number ≥ 1", minimum=1),
    Column("run", "int", "run ≥ 1", minimum=1),
    *BLOCK_IDENTITY,
    Column("speed_actual_kmh", "float", "km/h 0 … 30", minimum=0, maximum=MAX_SPEED_KMH,
           empty_ok=True),
    Column("n_trials", "int", "≥ 0", minimum=0),
    Column("accuracy", "float", "proportion 0–1", minimum=0, maximum=1, empty_ok=True),
    Column("started", "str", "ISO 8601 time", empty_ok=True, pattern=ISO_TIME_PATTERN),
    Column("ended", "str", "ISO 8601 time", empty_ok=True, pattern=ISO_TIME_PATTERN),
)

#: ``<participant folder>/<stem>_audio/coding_<coder>.csv``, written by the voice-coding tool:
#: append-only; the last row for an (is_practice, block, trial_in_block) key wins.
CODER_COLUMNS: tuple[Column, ...] = (
    Column("coder", "str", "coder ID: letters, digits, - and _", pattern=CODER_ID_PATTERN),
    Column("is_practice", "int", "0 or 1", minimum=0, maximum=1),
    Column("block", "int", "block number ≥ 1", minimum=1),
    Column("trial_in_block", "int", "≥ 1", minimum=1),
    Column("trial_in_session", "int", "≥ 1", minimum=1),
    Column("audio_file", "str", "the trial's WAV file name"),
    Column("code", "str", "the coder's accuracy code", allowed=CODER_CODES),
    Column("onset_ms", "float", "milliseconds > 0 from the stimulus flip, empty = no speech",
           minimum=0, maximum=MAX_WINDOW_MS, empty_ok=True),
    Column("detected_rt_ms", "float", "the trial file's rt_ms when coded, may be empty",
           minimum=0, empty_ok=True),
    Column("onset_moved", "int", "0 or 1", minimum=0, maximum=1),
    Column("timestamp", "str", "ISO 8601 time", pattern=ISO_TIME_PATTERN),
)

#: ``_plan.csv``, the session's planned trials as a PsychoPy conditions file (not read by the
#: analysis). ``ink_rgb``/``ink_colour_space`` are missing from plans written before them.
PLAN_COLUMN_NAMES = ("is_practice", "block", "condition", "block_in_condition", "trial_in_block",
                     "word", "word_colour", "ink", "ink_rgb", "ink_colour_space", "congruency",
                     "prev_congruency", "correct_key", "iti_s")
PLAN_INK_COLUMN_NAMES = ("ink_rgb", "ink_colour_space")

TRIAL_COLUMN_NAMES = tuple(c.name for c in TRIAL_COLUMNS)
BLOCK_COLUMN_NAMES = tuple(c.name for c in BLOCK_COLUMNS)
CODER_COLUMN_NAMES = tuple(c.name for c in CODER_COLUMNS)
CODER_FILE_PREFIX = "coding_"
AUDIO_DIR_SUFFIX = "_audio"

#: The codebook itself: the tables whose wording the BIDS sidecars carry.
# data/README.md, installed with the package as analysis/codebook.md (a link to it in the source)
CODEBOOK_FILE = Path(__file__).resolve().parents[1] / "codebook.md"  # analysis/codebook.md


@dataclass(frozen=True)
class DocumentedColumn:
    """One row of a codebook table in ``data/README.md``, markdown stripped: ``type``
    ('string', 'int', 'float'), ``values`` (the 'unit / values' cell, may be empty) and
    ``meaning``."""
    name: str
    type: str
    values: str
    meaning: str


def _plain(cell: str) -> str:
    return re.sub(r"\s+", " ", cell.replace("`", "").replace("**", "")).strip()


def documented_columns(heading: str, codebook: Path = CODEBOOK_FILE) -> tuple[DocumentedColumn, ...]:
    """The rows of the first table under the codebook heading that starts with ``heading``
    (e.g. "## `_trials.csv`"), up to the next heading. ValueError if there is none."""
    text = codebook.read_text(encoding="utf-8")
    if heading not in text:
        raise ValueError(f"{codebook}: no heading {heading!r}")
    section = re.split(r"\n#", text.split(heading, 1)[1], maxsplit=1)[0]
    rows = [line for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|-")][1:]  # after the header
    out = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        name, kind, values, meaning = (cells + ["", "", ""])[:4]
        out.append(DocumentedColumn(re.sub(r"\s+", "", name), _plain(kind), _plain(values),
                                    _plain(meaning)))
    if not out:
        raise ValueError(f"{codebook}: no table under {heading!r}")
    return tuple(out)
