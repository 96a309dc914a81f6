"""Faults around a session, without a window: a disk that fills mid-session, kills at chosen
instants of the start (before and between the first files) and at a block's end, files
deleted or edited between runs, and the sha256 of the data files at the session's end.

The kills are real: a writer process sends itself SIGKILL at the chosen instant; then a
resume (or a new start) must complete the session with exactly one set of files.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analysis.input.loader import load_trials
from door_support import fill, remount, tmpfs
from experiment.core.config import load_config
from experiment.core.datafile import DataFileError, DiskFullError, read_rows
from experiment.core.design import session_plan
from experiment.core.session_files import SessionExists, SessionInfo, SessionRecorder, TrialOutcome

REPO = Path(__file__).resolve().parents[2]
OVERRIDES = {"design": {"blocks_per_condition": 1, "trials_per_block": 12},
             "practice": {"trials": 4}}
CONFIG = load_config(OVERRIDES)
ORDER = ("stand", "forward", "backward")
INFO = SessionInfo("P001", 1, "AB", ORDER, "williams", True)
DATE = "2026-01-01_10h00.00.000"


class Clock:
    """ISO times one second apart, so 'before' and 'after' are testable."""

    def __init__(self, start_s: int = 0):
        self.t = start_s

    def __call__(self) -> str:
        self.t += 1
        return f"2026-01-01T10:{self.t // 60:02d}:{self.t % 60:02d}.000+00:00"


def outcome(trial) -> TrialOutcome:
    return TrialOutcome(trial.correct_key, 600.0 + trial.trial_in_block, 1.0, 1.5, 0)


def start(data: Path, now=None) -> SessionRecorder:
    return SessionRecorder.start(CONFIG, INFO, session_plan(CONFIG, "P001", 1, ORDER), DATE,
                                 data, {}, now=now)


def resume(data: Path, now=None) -> SessionRecorder:
    return SessionRecorder.resume(INFO, data, "stroop-walk", {}, session_plan, now=now)


def run_rest(rec: SessionRecorder) -> None:
    """Record every remaining trial and block, then finish (what the session does)."""
    for block in rec.plan.practice_rounds + rec.plan.blocks:
        if rec.block_row(block) is not None:
            continue
        started = rec.block_started(block)
        for trial in rec.remaining(block):
            rec.record_trial(trial, outcome(trial))
        rec.record_block(block, 0.0, started)
    rec.finish("complete")


def assert_complete(data: Path) -> list[dict[str, str]]:
    """One set of files; every planned trial once, in order; the analysis accepts it."""
    folder = data / "P001"
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.endswith("_session.json")] == [f"P001_stroop-walk_s1_{DATE}_session.json"]
    assert not [n for n in names if n.endswith((".tmp", ".part"))], names
    rows = read_rows(next(folder.glob("*_trials.csv")))
    n = len(session_plan(CONFIG, "P001", 1, ORDER).all_trials())   # run_rest runs every round
    assert [int(r["trial_in_session"]) for r in rows] == list(range(1, n + 1))
    assert len({(r["is_practice"], r["block"], r["trial_in_block"]) for r in rows}) == n
    loaded = load_trials(data)      # includes the consistency rules and the sidecar's hashes
    assert len(loaded.trials) == n
    return rows


def test_disk_full_mid_session_keeps_every_saved_trial_and_resumes(tmp_path):
    with tmpfs(tmp_path / "fs", "256k") as fs:
        rec = start(fs)
        trials = rec.plan.all_trials()
        for trial in trials[:5]:
            rec.record_trial(trial, outcome(trial))
        fill(fs)
        saved = 5
        with pytest.raises(DiskFullError, match="everything saved before is kept"):
            for trial in trials[5:]:
                rec.record_trial(trial, outcome(trial))
                saved += 1
        trials = rec.paths.trials
        assert trials.read_bytes().endswith(b"\n"), "a torn row was left behind"
        assert len(read_rows(trials)) == saved
        with pytest.raises(DiskFullError):
            rec.add_event("stopped")       # the sidecar cannot be replaced either ...
        assert json.loads(rec.paths.sidecar.read_text())["status"] == "running"  # ... but is whole
        assert not list(fs.rglob("*.tmp"))
        rec.close()
        (fs / "filler").unlink()
        (fs / "filler2").unlink()
        remount(fs, "size=4m")
        run_rest(resume(fs))
        rows = assert_complete(fs)
        assert {r["run"] for r in rows[saved:]} == {"2"}


# A process that starts the session and SIGKILLs itself at one instant of the start.
KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import experiment.core.session_files as recorder
    from experiment.core.config import load_config
    from experiment.core.design import session_plan
    from experiment.core.session_files import SessionInfo, SessionRecorder
    overrides = {overrides!r}
    config = load_config(overrides)
    order = ("stand", "forward", "backward")
    info = SessionInfo("P001", 1, "AB", order, "williams", True)
    instant = sys.argv[2]

    def kill(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if instant == "in the first sidecar":
        real = recorder.write_json_atomic
        def torn(path, obj):   # half a sidecar in its .tmp, then the kill
            Path(str(path) + ".tmp").write_text('{{"participant": "P0')
            kill()
        recorder.write_json_atomic = torn
    elif instant == "after the sidecar":
        recorder._write_config = kill
    elif instant == "after the config":
        recorder._write_plan = kill
    elif instant == "after the plan":
        recorder.CsvAppender = kill
    SessionRecorder.start(config, info, session_plan(config, "P001", 1, order),
                          {date!r}, Path(sys.argv[1]), {{}})
""").format(overrides=OVERRIDES, date=DATE)

