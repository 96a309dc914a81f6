"""The data writer and recorder: a kill at any instant leaves valid files with every completed trial."""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from experiment.core.config import load_config
from experiment.core.datafile import CsvAppender, DataFileError, read_rows, write_json_atomic
from experiment.core.design import session_plan
from experiment.core.session_files import SessionExists, SessionInfo, SessionRecorder, TrialOutcome
from experiment.core.records import TRIAL_COLUMNS

REPO = Path(__file__).resolve().parents[3]
CONFIG = load_config({"design": {"blocks_per_condition": 1, "trials_per_block": 24},
                      "practice": {"trials": 0}})
ORDER = ("stand", "forward", "backward")
INFO = SessionInfo("P001", 1, "tester", ORDER, "williams", True)

# A writer process: records every planned trial as fast as it can, acknowledging each on stdout.
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from experiment.core.config import load_config
    from experiment.core.design import session_plan
    from experiment.core.session_files import SessionInfo, SessionRecorder, TrialOutcome
    config = load_config({"design": {"blocks_per_condition": 1, "trials_per_block": 24},
                          "practice": {"trials": 0}})
    order = ("stand", "forward", "backward")
    info = SessionInfo("P001", 1, "tester", order, "williams", True)
    data = Path(sys.argv[1])
    if sys.argv[2] == "start":
        rec = SessionRecorder.start(config, info, session_plan(config, "P001", 1, order),
                                    "2026-01-01_10h00.00.000", data, {})
    else:
        rec = SessionRecorder.resume(info, data, "stroop-walk", {}, session_plan)
    for block in rec.plan.blocks:
        for trial in rec.remaining(block):
            rec.record_trial(trial, TrialOutcome(trial.correct_key, 500.0 + trial.trial_in_block,
                                                 1.0, 1.5, 0))
            print(trial.block, trial.trial_in_block, flush=True)
    rec.finish("complete")
    print("done", flush=True)
