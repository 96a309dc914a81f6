"""Frame-timing quality of a session, from the frame intervals PsychoPy records. No PsychoPy import.

The window records the interval between successive flips (``win.frameIntervals``, seconds).
The session saves every block's intervals (``<stem>_frames.csv``, :data:`FRAME_COLUMNS`),
summarises each block (:func:`block_frames`: dropped frames, longest interval) and the
session (:func:`session_frame_qa`: refresh rate, dropped frames per block, longest
interval, share of word onsets on their planned frame, counted by
:func:`analysis.statistics.timing_qa.onsets_on_planned_frame`) for the sidecar, and draws a QA
figure (:func:`write_frame_qa_figure`).

A frame counts as dropped when its interval exceeds the window's refresh threshold (1.2
frame periods, as PsychoPy counts ``nDroppedFrames``). A word onset is on its planned frame
when the word's flip came within half a frame of the fixation's flip plus ``timing.fixation_s``.
On a virtual display (Xvfb) there is no vertical blank and these figures say little.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

FRAME_COLUMNS = ("run", "is_practice", "block", "frame", "interval_ms")
FRAMES_SUFFIX = "_frames.csv"
FIGURE_SUFFIX = "_frame_qa.png"


@dataclass(frozen=True)
class BlockFrames:
    """One block's frame timing. ``dropped``: intervals above the refresh threshold;
    ``dropped_share``: dropped / intervals (0-1); times in **milliseconds**."""
    run: int
    is_practice: int
    block: int
    intervals: int
    dropped: int
    dropped_share: float
    longest_ms: float
    median_ms: float


def block_frames(intervals_s: Sequence[float], threshold_s: float, *, run: int,
                 is_practice: int, block: int) -> BlockFrames:
    """The summary of one block's frame intervals (seconds) against ``threshold_s``."""
    x = np.asarray(intervals_s, dtype=float)
    dropped = int((x > threshold_s).sum())
    return BlockFrames(run, is_practice, block, int(x.size), dropped,
                       round(dropped / x.size, 6) if x.size else 0.0,
                       round(float(x.max()) * 1000, 4) if x.size else 0.0,
                       round(float(np.median(x)) * 1000, 4) if x.size else 0.0)


def dropped_frames_warning(summary: BlockFrames, limit_share: float) -> str:
    """A line for the block-end screen when the block dropped more than ``limit_share``
    (0-1) of its frames; '' otherwise."""
    if summary.dropped_share <= limit_share:
        return ""
    return (f"WARNING: {summary.dropped_share:.1%} of frames dropped (limit {limit_share:.1%}); "
            "check the computer and display.")


def frame_rows(intervals_s: Sequence[float], *, run: int, is_practice: int,
               block: int) -> list[dict[str, Any]]:
    """Rows of ``_frames.csv`` for one block (:data:`FRAME_COLUMNS`; interval in ms)."""
    return [{"run": run, "is_practice": is_practice, "block": block, "frame": i + 1,
             "interval_ms": round(v * 1000, 4)} for i, v in enumerate(intervals_s)]


def session_frame_qa(blocks: Sequence[BlockFrames], frame_rate_hz: float | None,
                     frame_period_s: float, on_frame: tuple[int, int]) -> dict[str, Any]:
    """The sidecar's ``frame_qa``: refresh rate (Hz; None if PsychoPy could not measure it),
    frame period used (ms), per block its :class:`BlockFrames`, the longest interval (ms),
    and the word onsets on their planned frame (count, of, percent)."""
    hit, total = on_frame
    return {"refresh_rate_hz": frame_rate_hz,
            "frame_period_ms": round(frame_period_s * 1000, 4),
            "blocks": [asdict(b) for b in blocks],
            "dropped_frames": int(sum(b.dropped for b in blocks)),
            "longest_interval_ms": max((b.longest_ms for b in blocks), default=0.0),
            "word_onsets_on_planned_frame": hit, "word_onsets": total,
            "word_onsets_on_planned_frame_pct": round(100 * hit / total, 2) if total else None}


def write_frame_qa_figure(rows: Sequence[dict[str, Any]], frame_period_s: float,
                          threshold_s: float, path: Path, title: str) -> Path:
    """A PNG: every frame interval (ms) of every block in session order, with the frame
    period and the dropped-frame threshold; dropped frames in red."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    y = np.array([r["interval_ms"] for r in rows], dtype=float)
    x = np.arange(y.size)
    bad = y > threshold_s * 1000
    ax.plot(x[~bad], y[~bad], ".", ms=2, color="0.3", label="frame interval")
    ax.plot(x[bad], y[bad], ".", ms=5, color="tab:red", label=f"dropped ({int(bad.sum())})")
    ax.axhline(frame_period_s * 1000, color="tab:blue", lw=0.8, label="frame period")
    ax.axhline(threshold_s * 1000, color="tab:red", lw=0.8, ls="--", label="dropped above")
    starts = [i for i in range(len(rows)) if rows[i]["frame"] == 1]
    for i in starts:
        ax.axvline(i, color="0.8", lw=0.6, zorder=0)
        ax.text(i, 1.0, f"{'P' if rows[i]['is_practice'] else 'B'}{rows[i]['block']}",
                transform=ax.get_xaxis_transform(), fontsize=7, va="bottom")
    ax.set_xlabel("frame (session order; grey lines: block starts)")
    ax.set_ylabel("interval (ms)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9, pad=14)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
