"""Hand-coded vocal responses: the coder files of a session and how they change its trials.

A voice session's audio folder ``<participant folder>/<stem>_audio/`` may hold coder files
``coding_<coder>.csv`` (columns :data:`analysis.input.codebook.CODER_COLUMNS`), written by the
coding tool. One coder's codes are applied to the session's voice trials (the plan's
``voice.coder``; "" = the only coder present): for every coded trial, the LAST row of its
(is_practice, block, trial_in_block) key replaces the voice key's detection and the
experimenter's code (:func:`apply_codes`). The loader (:mod:`analysis.input.loader`) reads and
type-checks the files; this module chooses the coder, checks the rows against the trials,
applies them and counts what changed. Times in **milliseconds**.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.input.codebook import (AUDIO_DIR_SUFFIX, CODER_FILE_PREFIX, CODER_ID_PATTERN,
                                     VOICE_DEVICE, VOICE_RESPONSE)

CODE_KEYS = ["is_practice", "block", "trial_in_block"]
CORRECTED = "voice-corrected"
#: |onset − detected| (ms) above which detected_rt_ms and rt_ms count as different.
SAME_MS = 0.001


@dataclass(frozen=True)
class VoiceCoding:
    """How one session's voice trials were scored. ``coder``: whose codes were applied (''
    = none: detected onsets and the experimenter's codes stand). ``hand_corrected``: voice
    trials with a row of that coder; ``onsets_moved``: of those, rows with onset_moved = 1;
    ``mean/median_abs_shift_ms``: |coder's onset − detected onset| over the moved onsets
    that have both (NaN if none); ``speech_added``/``speech_removed``: coded trials where
    the coder found speech the voice key did not / found none where it did. ``status``:
    one sentence for the report."""
    source_file: str
    participant: str
    session: int
    voice_trials: int
    coder: str
    coder_file: str
    hand_corrected: int
    onsets_moved: int
    mean_abs_shift_ms: float
    median_abs_shift_ms: float
    speech_added: int
    speech_removed: int
    status: str


def audio_dir_of(trials_path: Path, trials_suffix: str) -> Path:
    """``<folder>/<stem>_audio`` for ``<folder>/<stem><trials_suffix>``."""
    p = Path(trials_path)
    return p.with_name(p.name[: -len(trials_suffix)] + AUDIO_DIR_SUFFIX)


def coder_files(audio_dir: Path) -> tuple[dict[str, Path], list[Path]]:
    """({coder: file} of the ``coding_<coder>.csv`` files in ``audio_dir``, files named
    ``coding_*.csv`` whose coder ID is not letters, digits, - and _)."""
    good: dict[str, Path] = {}
    bad: list[Path] = []
    if not audio_dir.is_dir():
        return good, bad
    for p in sorted(audio_dir.glob(f"{CODER_FILE_PREFIX}*.csv")):
        if not p.is_file():
            continue
        coder = p.name[len(CODER_FILE_PREFIX): -len(".csv")]
        if re.fullmatch(CODER_ID_PATTERN, coder):
            good[coder] = p
        else:
            bad.append(p)
    return good, bad


def choose_coder(coders: Sequence[str], wanted: str) -> str | None:
    """The coder whose codes apply to a session with coder files of ``coders``, or None.

    ``wanted`` '' (plan key voice.coder unset): the only coder present, None if there is
    none; ValueError if there are several. A named coder: itself if present, else None."""
    if wanted:
        return wanted if wanted in coders else None
    if len(coders) > 1:
        raise ValueError("several coders")
    return coders[0] if coders else None


def coder_row_problems(coded: pd.DataFrame, trials: pd.DataFrame, coder_of_file: pd.Series,
                       wheres: Sequence[str], trial_wheres: Sequence[str]) -> dict[int, str]:
    """Per trial-file index, the first problem of its coder file (one line), or nothing.

    ``coded``: typed coder rows with ``_file`` (trial-file index) and ``_row`` (1-based row
    in the coder file), in file and row order. ``trials``: typed trial rows with ``_file``
    and ``_row``. ``coder_of_file``: coder ID per trial-file index (from the file name).
    ``wheres``/``trial_wheres``: coder-file / trial-file path per trial-file index."""
    problems: dict[int, tuple[int, str]] = {}

    def add(mask: np.ndarray, message) -> None:
        for pos in np.flatnonzero(mask):
            f, r = int(coded["_file"].iat[pos]), int(coded["_row"].iat[pos])
            if f not in problems or r < problems[f][0]:
                problems[f] = (r, f"{wheres[f]}: row {r}: {message(pos, f)}")

    if coded.empty:
        return {}
    expected = coded["_file"].map(coder_of_file).to_numpy()
    add((coded["coder"].to_numpy() != expected),
        lambda i, f: (f"coder = {coded['coder'].iat[i]!r} but the file is "
                      f"{CODER_FILE_PREFIX}{expected[i]}.csv (one coder per file: the name "
                      f"says whose codes it holds)"))
    add((coded["onset_ms"] <= 0).to_numpy(),
        lambda i, f: (f"onset_ms = {coded['onset_ms'].iat[i]:g} must be > 0 ms (ms from the "
                      f"stimulus flip; leave it empty when there is no speech)"))
    voice = trials[trials["response_device"] == VOICE_DEVICE]
    keys = ["_file"] + CODE_KEYS
    dup = voice.duplicated(keys, keep="first").to_numpy()
    for pos in np.flatnonzero(dup):
        f = int(voice["_file"].iat[pos])
        if f in coder_of_file.index and f not in problems:
            ident = " ".join(f"{k} {voice[k].iat[pos]}" for k in CODE_KEYS)
            problems[f] = (0, f"{trial_wheres[f]}: row {int(voice['_row'].iat[pos])}: voice "
                              f"trial ({ident}) repeats an earlier row, so "
                              f"{Path(wheres[f]).name} cannot be matched to it; remove the "
                              f"duplicate")
    m = coded[keys + ["trial_in_session", "audio_file"]].merge(
        voice.drop_duplicates(keys)[keys + ["trial_in_session", "audio_file"]],
        on=keys, how="left", suffixes=("", "_trial"), indicator=True)
    unmatched = (m["_merge"] == "left_only").to_numpy()

    def ident(i: int) -> str:
        return " ".join(f"{k} {coded[k].iat[i]}" for k in CODE_KEYS)
    add(unmatched, lambda i, f: (f"({ident(i)}) matches no voice trial of {trial_wheres[f]}; "
                                 f"this coder file belongs to another session or the trial "
                                 f"file is incomplete"))
    tis = m["trial_in_session_trial"].to_numpy()
    add(~unmatched & (m["trial_in_session"].to_numpy() != tis),
        lambda i, f: (f"trial_in_session = {coded['trial_in_session'].iat[i]} but trial "
                      f"({ident(i)}) is trial_in_session {int(tis[i])} in {trial_wheres[f]}"))
    af = m["audio_file_trial"].to_numpy()
    add(~unmatched & (m["audio_file"].to_numpy() != af),
        lambda i, f: (f"audio_file = {coded['audio_file'].iat[i]!r} but trial ({ident(i)}) "
                      f"recorded {af[i]!r} in {trial_wheres[f]}; the coder coded another "
                      f"recording"))
    return {f: msg for f, (_, msg) in problems.items()}


def last_codes(coded: pd.DataFrame) -> pd.DataFrame:
    """The row that counts per trial: the last one of each (_file, is_practice, block,
    trial_in_block) key (``coded`` in file and row order)."""
    return coded.drop_duplicates(["_file"] + CODE_KEYS, keep="last")


def apply_codes(trials: pd.DataFrame, last: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """``trials`` with the coder's codes applied to the voice trials that ``last`` codes
    (every row of ``last`` must match a voice trial: :func:`coder_row_problems`):
    rt_ms ← onset_ms, rt_source ← voice-corrected, accuracy_code ← code, timeout ← onset
    empty, correct ← code is correct and onset present, response ← 'voice' or ''.

    Returns the new frame (same index and columns) and, per coded trial (index of
    ``trials``), its detected rt_ms before the change."""
    if last.empty:
        return trials, pd.Series(dtype="float64")
    keys = ["_file"] + CODE_KEYS
    voice = trials[trials["response_device"] == VOICE_DEVICE]
    target = (voice[keys].reset_index()
              .merge(last[keys + ["code", "onset_ms"]], on=keys, how="inner")
              .set_index("index"))
    out = trials.copy()
    idx = target.index
    detected = out.loc[idx, "rt_ms"].copy()
    speech = target["onset_ms"].notna()
    out.loc[idx, "rt_ms"] = target["onset_ms"]
    out.loc[idx, "rt_source"] = CORRECTED
    out.loc[idx, "accuracy_code"] = target["code"]
    out.loc[idx, "timeout"] = (~speech).astype("int64")
    out.loc[idx, "correct"] = ((target["code"] == "correct") & speech).astype("int64")
    out.loc[idx, "response"] = np.where(speech, VOICE_RESPONSE, "")
    return out, detected


def coding_summary(trials: pd.DataFrame, last: pd.DataFrame, detected: pd.Series,
                   file_info: dict[int, dict]) -> list[VoiceCoding]:
    """One :class:`VoiceCoding` per trial file with voice trials (``trials``: after
    :func:`apply_codes`, with ``_file``; ``file_info``: per trial-file index ``source_file``,
    ``coder``, ``coder_file`` and ``status``)."""
    voice = trials[trials["response_device"] == VOICE_DEVICE]
    keys = ["_file"] + CODE_KEYS
    coded = (last[keys + ["onset_ms", "onset_moved"]]
             .merge(voice[keys].reset_index(), on=keys, how="inner").set_index("index"))
    coded["detected"] = detected.reindex(coded.index)
    shift = (coded["onset_ms"] - coded["detected"]).abs()
    moved = coded["onset_moved"] == 1
    out = []
    for f, v in voice.groupby("_file", sort=True):
        info = file_info[int(f)]
        c = coded[coded["_file"] == f]
        s = shift[c.index][moved[c.index]].dropna()
        out.append(VoiceCoding(
            source_file=info["source_file"], participant=str(v["participant"].iat[0]),
            session=int(v["session"].iat[0]), voice_trials=len(v), coder=info["coder"],
            coder_file=info["coder_file"], hand_corrected=len(c),
            onsets_moved=int(moved[c.index].sum()),
            mean_abs_shift_ms=float(s.mean()) if len(s) else float("nan"),
            median_abs_shift_ms=float(s.median()) if len(s) else float("nan"),
            speech_added=int((c["onset_ms"].notna() & c["detected"].isna()).sum()),
            speech_removed=int((c["onset_ms"].isna() & c["detected"].notna()).sum()),
            status=info["status"]))
    return out


def detection_mismatches(last: pd.DataFrame, detected: pd.Series, trials: pd.DataFrame
                         ) -> pd.Series:
    """Per trial-file index, how many applied coder rows have a ``detected_rt_ms`` that is
    not the trial file's rt_ms (coded against another detection)."""
    keys = ["_file"] + CODE_KEYS
    voice = trials[trials["response_device"] == VOICE_DEVICE]
    c = (last[keys + ["detected_rt_ms"]].merge(voice[keys].reset_index(), on=keys)
         .set_index("index"))
    d = detected.reindex(c.index)
    differ = (c["detected_rt_ms"].isna() != d.isna()) | ((c["detected_rt_ms"] - d).abs() > SAME_MS)
    return c.loc[differ, "_file"].value_counts()