INSTANTS = ["in the first sidecar", "after the sidecar", "after the config", "after the plan"]


@pytest.mark.parametrize("instant", INSTANTS)
def test_kill_at_the_start_leaves_a_session_that_completes_once(instant, tmp_path):
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path), instant], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    if instant == "in the first sidecar":   # nothing was recorded: a new start, no duplicate
        with pytest.raises(DataFileError, match="nothing to resume"):
            resume(tmp_path)
        run_rest(start(tmp_path))
    else:                                    # the sidecar exists: resume writes what is missing
        with pytest.raises(SessionExists, match="continue it with --resume"):
            start(tmp_path)
        rec = resume(tmp_path)
        restored = [e for e in rec.sidecar["events"] if e["event"] == "resumed"][0]
        expected = {"after the sidecar": ["P001_stroop-walk_s1_" + DATE + "_config.toml",
                                          "P001_stroop-walk_s1_" + DATE + "_plan.csv"],
                    "after the config": ["P001_stroop-walk_s1_" + DATE + "_plan.csv"],
                    "after the plan": None}[instant]
        assert restored.get("restored_files") == expected
        run_rest(rec)
    assert_complete(tmp_path)


def test_files_of_a_start_without_sidecar_are_refused_not_duplicated(tmp_path):
    """Files an older version left when killed before its sidecar: a new start refuses them."""
    folder = tmp_path / "P001"
    folder.mkdir()
    (folder / "P001_stroop-walk_s1_2025-12-01_09h00.00.000_plan.csv").write_text("x\n")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(SessionExists, match="without its sidecar .*move them away"):
        start(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_block_start_time_stays_true_when_the_block_ends_in_the_next_run(tmp_path):
    clock = Clock()
    rec = start(tmp_path, now=clock)
    block = rec.plan.practice_rounds[0]
    started = rec.block_started(block)
    for trial in rec.remaining(block):
        rec.record_trial(trial, outcome(trial))
    rec.close()                 # killed on the block-end screen: no block row yet
    clock.t += 600              # resumed ten minutes later
    rec = resume(tmp_path, now=clock)
    assert rec.remaining(block) == []
    assert rec.block_started(block) == started
    rec.record_block(block, 0.0, rec.block_started(block))
    run_rest(rec)
    rows = read_rows(rec.paths.trials)
    blocks = read_rows(rec.paths.blocks)
    for b in blocks:
        own = [r["timestamp"] for r in rows if (r["is_practice"], r["block"]) ==
               (b["is_practice"], b["block"])]
        assert b["started"] < min(own) <= max(own) < b["ended"], b


@pytest.mark.parametrize("lost", ["_plan.csv", "_config.toml"])
def test_resume_after_a_deleted_plan_or_config_writes_it_again(lost, tmp_path):
    rec = start(tmp_path)
    for trial in rec.plan.all_trials()[:6]:
        rec.record_trial(trial, outcome(trial))
    original = rec.paths.file(lost).read_bytes()
    rec.finish("aborted")
    rec.paths.file(lost).unlink()
    rec = resume(tmp_path)
    assert rec.paths.file(lost).read_bytes() == original
    run_rest(rec)
    assert_complete(tmp_path)


def test_resume_refuses_trial_rows_that_are_not_the_plan(tmp_path):
    rec = start(tmp_path)
    for trial in rec.plan.all_trials()[:3]:
        rec.record_trial(trial, outcome(trial))
    rec.finish("aborted")
    text = rec.paths.trials.read_text()
    word = read_rows(rec.paths.trials)[1]["word"]
    rec.paths.trials.write_text(text.replace(f",{word},", ",PURPLE,", 2))
    with pytest.raises(DataFileError, match="row 2 is not a trial of the session's plan"):
        resume(tmp_path)


def test_session_end_records_the_sha256_of_its_data_files(tmp_path):
    rec = start(tmp_path)
    calls = []
    rec.after_save = lambda: calls.append(1)
    run_rest(rec)
    assert len(calls) > 40        # every row and sidecar change: the session flushes its log there
    hashes = json.loads(rec.paths.sidecar.read_text())["sha256"]
    assert hashes == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in
                      (rec.paths.trials, rec.paths.blocks, rec.paths.config, rec.paths.plan)}