""")


def _writer(data: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(data), mode], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)


def _valid_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    assert text.endswith("\n")
    rows = list(csv.DictReader(text.splitlines()))
    for row in rows:
        assert list(row) == list(TRIAL_COLUMNS)
        assert None not in row.values() and float(row["rt_ms"]) > 0
    return rows


@pytest.mark.parametrize("kill_after", [1, 7, 30, 55])
def test_sigkill_loses_nothing_acknowledged_and_resume_completes(tmp_path, kill_after):
    proc = _writer(tmp_path, "start")
    acknowledged = 0
    while acknowledged < kill_after:
        assert proc.stdout.readline().strip()
        acknowledged += 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    trials = next(tmp_path.glob("P001/*_trials.csv"))
    rows = _valid_rows(trials)
    assert len(rows) >= acknowledged  # every acknowledged row is on disk ...
    sidecar = json.loads(next(tmp_path.glob("P001/*_session.json")).read_text())
    assert sidecar["status"] == "running"  # ... and the sidecar is whole JSON
    # a plain restart is refused; a resume completes without duplicates
    with pytest.raises(SessionExists, match="--resume"):
        SessionRecorder.start(CONFIG, INFO, session_plan(CONFIG, "P001", 1, ORDER), "x", tmp_path, {})
    resumed = _writer(tmp_path, "resume")
    out = resumed.communicate(timeout=120)[0]
    assert resumed.returncode == 0 and out.strip().endswith("done")
    rows = _valid_rows(trials)
    keys = [(r["block"], r["trial_in_block"]) for r in rows]
    assert len(keys) == len(set(keys)) == 72
    assert [int(r["trial_in_session"]) for r in rows] == list(range(1, 73))
    runs = {r["run"] for r in rows}
    assert runs == {"1", "2"} or (runs == {"1"} and len(rows) == 72)
    sidecar = json.loads(next(tmp_path.glob("P001/*_session.json")).read_text())
    assert sidecar["status"] == "complete" and len(sidecar["runs"]) == 2
    assert [e["event"] for e in sidecar["events"]] == ["resumed"]


def test_torn_last_line_is_cut_on_reopen(tmp_path):
    path = tmp_path / "t.csv"
    with CsvAppender(path, ["a", "b"]) as app:
        app.append({"a": 1, "b": 2.5})
        app.append({"a": 2, "b": None})
    with open(path, "a") as fh:
        fh.write("3,4")  # a power cut in the middle of a row
    assert read_rows(path) == [{"a": "1", "b": "2.5"}, {"a": "2", "b": ""}]
    with CsvAppender(path, ["a", "b"]) as app:
        app.append({"a": 3, "b": 4})
    assert path.read_text() == "a,b\n1,2.5\n2,\n3,4\n"


def test_foreign_header_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(DataFileError, match="columns differ"):
        CsvAppender(path, ["a", "b"])
    assert path.read_text() == "x,y\n1,2\n"


def test_atomic_json_never_half_written(tmp_path):
    path = tmp_path / "s.json"
    write_json_atomic(path, {"n": 1})
    write_json_atomic(path, {"n": 2, "text": "ä" * 10000})
    assert json.loads(path.read_text())["n"] == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_resume_refuses_changed_trial_lists(tmp_path):
    plan = session_plan(CONFIG, "P001", 1, ORDER)
    rec = SessionRecorder.start(CONFIG, INFO, plan, "2026-01-01_10h00.00.000", tmp_path, {})
    rec.close()
    plan_file = next(tmp_path.glob("P001/*_plan.csv"))
    text = plan_file.read_text().replace(",red,", ",RED?,", 1)
    plan_file.write_text(text)
    with pytest.raises(DataFileError, match="differ from the saved"):
        SessionRecorder.resume(INFO, tmp_path, "stroop-walk", {}, session_plan)


def test_recorder_scores_and_numbers_trials(tmp_path):
    plan = session_plan(CONFIG, "P001", 1, ORDER)
    rec = SessionRecorder.start(CONFIG, INFO, plan, "2026-01-01_10h00.00.000", tmp_path, {})
    t1, t2, t3 = plan.blocks[0].trials[:3]
    wrong = next(k for k in CONFIG.response.keys.values() if k != t2.correct_key)
    rec.record_trial(t1, TrialOutcome(t1.correct_key, 612.3456, 10.0, 10.5, 0))
    rec.record_trial(t2, TrialOutcome(wrong, 700.0, 12.0, 12.5, 1))
    rec.record_trial(t3, TrialOutcome("", None, 14.0, 14.5, 0))
    rec.record_block(plan.blocks[0], 0.0, "start")
    rec.finish("aborted")
    rows = read_rows(rec.paths.trials)
    assert [(r["correct"], r["timeout"], r["rt_ms"], r["response"]) for r in rows] == [
        ("1", "0", "612.346", t1.correct_key), ("0", "0", "700.0", wrong), ("0", "1", "", "")]
    assert [r["trial_in_session"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["condition_order"] == "stand-forward-backward"
    assert rows[0]["seed"] == str(plan.seed)
    blocks = read_rows(rec.paths.blocks)
    assert blocks[0]["accuracy"] == str(round(1 / 3, 4))


def test_append_rows_writes_a_block_of_rows_at_once(tmp_path):
    from experiment.core.datafile import CsvAppender, read_rows
    path = tmp_path / "frames.csv"
    with CsvAppender(path, ("run", "frame", "interval_ms")) as out:
        out.append_rows([{"run": 1, "frame": i + 1, "interval_ms": 16.7} for i in range(500)])
        out.append_rows([])
    with CsvAppender(path, ("run", "frame", "interval_ms")) as again:  # reopened: appended
        again.append_rows([{"run": 2, "frame": 1, "interval_ms": None}])
    rows = read_rows(path)
    assert len(rows) == 501 and rows[0] == {"run": "1", "frame": "1", "interval_ms": "16.7"}
    assert rows[-1] == {"run": "2", "frame": "1", "interval_ms": ""}
