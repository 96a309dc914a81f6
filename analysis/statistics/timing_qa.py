"""Display-timing quality across sessions, for the report's timing-QA section.

Per session: the refresh rate the session measured, the frames PsychoPy counted as dropped
during the test trials (``dropped_frames``), the share of word onsets that came on their
planned frame (the fixation's flip + ``timing.fixation_s``, within half a frame), and —
when the session saved its frame intervals (``frame_qa`` in the sidecar) — the longest
frame interval and the worst block's share of dropped frames. Read from the trial file and
the session's ``_session.json``; a session without a sidecar gets empty cells.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

TRIALS_SUFFIX = "_trials.csv"
SIDECAR_SUFFIX = "_session.json"

TIMING_QA_COLUMNS = ("participant", "session", "refresh_rate_hz", "frame_period_ms",
                     "test_trials", "dropped_frames", "trials_with_dropped_pct",
                     "word_onsets_on_planned_frame_pct", "longest_interval_ms",
                     "worst_block_dropped_pct")


def onsets_on_planned_frame(fixation_onsets_s: Iterable[float], stim_onsets_s: Iterable[float],
                            fixation_s: float, frame_period_s: float) -> tuple[int, int]:
    """(word onsets within half a frame of fixation onset + ``fixation_s``, word onsets
    with both flip times). Times in seconds."""
    fix = np.asarray(list(fixation_onsets_s), dtype=float)
    stim = np.asarray(list(stim_onsets_s), dtype=float)
    ok = np.isfinite(fix) & np.isfinite(stim)
    late = np.abs(stim[ok] - fix[ok] - fixation_s)
    return int((late <= frame_period_s / 2).sum()), int(ok.sum())


def _sidecar(data_dir: Path, source_file: str) -> dict:
    path = data_dir / (source_file[: -len(TRIALS_SUFFIX)] + SIDECAR_SUFFIX)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _frame_period_s(run: dict) -> float | None:
    if run.get("frame_period_used_ms"):
        return float(run["frame_period_used_ms"]) / 1000
    if run.get("frame_rate_hz"):
        return 1.0 / float(run["frame_rate_hz"])
    return None


def timing_qa_table(trials: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """One row per session (:data:`TIMING_QA_COLUMNS`), sorted by participant and session.
    ``trials``: the loader's trials (with ``source_file``); practice trials are left out.
    Rates in Hz, times in **milliseconds**, shares in percent."""
    rows = []
    test = trials[trials["is_practice"] == 0]
    for source, t in test.groupby("source_file", sort=True):
        side = _sidecar(Path(data_dir), str(source))
        run = (side.get("runs") or [{}])[0]
        period = _frame_period_s(run)
        fixation_s = (side.get("config") or {}).get("timing", {}).get("fixation_s")
        on_pct = np.nan
        if period and fixation_s is not None:
            hit, total = onsets_on_planned_frame(t["fixation_onset_s"], t["stim_onset_s"],
                                                 float(fixation_s), period)
            on_pct = round(100 * hit / total, 2) if total else np.nan
        qa = side.get("frame_qa") or {}
        blocks = [b for b in qa.get("blocks", []) if not b.get("is_practice")]
        rows.append({
            "participant": str(t["participant"].iloc[0]), "session": int(t["session"].iloc[0]),
            "refresh_rate_hz": run.get("frame_rate_hz", np.nan),
            "frame_period_ms": round(period * 1000, 4) if period else np.nan,
            "test_trials": len(t), "dropped_frames": int(t["dropped_frames"].sum()),
            "trials_with_dropped_pct": round(100 * float((t["dropped_frames"] > 0).mean()), 2),
            "word_onsets_on_planned_frame_pct": on_pct,
            "longest_interval_ms": qa.get("longest_interval_ms", np.nan),
            "worst_block_dropped_pct": (round(100 * max(b["dropped_share"] for b in blocks), 2)
                                        if blocks else np.nan)})
    out = pd.DataFrame(rows, columns=list(TIMING_QA_COLUMNS))
    return out.sort_values(["participant", "session"], kind="stable").reset_index(drop=True)


def timing_qa_sentence(table: pd.DataFrame) -> str:
    """One paragraph summing :func:`timing_qa_table` up across sessions."""
    if table.empty:
        return "No test trials, so no timing figures."
    parts = [f"{len(table)} sessions."]
    rate = table["refresh_rate_hz"].dropna().astype(float)
    if len(rate):
        parts.append(f"Measured refresh rate: median {rate.median():.1f} Hz "
                     f"(range {rate.min():.1f}–{rate.max():.1f}).")
    parts.append(f"Frames counted as dropped during test trials: {int(table['dropped_frames'].sum())} "
                 f"in total; trials with a dropped frame: at most "
                 f"{table['trials_with_dropped_pct'].max():.1f}% in a session.")
    on = table["word_onsets_on_planned_frame_pct"].dropna()
    if len(on):
        parts.append(f"Word onsets on their planned frame: median {on.median():.1f}% "
                     f"(lowest {on.min():.1f}%, {table.loc[on.idxmin(), 'participant']}).")
    missing = table["refresh_rate_hz"].isna().sum()
    if missing:
        parts.append(f"Sessions without a sidecar (no frame timing): {missing}.")
    return " ".join(parts)
