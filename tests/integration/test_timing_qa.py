"""Timing QA: word onsets on their planned frame, the per-session table and the frame-interval
summaries the session writes (experiment/core/frame_qa.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.input.loader import load_trials
from analysis.statistics.timing_qa import (onsets_on_planned_frame, timing_qa_sentence,
                                           timing_qa_table)
from analysis_data import read_trials, write_dataset
from experiment.core.frame_qa import (BlockFrames, block_frames, dropped_frames_warning, frame_rows,
                                      session_frame_qa, write_frame_qa_figure)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "example" / "simulated-24"


def test_onsets_within_half_a_frame_of_the_plan_count():
    period = 1 / 60
    fix = np.array([10.0, 20.0, 30.0, 40.0, np.nan])
    late = np.array([0.0, period * 0.49, period * 0.51, -period, 0.0])
    assert onsets_on_planned_frame(fix, fix + 0.5 + late, 0.5, period) == (2, 4)


def test_block_frames_counts_intervals_above_the_threshold():
    period = 1 / 60
    x = [period] * 97 + [2 * period, 3 * period, 1.19 * period]
    b = block_frames(x, 1.2 * period, run=1, is_practice=0, block=3)
    assert b == BlockFrames(1, 0, 3, 100, 2, 0.02, round(3 * period * 1000, 4),
                            round(period * 1000, 4))
    assert block_frames([], 0.02, run=1, is_practice=0, block=1).dropped_share == 0.0
    rows = frame_rows(x[:2], run=2, is_practice=1, block=1)
    assert rows == [{"run": 2, "is_practice": 1, "block": 1, "frame": 1,
                     "interval_ms": round(period * 1000, 4)},
                    {"run": 2, "is_practice": 1, "block": 1, "frame": 2,
                     "interval_ms": round(period * 1000, 4)}]


def test_block_end_warning_above_the_configured_share():
    period = 1 / 60
    b = block_frames([period] * 97 + [3 * period] * 3, 1.2 * period, run=1, is_practice=0, block=2)
    assert dropped_frames_warning(b, 0.05) == ""
    assert dropped_frames_warning(b, 0.03) == ""  # exactly at the limit
    assert dropped_frames_warning(b, 0.01) == ("WARNING: 3.0% of frames dropped (limit 1.0%); "
                                               "check the computer and display.")


def test_session_summary_and_figure(tmp_path):
    period = 1 / 60
    a = [period] * 50 + [4 * period]
    b = [period] * 60
    blocks = [block_frames(a, 1.2 * period, run=1, is_practice=0, block=1),
              block_frames(b, 1.2 * period, run=1, is_practice=0, block=2)]
    qa = session_frame_qa(blocks, 59.94, period, (95, 100))
    assert qa["dropped_frames"] == 1 and qa["longest_interval_ms"] == round(4000 * period, 4)
    assert qa["word_onsets_on_planned_frame_pct"] == 95.0 and qa["refresh_rate_hz"] == 59.94
    rows = (frame_rows(a, run=1, is_practice=0, block=1)
            + frame_rows(b, run=1, is_practice=0, block=2))
    png = write_frame_qa_figure(rows, period, 1.2 * period, tmp_path / "qa.png", "P001 s1")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_example_data_onsets_are_all_on_their_frame():
    if not EXAMPLE.is_dir():
        pytest.skip("data/example/simulated-24 missing")
    loaded = load_trials(EXAMPLE, progress=False)
    table = timing_qa_table(loaded.trials, EXAMPLE)
    assert len(table) == 24
    assert (table["word_onsets_on_planned_frame_pct"] == 100.0).all()
    assert (table["refresh_rate_hz"] == 60.0).all() and (table["test_trials"] == 144).all()
    assert "median 100.0%" in timing_qa_sentence(table)


def test_late_onsets_dropped_frames_and_the_sidecar_figures(tmp_path):
    paths = write_dataset(tmp_path, n_participants=2, trials_per_block=12,
                          blocks_per_condition=1, practice_trials=4, seed=7)
    late = paths[0]
    rows = read_trials(late)
    test_rows = [r for r in rows if r["is_practice"] == "0"]
    fixation_s = 0.5
    for i, r in enumerate(rows):  # every test trial: word on the planned frame, or one frame late
        if r["is_practice"] == "0":
            extra = (1 / 60) if int(r["trial_in_session"]) % 4 == 0 else 0.0
            r["stim_onset_s"] = f"{float(r['fixation_onset_s']) + fixation_s + extra:.6f}"
            r["dropped_frames"] = "1" if extra else "0"
    pd.DataFrame(rows).to_csv(late, index=False)
    n_late = sum(int(r["trial_in_session"]) % 4 == 0 for r in test_rows)
    sidecar = {"runs": [{"frame_rate_hz": 60.0}], "config": {"timing": {"fixation_s": fixation_s}},
               "frame_qa": {"longest_interval_ms": 50.1, "blocks": [
                   {"is_practice": 1, "dropped_share": 0.5},
                   {"is_practice": 0, "dropped_share": 0.012},
                   {"is_practice": 0, "dropped_share": 0.03}]}}
    late.with_name(late.name.replace("_trials.csv", "_session.json")).write_text(json.dumps(sidecar))
    loaded = load_trials(tmp_path, progress=False)
    table = timing_qa_table(loaded.trials, tmp_path).set_index("participant")
    first, second = table.iloc[0], table.iloc[1]
    assert first["word_onsets_on_planned_frame_pct"] == round(100 * (1 - n_late / len(test_rows)), 2)
    assert first["dropped_frames"] == n_late
    assert first["longest_interval_ms"] == 50.1 and first["worst_block_dropped_pct"] == 3.0
    assert np.isnan(second["refresh_rate_hz"]) and np.isnan(second["word_onsets_on_planned_frame_pct"])
    assert "Sessions without a sidecar (no frame timing): 1." in timing_qa_sentence(table.reset_index())
