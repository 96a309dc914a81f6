"""The trial- and block-file columns the analysis reads, as ``data/README.md`` defines them.

The analysis never imports ``experiment``, so the codebook is restated here as data;
``tests/test_analysis_codebook.py`` checks it against ``experiment/records.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

CONDITIONS = ("stand", "forward", "backward", "left", "right")
CONGRUENCY = ("congruent", "incongruent", "neutral")
INKS = ("red", "green", "blue", "yellow")
RT_SOURCES = ("keyboard", "button", "voice-detected", "voice-corrected")


@dataclass(frozen=True)
class Column:
    """One codebook column. ``kind``: 'str', 'int' or 'float'. ``allowed``: the only values
    a string column may take; ``minimum``/``maximum``: bounds of a numeric column;
    ``empty_ok``: an empty cell (missing value) is allowed; ``what``: the codebook's words,
    used in error messages."""
    name: str
    kind: str
    what: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    empty_ok: bool = False


TRIAL_COLUMNS: tuple[Column, ...] = (
    Column("participant", "str", "participant ID"),
    Column("session", "int", "session number ≥ 1", minimum=1),
    Column("run", "int", "run ≥ 1", minimum=1),
    Column("experiment", "str", "experiment name"),
    Column("date", "str", "session start"),
    Column("simulated", "int", "0 or 1", minimum=0, maximum=1),
    Column("seed", "int", "0 … 2^32−1", minimum=0, maximum=2**32 - 1),
    Column("condition_order", "str", "order of conditions", empty_ok=True),
    Column("is_practice", "int", "0 or 1", minimum=0, maximum=1),
    Column("block", "int", "block number ≥ 1", minimum=1),
    Column("condition", "str", "locomotion condition", allowed=CONDITIONS),
    Column("block_in_condition", "int", "≥ 1", minimum=1),
    Column("speed_set_kmh", "float", "km/h ≥ 0", minimum=0, empty_ok=True),
    Column("trial_in_block", "int", "≥ 1", minimum=1),
    Column("trial_in_session", "int", "≥ 1", minimum=1),
    Column("word", "str", "the word shown"),
    Column("word_colour", "str", "colour name, empty for neutral words", empty_ok=True),
    Column("ink", "str", "ink colour", allowed=INKS),
    Column("congruency", "str", "congruency", allowed=CONGRUENCY),
    Column("prev_congruency", "str", "congruency of trial n−1 or empty",
           allowed=CONGRUENCY, empty_ok=True),
    Column("correct_response", "str", "key name"),
    Column("response", "str", "key name, empty if none", empty_ok=True),
    Column("rt_ms", "float", "milliseconds > 0, empty if no response", minimum=0,
           empty_ok=True),
    Column("correct", "int", "0 or 1", minimum=0, maximum=1),
    Column("timeout", "int", "0 or 1", minimum=0, maximum=1),
    Column("rt_source", "str", "how the RT was measured", allowed=RT_SOURCES),
    Column("response_device", "str", "response device"),
    Column("fixation_onset_s", "float", "seconds", empty_ok=True),
    Column("stim_onset_s", "float", "seconds", empty_ok=True),
    Column("iti_s", "float", "seconds ≥ 0", minimum=0, empty_ok=True),
    Column("dropped_frames", "int", "≥ 0", minimum=0),
    Column("timestamp", "str", "ISO 8601 time"),
)

BLOCK_COLUMNS: tuple[Column, ...] = (
    Column("participant", "str", "participant ID"),
    Column("session", "int", "session number ≥ 1", minimum=1),
    Column("run", "int", "run ≥ 1", minimum=1),
    Column("is_practice", "int", "0 or 1", minimum=0, maximum=1),
    Column("block", "int", "block number ≥ 1", minimum=1),
    Column("condition", "str", "locomotion condition", allowed=CONDITIONS),
    Column("block_in_condition", "int", "≥ 1", minimum=1),
    Column("speed_set_kmh", "float", "km/h ≥ 0", minimum=0, empty_ok=True),
    Column("speed_actual_kmh", "float", "km/h ≥ 0", minimum=0, empty_ok=True),
    Column("n_trials", "int", "≥ 0", minimum=0),
    Column("accuracy", "float", "proportion 0–1", minimum=0, maximum=1, empty_ok=True),
    Column("started", "str", "ISO 8601 time", empty_ok=True),
    Column("ended", "str", "ISO 8601 time", empty_ok=True),
)

TRIAL_COLUMN_NAMES = tuple(c.name for c in TRIAL_COLUMNS)
BLOCK_COLUMN_NAMES = tuple(c.name for c in BLOCK_COLUMNS)
