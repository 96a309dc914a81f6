"""A real session with LSL markers on and frame-timing QA: an inlet in this process receives
every marker, the word-onset markers agree with the trial file's flip times, and the frame
intervals, the sidecar's summary and the QA figure are written.

The session runs in its own process (PsychoPy under Xvfb, simulated participant, XTEST key
presses); LSLAPICFG (tests/conftest.py) keeps all LSL traffic on this machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[3]
ONSET_TOLERANCE_S = 0.001  # the bound: word-onset markers vs stim_onset_s


def require_display() -> None:
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("the LSL session test needs an X display: run it with `make test`")
        pytest.skip("no X display: run under xvfb-run (make test does)")


@pytest.fixture(scope="module")
def lsl_session(tmp_path_factory):
    require_display()
    pylsl = pytest.importorskip("pylsl")
    tmp = tmp_path_factory.mktemp("lsl")
    name = f"stroop-walk-test-{os.getpid()}-{time.monotonic_ns()}"
    overlay = tmp / "lsl.toml"
    overlay.write_text(f'[lsl]\nenabled = true\nstream_name = "{name}"\n'
                       f'wait_for_consumers_s = 120.0\n', encoding="utf-8")
    data = tmp / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiment", "--preset", "demo", "--config", str(overlay),
         "--simulate", "--participant", "L01", "--windowed", "--data-dir", str(data)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    markers = []
    try:
        streams = pylsl.resolve_byprop("name", name, 1, 120.0)
        assert streams, "the session's marker stream was not found"
        inlet = pylsl.StreamInlet(streams[0], max_buflen=600)
        inlet.open_stream(60.0)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            sample, stamp = inlet.pull_sample(timeout=1.0)
            if sample is not None:
                markers.append((json.loads(sample[0]), stamp))
                if markers[-1][0]["event"] == "session_end":
                    break
            elif proc.poll() is not None:
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    folder = data / "L01"
    trials = pd.read_csv(next(folder.glob("*_trials.csv")))
    sidecar = json.loads(next(folder.glob("*_session.json")).read_text())
    return {"markers": markers, "trials": trials, "sidecar": sidecar, "folder": folder,
            "stderr": err, "stream": name}


def _offset_at(offsets: list[dict], psychopy_time_s: float) -> float:
    """The offset in force at a PsychoPy time: the last measurement before it."""
    before = [o for o in offsets if o["psychopy_time_s"] <= psychopy_time_s]
    return (before[-1] if before else offsets[0])["offset_s"]


@pytest.mark.display
@pytest.mark.slow
def test_every_event_arrives_as_a_marker(lsl_session):
    markers, trials = lsl_session["markers"], lsl_session["trials"]
    events = [m["event"] for m, _ in markers]
    assert events[0] == "session_start" and events[-1] == "session_end"
    n = len(trials)
    assert events.count("fixation") == n and events.count("word_onset") == n
    assert events.count("response") == int(trials["rt_ms"].notna().sum())
    blocks = trials[["is_practice", "block"]].drop_duplicates()
    assert events.count("block_start") == events.count("block_end") == len(blocks)
    starts = [m for m, _ in markers if m["event"] == "block_start"]
    assert {(m["is_practice"], m["block"], m["condition"]) for m in starts} == {
        (int(r.is_practice), int(r.block), r.condition)
        for r in trials[["is_practice", "block", "condition"]].drop_duplicates().itertuples()}
    assert all("speed_kmh" in m for m in starts)
    assert [s for _, s in markers] == sorted(s for _, s in markers)
    # the session process read the machine-local LSL configuration
    assert "Configuration loaded from" in lsl_session["stderr"]
    assert "lsl_local.cfg" in lsl_session["stderr"]


@pytest.mark.display
@pytest.mark.slow
def test_word_onset_markers_match_the_flip_times(lsl_session):
    offsets = lsl_session["sidecar"]["lsl_clock_offsets"]
    assert lsl_session["sidecar"]["lsl_stream"] == lsl_session["stream"]
    labels = [o["label"] for o in offsets]
    assert labels[0] == "start" and labels[-1] == "end" and any("block" in l for l in labels)
    assert all(o["uncertainty_s"] < 0.001 for o in offsets)
    words = {(m["is_practice"], m["block"], m["trial_in_block"]): (m, stamp)
             for m, stamp in lsl_session["markers"] if m["event"] == "word_onset"}
    errors = []
    for r in lsl_session["trials"].itertuples():
        marker, stamp = words[(r.is_practice, r.block, r.trial_in_block)]
        assert (marker["word"], marker["ink"], marker["congruency"]) == (r.word, r.ink, r.congruency)
        assert marker["participant"] == "L01"
        errors.append(abs(stamp - _offset_at(offsets, r.stim_onset_s) - r.stim_onset_s))
    assert max(errors) < ONSET_TOLERANCE_S, max(errors)
    responses = [(m, s) for m, s in lsl_session["markers"] if m["event"] == "response"]
    by_trial = lsl_session["trials"].set_index(["is_practice", "block", "trial_in_block"])
    for m, stamp in responses:
        row = by_trial.loc[(m["is_practice"], m["block"], m["trial_in_block"])]
        assert m["rt_ms"] == pytest.approx(row["rt_ms"], abs=0.001)
        t = row["stim_onset_s"] + row["rt_ms"] / 1000
        assert abs(stamp - _offset_at(offsets, t) - t) < ONSET_TOLERANCE_S


@pytest.mark.display
@pytest.mark.slow
def test_frame_intervals_summary_and_figure_are_written(lsl_session):
    folder, qa = lsl_session["folder"], lsl_session["sidecar"]["frame_qa"]
    frames = pd.read_csv(folder / qa["intervals_file"])
    trials = lsl_session["trials"]
    assert {(p, b) for p, b in zip(frames["is_practice"], frames["block"])} == {
        (p, b) for p, b in zip(trials["is_practice"], trials["block"])}
    assert (frames["interval_ms"] > 0).all()
    assert len(qa["blocks"]) == len(trials[["is_practice", "block"]].drop_duplicates())
    assert qa["longest_interval_ms"] == pytest.approx(frames["interval_ms"].max(), abs=1e-3)
    assert qa["dropped_frames"] == sum(b["dropped"] for b in qa["blocks"])
    test = trials[trials["is_practice"] == 0]
    assert qa["word_onsets"] == len(test)
    assert 0 <= qa["word_onsets_on_planned_frame_pct"] <= 100
    assert (folder / qa["figure"]).read_bytes()[:4] == b"\x89PNG"
