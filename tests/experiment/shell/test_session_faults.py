"""Real sessions (PsychoPy under Xvfb, simulated participant pressing keys through XTEST)
meeting faults: a kill right after a block's last trial, and the pause key pressed by the
experimenter during a trial's interval."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiment.core.datafile import read_rows

REPO = Path(__file__).resolve().parents[3]
E2E_CONFIG = REPO / "tests" / "e2e.toml"

pytestmark = [pytest.mark.display, pytest.mark.slow]

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display: run under xvfb-run (make test does)", allow_module_level=True)


def session_cmd(data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiment", "--config", str(E2E_CONFIG), "--simulate",
            "--participant", "P001", "--data-dir", str(data), *extra]


def wait_for(predicate, proc: subprocess.Popen, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert proc.poll() is None, "the session ended before the awaited instant"
        assert time.monotonic() < deadline, "the session did not reach the awaited instant"
        time.sleep(0.005)


def rows_of(data: Path, suffix: str) -> list[dict[str, str]]:
    found = list((data / "P001").glob(f"*{suffix}")) if (data / "P001").exists() else []
    return read_rows(found[0]) if found else []


def test_kill_after_a_blocks_last_trial_then_resume(tmp_path):
    """SIGKILL on the block-end screen of test block 1 (its trials saved, its row not):
    the PsychoPy log was on disk already, the resumed block row keeps the block's true start,
    and the finished session's sidecar holds the sha256 the analysis verifies."""
    proc = subprocess.Popen(session_cmd(tmp_path), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    practice = 4
    wait_for(lambda: len(rows_of(tmp_path, "_trials.csv")) >= practice + 12, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    blocks = rows_of(tmp_path, "_blocks.csv")
    assert [b["block"] for b in blocks if b["is_practice"] == "0"] == [], \
        "killed too late: block 1 already had its row"
    log = next((tmp_path / "P001").glob("*.log")).read_text()
    assert "block start: block 1" in log, "the PsychoPy log was not written as the session went"
    resumed = subprocess.run(session_cmd(tmp_path, "--resume"), cwd=REPO, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = rows_of(tmp_path, "_trials.csv")
    for b in rows_of(tmp_path, "_blocks.csv"):
        own = [r["timestamp"] for r in trials
               if (r["is_practice"], r["block"]) == (b["is_practice"], b["block"])]
        assert b["started"] < min(own) and max(own) <= b["ended"], b
    sidecar_path = next((tmp_path / "P001").glob("*_session.json"))
    sidecar = json.loads(sidecar_path.read_text())
    for name, digest in sidecar["sha256"].items():
        assert hashlib.sha256((tmp_path / "P001" / name).read_bytes()).hexdigest() == digest
    from analysis.input.loader import load_trials
    assert len(load_trials(tmp_path).trials) == len(trials)


def test_pause_key_in_the_interval(tmp_path):
    """The experimenter presses the pause key while a trial's interval runs (a long one):
    the pause screen comes up at once, the saved trial is not run again, the session goes on."""
    config = tmp_path / "long-interval.toml"
    config.write_text(E2E_CONFIG.read_text().replace("iti_min_s = 0.2", "iti_min_s = 1.5")
                      .replace("iti_max_s = 0.3", "iti_max_s = 1.5")
                      .replace("trials = 4", "trials = 0")
                      .replace("[design]", "[design]\nconditions = [\"stand\"]"))
    cmd = session_cmd(tmp_path, "--config", str(config))
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    wait_for(lambda: len(rows_of(tmp_path, "_trials.csv")) >= 2, proc)
    from experiment.simulation.participant import KeyInjector
    keys = KeyInjector()
    t_press = time.time()
    keys.press("escape")
    time.sleep(0.06)
    keys.release("escape")
    keys.close()
    wait_for(lambda: any(e.get("after_trial") for e in json.loads(
        next((tmp_path / "P001").glob("*_session.json")).read_text())["events"]), proc, 10)
    paused_after_s = time.time() - t_press
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    rows = rows_of(tmp_path, "_trials.csv")
    keys_seen = [(r["is_practice"], r["block"], r["trial_in_block"]) for r in rows]
    assert len(keys_seen) == len(set(keys_seen)) == 12
    assert paused_after_s < 1.0, f"the pause came {paused_after_s:.1f} s after the key"
    events = json.loads(next((tmp_path / "P001").glob("*_session.json")).read_text())["events"]
    pause = [e for e in events if e.get("after_trial")]
    assert len(pause) == 1 and pause[0]["trial_in_block"] == 2
    assert "continued" in [e["event"] for e in events]


def test_disk_full_mid_session_stops_cleanly_and_resumes(tmp_path):
    """The data disk (a small tmpfs) fills during a session: exit 4 with one line saying how
    to resume, every saved row whole; after space is freed --resume completes the session."""
    from door_support import fill, remount, tmpfs
    with tmpfs(tmp_path / "fs", "2m") as fs:
        proc = subprocess.Popen(session_cmd(fs / "data"), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        wait_for(lambda: len(rows_of(fs / "data", "_trials.csv")) >= 6, proc)
        fill(fs)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 4, err[-2000:]
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("stopped: ") and "--resume" in lines[0]
        trials = next((fs / "data" / "P001").glob("*_trials.csv"))
        assert trials.read_bytes().endswith(b"\n")
        saved = read_rows(trials)
        assert [int(r["trial_in_session"]) for r in saved] == list(range(1, len(saved) + 1))
        (fs / "filler").unlink()
        (fs / "filler2").unlink()
        remount(fs, "size=64m")
        resumed = subprocess.run(session_cmd(fs / "data", "--resume"), cwd=REPO,
                                 capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        rows = read_rows(trials)
        assert rows[: len(saved)] == saved
        assert len({(r["is_practice"], r["block"], r["trial_in_block"]) for r in rows}) == 40
