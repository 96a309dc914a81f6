"""End to end: real PsychoPy sessions under Xvfb with key presses injected into the X server.

Each session runs in its own process (PsychoPy picks the keyboard backend once per process),
exactly as a lab would start it: ``python -m experiment ...``.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiment.core.config import load_config
from experiment.core.datafile import read_rows

REPO = Path(__file__).resolve().parents[3]
E2E_CONFIG = REPO / "tests" / "e2e.toml"
CONFIG = load_config(E2E_CONFIG)
N_TRIALS = CONFIG.practice.trials + len(CONFIG.design.conditions) * CONFIG.design.trials_per_block
RT_TOLERANCE_MS = 3.0

pytestmark = pytest.mark.display

if not os.environ.get("DISPLAY"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("the end-to-end tests need an X display: run them with `make test` "
                           "(it starts Xvfb)")
    pytest.skip("no X display: run under xvfb-run (make test does)", allow_module_level=True)


def session_cmd(data: Path, *extra: str, participant: str = "P001") -> list[str]:
    return [sys.executable, "-m", "experiment", "--config", str(E2E_CONFIG), "--simulate",
            "--participant", participant, "--data-dir", str(data), *extra]


def run_session(data: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(session_cmd(data, *extra, **kw), cwd=REPO, capture_output=True,
                          text=True, timeout=600)


def session_files(data: Path, participant: str = "P001") -> dict[str, Path]:
    folder = data / participant
    return {suffix: next(folder.glob(f"*{suffix}")) for suffix in
            ("_trials.csv", "_blocks.csv", "_session.json", "_plan.csv", "_config.toml")}


def injections(log: Path) -> dict[str, dict]:
    items = [json.loads(line) for line in log.read_text().splitlines()]
    return {i["label"]: i for i in items if i["label"].startswith("trial")}


def label(row: dict[str, str]) -> str:
    return f"trial p{row['is_practice']} b{row['block']} t{row['trial_in_block']}"


@pytest.fixture(scope="module")
def full_session(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    frames = tmp_path_factory.mktemp("frames")
    log = data / "sim.jsonl"
    proc = run_session(data, "--sim-log", str(log), "--capture-frames", str(frames),
                       "--sim-speed-kmh", "1.8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return data, frames, log, proc


def test_every_row_matches_the_injected_key_press(full_session):
    data, _, log, _ = full_session
    rows = read_rows(session_files(data)["_trials.csv"])
    assert len(rows) == N_TRIALS
    pressed = injections(log)
    window_ms = CONFIG.timing.response_window_s * 1000
    errors_ms, n_wrong, n_timeout = [], 0, 0
    for row in rows:
        inj = pressed.get(label(row))
        if inj is None or inj["rt_ms"] > window_ms - RT_TOLERANCE_MS:
            # no press (simulated timeout), or one at the very edge of the window
            if inj is None:
                assert (row["response"], row["rt_ms"], row["timeout"], row["correct"]) == ("", "", "1", "0")
                n_timeout += 1
            continue
        assert row["response"] == inj["key"], row
        rt = float(row["rt_ms"])
        assert inj["rt_ms"] - RT_TOLERANCE_MS <= rt <= inj["rt_max_ms"] + RT_TOLERANCE_MS, (row, inj)
        errors_ms.append(rt - inj["rt_ms"])
        assert row["timeout"] == "0"
        assert row["correct"] == str(int(row["response"] == row["correct_response"]))
        n_wrong += row["correct"] == "0"
    assert n_wrong >= 1 and n_timeout >= 1  # the seeded simulation makes both; scoring saw both
    assert abs(float(np.median(errors_ms))) < 1.0
    print(f"RT error vs injection: mean {np.mean(errors_ms):.3f} ms, SD {np.std(errors_ms):.3f}, "
          f"max {np.max(errors_ms):.3f} (n={len(errors_ms)})")


def test_rows_follow_the_plan_and_timing(full_session):
    data, _, _, _ = full_session
    files = session_files(data)
    rows = read_rows(files["_trials.csv"])
    plan = read_rows(files["_plan.csv"])
    planned = {(p["is_practice"], p["block"], p["trial_in_block"]): p for p in plan}
    for row in rows:
        p = planned[(row["is_practice"], row["block"], row["trial_in_block"])]
        for col in ("word", "ink", "congruency", "prev_congruency", "condition"):
            assert row[col] == p[col]
        assert row["correct_response"] == p["correct_key"]
        fix, onset = float(row["fixation_onset_s"]), float(row["stim_onset_s"])
        assert CONFIG.timing.fixation_s - 0.005 <= onset - fix < CONFIG.timing.fixation_s + 0.05
    onsets = [float(r["stim_onset_s"]) for r in rows]
    assert onsets == sorted(onsets)
    assert [int(r["trial_in_session"]) for r in rows] == list(range(1, N_TRIALS + 1))
    assert {r["condition_order"] for r in rows} == {"stand-forward-backward"}  # Williams row 1
    sidecar = json.loads(files["_session.json"].read_text())
    assert sidecar["status"] == "complete" and sidecar["practice_passed"] is True
    assert sidecar["seed"] == int(rows[0]["seed"])
    run = sidecar["runs"][0]
    assert run["keyboard_backend"] == "ptb" and run["frame_interval_median_ms"] > 0
    assert run["trials_saved"] == N_TRIALS and run["save_ms_max"] < 100
    blocks = read_rows(files["_blocks.csv"])
    assert [(b["is_practice"], b["condition"]) for b in blocks] == [
        ("1", "stand"), ("0", "stand"), ("0", "forward"), ("0", "backward")]
    assert [float(b["speed_actual_kmh"]) for b in blocks] == [0.0, 1.8, 1.8, 1.8]  # typed
    assert [float(b["speed_set_kmh"]) for b in blocks] == [0.0, 0.0, 3.0, 2.0]


def _dominant_colour(path: Path, palette: dict[str, tuple[int, int, int]],
                     background: tuple[int, ...]) -> tuple[str, int]:
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=int).reshape(-1, 3)
    pixels = pixels[np.abs(pixels - np.array(background)).sum(axis=1) > 60]  # not background
    names = list(palette)
    dist = np.stack([np.abs(pixels - np.array(palette[n])).sum(axis=1) for n in names])
    close = dist.min(axis=0) < 40  # solid ink, not anti-aliased edges
    counts = np.bincount(dist.argmin(axis=0)[close], minlength=len(names))
    return names[int(counts.argmax())], int(counts.max())


def test_captured_frames_show_the_word_in_its_ink(full_session):
    data, frames, _, _ = full_session
    rows = read_rows(session_files(data)["_trials.csv"])
    pngs = sorted(frames.glob("trial*.png"))
    assert len(pngs) == len(rows)
    for png, row in zip(pngs, rows):
        assert png.name.endswith(f"_{row['word_colour']}_{row['ink']}.png")
        ink, n_pixels = _dominant_colour(png, CONFIG.stimuli.rgb, CONFIG.display.background)
        assert ink == row["ink"], png.name
        assert n_pixels > 200  # a word, not a stray pixel


def test_escape_pauses_and_abort_keeps_the_data(tmp_path):
    proc = run_session(tmp_path, "--sim-abort-after", "6")
    assert proc.returncode == 4, proc.stderr[-2000:]
    files = session_files(tmp_path)
    rows = read_rows(files["_trials.csv"])
    assert len(rows) == 5  # trials 1-5 saved; the paused trial 6 was not completed
    sidecar = json.loads(files["_session.json"].read_text())
    assert sidecar["status"] == "aborted"
    assert [e["event"] for e in sidecar["events"] if e["event"] != "block_start"] == [
        "pause", "aborted"]
    # an aborted session can be resumed to completion by README's resume command, with the
    # config it started with (the command gives none; the default would be fullscreen with
    # 48-trial blocks); only the participant, data folder and --simulate are this test's
    line = next(ln for ln in (REPO / "README.md").read_text().splitlines()
                if ln.startswith(".venv/bin/python -m experiment") and "--resume" in ln)
    args = shlex.split(line.split("#")[0])[3:]
    args[args.index("--participant") + 1] = "P001"
    cmd = [sys.executable, "-m", "experiment", *args, "--data-dir", str(tmp_path), "--simulate"]
    resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = read_rows(files["_trials.csv"])
    assert len(rows) == N_TRIALS
    runs = json.loads(files["_session.json"].read_text())["runs"]
    assert runs[1]["resumed"] is True and runs[1]["window_size_px"] == [800, 600]


def test_killed_session_resumes_to_a_complete_duplicate_free_file(tmp_path):
    proc = subprocess.Popen(session_cmd(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    trials = None
    while time.monotonic() < deadline:
        found = list((tmp_path / "P001").glob("*_trials.csv")) if (tmp_path / "P001").exists() else []
        if found and len(read_rows(found[0])) >= 11:  # in the middle of test block 1
            trials = found[0]
            break
        time.sleep(0.05)
    assert trials is not None, "session did not get going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = trials.read_bytes()
    killed_rows = read_rows(trials)
    # starting again without --resume is refused and changes nothing
    again = run_session(tmp_path)
    assert again.returncode == 2 and "add --resume" in again.stderr
    assert again.stderr.count("\n") == 1
    assert trials.read_bytes() == before
    resumed = run_session(tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = read_rows(trials)
    assert rows[: len(killed_rows)] == killed_rows  # nothing rewritten
    keys = [(r["is_practice"], r["block"], r["trial_in_block"]) for r in rows]
    assert len(keys) == len(set(keys)) == N_TRIALS
    assert {r["run"] for r in rows[len(killed_rows):]} == {"2"}
    sidecar = json.loads(session_files(tmp_path)["_session.json"].read_text())
    assert sidecar["status"] == "complete" and len(sidecar["runs"]) == 2
    assert sidecar["runs"][1]["resumed"] is True
    assert "resumed" in [e["event"] for e in sidecar["events"]]
    blocks = read_rows(session_files(tmp_path)["_blocks.csv"])
    assert len(blocks) == 4 and len({(b["is_practice"], b["block"]) for b in blocks}) == 4
    # and a complete session is never started again
    done = run_session(tmp_path, "--resume")
    assert done.returncode == 2 and "already complete" in done.stderr


def test_broken_event_backend_is_refused_before_anything_is_written(tmp_path):
    block_ptb = ("import sys, runpy; sys.modules['psychtoolbox'] = None; "
                 "sys.argv = ['experiment'] + sys.argv[1:]; "
                 "runpy.run_module('experiment', run_name='__main__')")
    cmd = [sys.executable, "-c", block_ptb] + session_cmd(tmp_path)[3:]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "'ptb' backend) did not load" in proc.stderr and "libjack" in proc.stderr
    assert not (tmp_path / "P001").exists()


def test_no_display_is_a_one_line_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.run(session_cmd(tmp_path), cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no X display") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "P001").exists()


def test_analysis_loader_reads_a_real_session(full_session):
    """The contract: a real session's files pass the analysis loader (data/README.md)."""
    from analysis.input.loader import load_trials
    data, _, _, _ = full_session
    loaded = load_trials(data / "P001")
    rows = read_rows(session_files(data)["_trials.csv"])
    assert len(loaded.trials) == len(rows) == N_TRIALS
    assert loaded.skipped == []
    assert loaded.participants == ["P001"]
    assert loaded.simulated_participants == ["P001"]
    test = loaded.trials[loaded.trials["is_practice"] == 0]
    assert sorted(test["condition"].unique()) == ["backward", "forward", "stand"]
    assert set(test["speed_actual_kmh"]) == {1.8}  # merged from the blocks file
    rts = [float(r["rt_ms"]) for r in rows if r["rt_ms"]]
    assert loaded.trials["rt_ms"].dropna().round(3).tolist() == [round(x, 3) for x in rts]


def test_speed_typed_as_soon_as_the_block_end_screen_appears_is_kept(tmp_path):
    """Digits count from the screen's appearance (only the continue key must wait
    ``display.min_screen_s``): typed 0.1-0.4 s after the screen, '2.5' is the recorded speed."""
    driver = Path(__file__).with_name("early_typist_driver.py")
    proc = subprocess.run([sys.executable, str(driver), "2.5", *session_cmd(tmp_path)[3:]],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    blocks = read_rows(session_files(tmp_path)["_blocks.csv"])
    assert [float(b["speed_actual_kmh"]) for b in blocks if b["is_practice"] == "0"] == [2.5] * 3
