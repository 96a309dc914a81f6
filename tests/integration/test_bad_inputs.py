"""A catalogue of bad inputs, tried as a new user would: IDs, session numbers, config values,
command lines, data folders, read-only and full file systems, analysis data and plans.

Every case runs the command-line entry point in-process (``experiment.__main__.main``,
``analysis.__main__.main``) and asserts: the exit code, exactly one line on stderr naming
the problem and no traceback, and every file that existed before byte-identical afterwards
(nothing new written either). The experiment's cases never reach the window: reaching it is
a failure.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import analysis.__main__ as analysis_cli
import experiment.__main__ as experiment_cli
from analysis_data import write_dataset
from door_support import (assert_one_line_refusal, fill, first_row, read_table, remount, set_cell,
                          tmpfs, tree_digest, write_sidecar, write_table)
from experiment.core.config import load_config
from experiment.core.design import session_plan
from experiment.core.session_files import SessionInfo, SessionRecorder, TrialOutcome

# ---------------------------------------------------------------------------------------------
# experiment
# ---------------------------------------------------------------------------------------------
BAD_IDS = [
    ("", "must not be empty"), (" ", "may only hold"), (".", "may only hold"),
    ("..", "may only hold"), ("a/b", "may only hold"), ("a\\b", "may only hold"),
    ("P 1", "may only hold"), ("P\n1", "may only hold"), ("P\t1", "may only hold"),
    ("x" * 302, "302 characters long"), ("x" * 65, "at most 64"), ("*", "may only hold"),
    ("P?1", "may only hold"), ("P:1", "may only hold"), (".hidden", "may only hold"),
    ("P1\x00", "may only hold"), ("Ä1", "may only hold"), ("_P1", "may only hold"),
    ("P1;rm", "may only hold"), ("P1\u200b", "may only hold"), ("P1\r", "may only hold"),
    # found by the issue-13 audit: a folder Windows cannot make, or renames
    ("COM1", "cannot name a file on Windows"), ("nul.csv", "cannot name a file on Windows"),
    ("lpt3", "cannot name a file on Windows"), ("P1.", "cannot name a file on Windows"),
    ("P1..", "cannot name a file on Windows"), ("CON", "cannot name a file on Windows"),
    ("Com1", "cannot name a file on Windows"), ("LPT9.x", "cannot name a file on Windows"),
    ("aux.1", "cannot name a file on Windows"),
]
# flags that each take another way through the command line; an ID is refused with any of them
FLAG_SETS = {
    "none": lambda t: [],
    "--order": lambda t: ["--order", "stand,backward,forward"],
    "--export-conditions": lambda t: ["--export-conditions", str(t / "conditions")],
    "--resume": lambda t: ["--resume"],
    "--simulate": lambda t: ["--simulate"],
    "--check-config": lambda t: ["--check-config"],
    "--session 2 --order": lambda t: ["--session", "2", "--order", "forward,stand,backward"],
}
BAD_SESSIONS = [
    ("0", "between 1 and 9999"), ("-1", "between 1 and 9999"), ("10000", "between 1 and 9999"),
    ("100000000000000000000", "between 1 and 9999"), ("abc", "invalid session number"),
    ("1.5", "invalid session number"),
    # found by the issue-13 audit: int() reads these as 10, 3 and 1
    ("1_0", "digits 0-9 only"), ("\u0663", "digits 0-9 only"), ("1\n", "digits 0-9 only"),
]
# (TOML text of a lab config, what the one-line error must say), checked with --check-config
BAD_CONFIGS = [
    ("[timing]\niti_max_s = inf\n", "timing.iti_max_s = inf: must be a finite number"),
    ("[timing]\niti_max_s = nan\n", "timing.iti_max_s = nan: must be a finite number"),
    ("[timing]\niti_max_s = 1e6\n", "timing.iti_max_s = 1000000.0: must be between 0 and 60 s"),
    ("[timing]\nfixation_s = -1\n", "timing.fixation_s = -1.0: must be between 0 and 60 s"),
    ("[timing]\nresponse_window_s = 1e9\n", "timing.response_window_s"),
    ("[timing]\nsettle_s = -inf\n", "timing.settle_s = -inf: must be a finite number"),
    ("[conditions.forward]\ntreadmill_speed_kmh = inf\n", "must be a finite number"),
    ("[conditions.forward]\ntreadmill_speed_kmh = 31\n", "must be between 0 and 30 km/h"),
    ("[conditions.forward]\ntreadmill_speed_kmh = -1\n", "must be between 0 and 30 km/h"),
    ("[response.keys]\nred = \"notakey\"\n", "response.keys.red = 'notakey': is not a key name"),
    ("[response.keys]\nred = \"D\"\n", "did you mean 'd'?"),
    ("[response.keys]\nred = \"\"\n", "response.keys.red = '': must be a non-empty string"),
    ("[response]\npause_key = \"esc\"\n", "response.pause_key = 'esc': is not a key name"),
    ("[response]\ncontinue_key = \"escape\"\n", "must be three different keys"),
    ("[response.code_keys]\ncorrect = \"ok\"\n", "response.code_keys.correct = 'ok'"),
    ("[experiment]\nname = \"a/b\"\n", "experiment.name = 'a/b'"),
    ("[experiment]\nname = \"..\"\n", "experiment.name = '..'"),
    ("[experiment]\nname = \"" + "x" * 65 + "\"\n", "at most 64"),
    ("[experiment]\nname = \"lab\\nstudy\"\n", "may only hold"),
    ("[experiment]\nbase_seed = -1\n", "experiment.base_seed = -1: must be >= 0"),
    ("[experiment]\ndata_dir = \"a\\u0000b\"\n", "experiment.data_dir = 'a\\x00b': must be a "
     "folder path without control characters"),
    ("[experiment]\nstimuli_dir = \"st\\nimuli\"\n", "experiment.stimuli_dir"),
    ("[design]\ntrials_per_block = 0\n", "design.trials_per_block = 0: must be between 1 and 1200"),
    ("[design]\ntrials_per_block = 1200000\n", "must be between 1 and 1200"),
    ("[design]\nblocks_per_condition = 1000000000\n", "must be between 1 and 50"),
    ("[design]\nproportion_congruent = nan\n", "design.proportion_congruent = nan: must be a finite"),
    ("[practice]\ntrials = -1\n", "practice.trials = -1: must be between 0 and 1000"),
    ("[practice]\ntrials = 1000000000\n", "practice.trials"),
    ("[practice]\nmax_repeats = 0\n", "practice.max_repeats = 0"),
    ("[display]\nsize_px = [0, 0]\n", "display.size_px = [0, 0]"),
    ("[display]\nsize_px = [100000, 800]\n", "display.size_px = [100000, 800]"),
    ("[display]\ntext_height = 0\n", "display.text_height = 0.0"),
    ("[display]\ntext_height = 5\n", "display.text_height = 5.0: must be > 0 and at most 1"),
    ("[display]\nscreen = -1\n", "display.screen = -1"),
    ("[simulation]\nmu_s = 0\n", "simulation.mu_s = 0.0"),
    ("[simulation]\nmu_s = inf\n", "simulation.mu_s = inf: must be a finite number"),
    ("[simulation]\ncongruent_shift_s = 1e9\n", "simulation.congruent_shift_s"),
    ("[response]\njoystick = 99\n", "response.joystick = 99"),
    ("[response]\ndevice = \"voice\"\n[voice]\nchannel = 100\n", "voice.channel = 100"),
    ("[timing]\nfoo = 1\n", "unknown key 'timing.foo'"),
    ("timing = 5\n", "'timing' must be a table"),
    ("[timing\n", "not valid TOML"),
    ("[timing]\niti_max_s = \"long\"\n", "timing.iti_max_s = 'long': must be a number"),
]


@pytest.fixture
def no_session(monkeypatch):
    """Reaching the window would mean the bad input got through: fail instead."""
    def reached(*args, **kwargs):
        raise AssertionError("a bad input reached the session")
    monkeypatch.setattr(experiment_cli, "run_session", reached)


def run_experiment(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = experiment_cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


def check_experiment(argv, root: Path, capsys, expected: str, code: int = 2) -> None:
    before = tree_digest(root)
    got, err = run_experiment(argv, capsys)
    assert_one_line_refusal(got, err, code, expected)
    assert tree_digest(root) == before, "a refused command changed or wrote files"


@pytest.mark.parametrize("pid,expected", BAD_IDS, ids=[repr(p)[:20] for p, _ in BAD_IDS])
def test_bad_participant_id(pid, expected, tmp_path, capsys, no_session):
    check_experiment(["--participant", pid, "--data-dir", str(tmp_path / "data")], tmp_path,
                     capsys, expected)


@pytest.mark.parametrize("flags", FLAG_SETS)
@pytest.mark.parametrize("pid", [".", "..", "a/b", "../P1", "P1.", "CON"])
def test_an_unsafe_participant_id_is_refused_whatever_the_other_flags(pid, flags, tmp_path, capsys,
                                                                      no_session):
    check_experiment(["--participant", pid, "--data-dir", str(tmp_path / "data"),
                      *FLAG_SETS[flags](tmp_path)], tmp_path, capsys, "participant ID")


@pytest.mark.parametrize("session,expected", BAD_SESSIONS)
def test_bad_session_number(session, expected, tmp_path, capsys, no_session):
    check_experiment(["--participant", "P001", "--session", session, "--data-dir",
                      str(tmp_path / "data")], tmp_path, capsys, expected)


@pytest.mark.parametrize("toml,expected", BAD_CONFIGS, ids=range(len(BAD_CONFIGS)))
def test_bad_config_value(toml, expected, tmp_path, capsys, no_session):
    cfg = tmp_path / "lab.toml"
    cfg.write_text(toml, encoding="utf-8")
    check_experiment(["--config", str(cfg), "--check-config"], tmp_path, capsys, expected)
    # the same config on a real start is refused the same way, before anything is written
    check_experiment(["--config", str(cfg), "--participant", "P001", "--data-dir",
                      str(tmp_path / "data")], tmp_path, capsys, expected)


def _started_session(data: Path, status: str, config_overrides=None) -> Path:
    """A session of P001 recorded without a window: 3 trials, then ``status``."""
    config = load_config(config_overrides or {})
    order = ("stand", "forward", "backward")
    info = SessionInfo("P001", 1, "AB", order, "williams", True)
    rec = SessionRecorder.start(config, info, session_plan(config, "P001", 1, order),
                                "2026-01-01_10h00.00.000", data, {})
    for trial in rec.plan.all_trials()[:3]:
        rec.record_trial(trial, TrialOutcome(trial.correct_key, 600.0, 1.0, 1.5, 0))
    if status != "running":
        rec.finish(status)
    else:
        rec.close()
    return rec.paths.sidecar


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


# (name, set-up in tmp_path returning the arguments, expected text)
CLI_CASES = {
    "config names a folder": (lambda t: ["--config", str(t), "--check-config"], "is a folder"),
    "config missing": (lambda t: ["--config", str(t / "nope.toml"), "--check-config"],
                       "config file not found"),
    "config not UTF-8": (lambda t: ["--config", str(_write(t / "c.toml", b"[timing]\n\xff=1\n")),
                                    "--check-config"], "not valid TOML"),
    "unknown preset": (lambda t: ["--preset", "nope", "--check-config"], "unknown preset 'nope'"),
    "order not a permutation": (lambda t: ["--participant", "P001", "--order", "stand,jog",
                                           "--data-dir", str(t / "d")], "condition order"),
    "order repeats": (lambda t: ["--participant", "P001", "--order", "stand,stand,forward",
                                 "--data-dir", str(t / "d")], "condition order"),
    "ID without a number": (lambda t: ["--participant", "ABC", "--data-dir", str(t / "d")],
                            "no number to counterbalance"),
    "unknown option": (lambda t: ["--participnt", "P001"], "unrecognized arguments"),
    "simulate without ID": (lambda t: ["--simulate"], "--simulate needs --participant"),
    "nothing to resume": (lambda t: ["--participant", "P001", "--resume", "--data-dir",
                                     str(t / "d")], "nothing to resume"),
    "data dir is a file": (lambda t: ["--participant", "P001", "--data-dir",
                                      str(_write(t / "d", "x"))], "is not writable"),
    "complete session again": (
        lambda t: [_started_session(t / "d", "complete") and "--participant", "P001",
                   "--data-dir", str(t / "d")], "is already complete"),
    "complete session resumed": (
        lambda t: [_started_session(t / "d", "complete") and "--participant", "P001",
                   "--resume", "--data-dir", str(t / "d")], "is already complete"),
    "unfinished without --resume": (
        lambda t: [_started_session(t / "d", "aborted") and "--participant", "P001",
                   "--data-dir", str(t / "d")], "add --resume to continue it"),
    "resume with another order": (
        lambda t: [_started_session(t / "d", "aborted") and "--participant", "P001",
                   "--resume", "--order", "backward,forward,stand", "--data-dir", str(t / "d")],
        "--order backward,forward,stand differs from the order this session started with"),
    "resume with another config": (
        lambda t: [_started_session(t / "d", "aborted") and "--participant", "P001", "--resume",
                   "--config", str(_write(t / "c.toml", "[timing]\niti_max_s = 2.0\n")),
                   "--data-dir", str(t / "d")], "changes timing.iti_max_s"),
    "resume with a preset": (
        lambda t: [_started_session(t / "d", "running") and "--participant", "P001", "--resume",
                   "--preset", "demo", "--data-dir", str(t / "d")], "--preset demo changes"),
    "corrupted sidecar": (
        lambda t: [_write(_started_session(t / "d", "aborted"), "{not json") and "--participant",
                   "P001", "--resume", "--data-dir", str(t / "d")], "not a valid sidecar"),
    "sidecar not an object": (
        lambda t: [_write(_started_session(t / "d", "aborted"), "[1, 2]") and "--participant",
                   "P001", "--resume", "--data-dir", str(t / "d")], "not a JSON object"),
    "two sidecars": (
        lambda t: [shutil.copy(p := _started_session(t / "d", "aborted"),
                               p.with_name(p.name.replace("10h00", "11h00"))) and "--participant",
                   "P001", "--resume", "--data-dir", str(t / "d")], "holds 2 sidecars"),
    "empty --order": (lambda t: ["--participant", "P001", "--order", ""],
                      "condition order '' must name each"),
    "preset as a path": (lambda t: ["--participant", "P001", "--preset", "../default"],
                         "unknown preset '../default'"),
    "export conditions onto a file": (
        lambda t: ["--participant", "P001", "--export-conditions",
                   str(_write(t / "out", "x"))], "cannot write"),
}


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_bad_command_line(name, tmp_path, capsys, no_session):
    make_args, expected = CLI_CASES[name]
    args = make_args(tmp_path)
    check_experiment(args, tmp_path, capsys, expected)


def test_data_folder_on_a_read_only_file_system(tmp_path, capsys, no_session):
    with tmpfs(tmp_path / "fs") as fs:
        (fs / "keep.txt").write_text("x")
        remount(fs, "ro")
        check_experiment(["--participant", "P001", "--data-dir", str(fs / "data")], fs, capsys,
                         "is not writable")


def test_data_folder_on_a_full_file_system(tmp_path, capsys, no_session):
    with tmpfs(tmp_path / "fs", "64k") as fs:
        fill(fs)
        check_experiment(["--participant", "P001", "--data-dir", str(fs / "data")], fs, capsys,
                         "is not writable")


# ---------------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """Four simulated sessions with blocks files and sidecars (hashes of both files)."""
    root = tmp_path_factory.mktemp("door") / "data"
    for path in write_dataset(root, n_participants=4, trials_per_block=12,
                              blocks_per_condition=1, practice_trials=4, seed=5,
                              congruency_mix={"incongruent": 0.5, "congruent": 0.5}):
        write_sidecar(path)
    return root


@pytest.fixture
def small_plan(tmp_path) -> list[str]:
    """Plan arguments for the small dataset (6 valid trials per condition)."""
    plan = _write(tmp_path / "small-plan.toml", "[participants]\nmin_valid_trials = 3\n")
    return ["--plan", str(plan)]


@pytest.fixture
def data(template, tmp_path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(template, root)
    return root


def trials_of(root: Path, n: int = 0) -> Path:
    return sorted(root.rglob("*_trials.csv"))[n]


def _responded(root: Path) -> int:
    return first_row(trials_of(root), timeout="0", correct="1", is_practice="0")


def _cell(column: str, value: str, row=3):
    def mutate(root: Path) -> None:
        r = row(root) if callable(row) else row
        set_cell(trials_of(root), r, column, value)
    return mutate


def _rows(edit):
    def mutate(root: Path) -> None:
        path = trials_of(root)
        header, rows = read_table(path)
        write_table(path, header, edit(header, rows, root))
    return mutate


def _bytes(edit):
    def mutate(root: Path) -> None:
        path = trials_of(root)
        path.write_bytes(edit(path.read_bytes()))
    return mutate


def _sidecar(**changes):
    def mutate(root: Path) -> None:
        write_sidecar(trials_of(root), **changes)
    return mutate


def _flip(v: str) -> str:
    return "0" if v == "1" else "1"


def _set_where(column: str, value_of, **where):
    def mutate(root: Path) -> None:
        path = trials_of(root)
        row = first_row(path, **where)
        header, rows = read_table(path)
        set_cell(path, row, column, value_of(dict(zip(header, rows[row - 1]))))
    return mutate


def _stopped_before_first_trial(root: Path) -> None:
    """Every session as a kill before its first trial leaves it: a header-only trial file and
    a sidecar still 'running' (no sha256, which is written at the session's end)."""
    for path in root.rglob("*_trials.csv"):
        path.write_text(path.read_text().splitlines()[0] + "\n")
        sidecar = path.with_name(path.name.replace("_trials.csv", "_session.json"))
        keys = {k: v for k, v in json.loads(sidecar.read_text()).items() if k != "sha256"}
        sidecar.write_text(json.dumps({**keys, "status": "running"}))


# name -> (mutation of the data folder, the text the one-line error must hold)
DATA_CASES = {
    "session >= 2^63": (_cell("session", "100000000000000000000"), "is too large"),
    "session 2^53": (_cell("session", str(2**53)), "is too large"),
    "session 3_0": (_cell("session", "3_0"), "session = '3_0' is not an integer"),
    "session inf": (_cell("session", "inf"), "session = 'inf' is not an integer"),
    "session 1.5": (_cell("session", "1.5"), "is not an integer"),
    "rt 1e300": (_cell("rt_ms", "1e300", _responded), "rt_ms = '1e300' is above 60000"),
    "rt inf": (_cell("rt_ms", "inf", _responded), "rt_ms = 'inf' is not a number"),
    "rt -inf": (_cell("rt_ms", "-inf", _responded), "is not a number"),
    "rt nan": (_cell("rt_ms", "nan", _responded), "rt_ms = 'nan' is not a number"),
    "rt negative": (_cell("rt_ms", "-5", _responded), "is below 0"),
    "rt zero": (_cell("rt_ms", "0", _responded), "rt_ms must be > 0 ms"),
    "rt underscores": (_cell("rt_ms", "1_000", _responded), "is not a number"),
    "rt hex": (_cell("rt_ms", "0x10", _responded), "is not a number"),
    "rt with spaces": (_cell("rt_ms", " 500", _responded), "is not a number"),
    "rt comma decimal": (_cell("rt_ms", "500,5", _responded), "is not a number"),
    "trial_in_session empty": (_cell("trial_in_session", ""), "trial_in_session = '' is empty"),
    "trial_in_session jumps": (_cell("trial_in_session", "99"), "must count 1, 2, 3"),
    "second participant": (_cell("participant", "SIM999"), "one participant and session"),
    "BOM mid-file": (_cell("participant", "\ufeffSIM001"), "byte-order mark"),
    "session differs in a row": (_cell("session", "2"), "one participant and session"),
    "date differs in a row": (_cell("date", "2026-01-02_09h00.00.000"), "column date"),
    "experiment differs in a row": (_cell("experiment", "other"), "column experiment"),
    "seed differs in a row": (_cell("seed", "7"), "column seed"),
    "order differs in a row": (_cell("condition_order", ""), "column condition_order"),
    "simulated differs in a row": (_cell("simulated", "0"), "column simulated"),
    "prev_congruency on a first trial": (_cell("prev_congruency", "congruent", 1),
                                         "must be empty on a block's first trial"),
    "prev_congruency wrong": (
        _set_where("prev_congruency", lambda r: "congruent" if r["prev_congruency"] == "incongruent"
                   else "incongruent", is_practice="0", trial_in_block="!1"),
        "is not the congruency of the block's previous trial"),
    "correct but wrong key": (_set_where("response", lambda r: "q", timeout="0", correct="1"),
                              "must be 1 exactly when response = correct_response"),
    "incorrect but right key": (_set_where("correct", lambda r: "0", timeout="0", correct="1"),
                                "must be 1 exactly when response = correct_response"),
    "timeout with a response": (_set_where("timeout", lambda r: "1", timeout="0", correct="0"),
                                "timeout = 1 but rt_ms is not empty"),
    "empty response without timeout": (
        _set_where("response", lambda r: "", timeout="0", correct="0"),
        "must be 1 exactly when response is empty"),
    "congruency contradicts colours": (
        _set_where("congruency", lambda r: "congruent", congruency="incongruent"),
        "does not follow from word_colour and ink"),
    "run 0": (_cell("run", "0"), "run = '0' is below 1"),
    "run decreases": (_cell("run", "2", 1), "is lower than the run of the row before"),
    "block not a number": (_cell("block", "x"), "block = 'x' is not an integer"),
    "seed negative": (_cell("seed", "-1"), "seed = '-1' is below 0"),
    "seed 2^40": (_cell("seed", str(2**40)), "is above"),
    "simulated 2": (_cell("simulated", "2"), "simulated = '2' is above 1"),
    "is_practice 1.5": (_cell("is_practice", "1.5"), "is not an integer"),
    "speed 1e9": (_cell("speed_set_kmh", "1e9"), "is above 30"),
    "iti inf": (_cell("iti_s", "inf"), "iti_s = 'inf' is not a number"),
    "iti an hour": (_cell("iti_s", "3600"), "is above 60"),
    "dropped frames negative": (_cell("dropped_frames", "-1"), "is below 0"),
    "stim onset nan": (_cell("stim_onset_s", "nan"), "is not a number"),
    "condition jog": (_cell("condition", "jog"), "is not one of"),
    "ink purple": (_cell("ink", "purple"), "is not one of"),
    "accuracy code maybe": (_cell("accuracy_code", "maybe"), "is not one of"),
    "confidence 2": (_cell("voice_confidence", "2"), "is above 1"),
    "cell of 600 characters": (_cell("word", "W" * 600), "longer than 512 characters"),
    "cell of 200000 characters": (_cell("word", "W" * 200000), "not readable as CSV"),
    "NUL byte in a cell": (_cell("word", "RE\x00D"), "control character"),
    "bell character in a cell": (_cell("word", "RE\x07D"), "control character"),
    "newline in a cell": (_cell("word", "RE\nD"), "control character"),
    "planned trial twice": (
        _rows(lambda h, rows, r: rows[:3] + [rows[2][:h.index("trial_in_session")] + ["4"]
                                             + rows[2][h.index("trial_in_session") + 1:]]
              + [row[:h.index("trial_in_session")] + [str(int(row[h.index("trial_in_session")])
                                                           + 1)]
                 + row[h.index("trial_in_session") + 1:] for row in rows[3:]]),
        "repeats a planned trial"),
    "trial missing from its block": (
        _rows(lambda h, rows, r: rows[:2] + [
            row[:h.index("trial_in_session")] + [str(int(row[h.index("trial_in_session")]) - 1)]
            + row[h.index("trial_in_session") + 1:] for row in rows[3:]]),
        "has no row for the block's previous trial"),
    "row duplicated at the end": (_rows(lambda h, rows, r: rows + [rows[4]]), "trial_in_session"),
    "row deleted": (_rows(lambda h, rows, r: rows[:2] + rows[3:]), "trial_in_session"),
    "rows swapped": (_rows(lambda h, rows, r: rows[:2] + [rows[3], rows[2]] + rows[4:]),
                     "trial_in_session"),
    "row of another file appended": (
        _rows(lambda h, rows, r: rows + [read_table(trials_of(r, 1))[1][0]]), "participant"),
    "second file concatenated": (_rows(lambda h, rows, r: rows + [h] + rows),
                                 "is not an integer"),
    "extra field": (_rows(lambda h, rows, r: rows[:2] + [rows[2] + ["x"]] + rows[3:]),
                    "has 38 fields, the header has 37"),
    "missing field mid-file": (_rows(lambda h, rows, r: rows[:2] + [rows[2][:-1]] + rows[3:]),
                               "has 36 fields"),
    "empty file": (_bytes(lambda b: b""), "empty file"),
    "not UTF-8": (_bytes(lambda b: b.replace(b"SIM001", b"SIM\xe9001", 1)), "not UTF-8"),
    "binary garbage": (_bytes(lambda b: bytes(range(256)) * 4), "not UTF-8"),
    "column missing": (_rows(lambda h, rows, r: [row[:h.index("rt_ms")] + row[h.index("rt_ms") + 1:]
                                                 for row in [h] + rows][1:]),
                       "has 36 fields"),
    "header without rt_ms": (
        _bytes(lambda b: b.replace(b",rt_ms,", b",rt_mss,", 1)), "lacks column(s) rt_ms"),
    "header repeats a column": (
        _bytes(lambda b: b.replace(b"participant,", b"participant,participant,", 1)),
        "repeats column(s) participant"),
    "written before vocal responses": (
        _bytes(lambda b: b.replace(b"accuracy_code", b"acc_code", 1)), "older stroop-walk"),
    "edited after the session": (
        _cell("timestamp", "2026-01-01T09:00:59.000+00:00"), "edited after the session"),
    "blocks file edited": (
        lambda root: set_cell(sorted(root.rglob("*_blocks.csv"))[0], 1, "speed_actual_kmh", "2.5"),
        "edited after the session"),
    "sidecar of another participant": (_sidecar(participant="SIM777"),
                                       "differs from its sidecar"),
    "sidecar of another session": (_sidecar(session=2), "differs from its sidecar"),
    "sidecar says real": (_sidecar(simulated=False), "differs from its sidecar"),
    "sidecar of another order": (_sidecar(condition_order=["x", "y"]), "differs from its sidecar"),
    "sidecar not JSON": (
        lambda root: sorted(root.rglob("*_session.json"))[0].write_text("{oops"),
        "not a readable sidecar"),
    "sidecar a list": (
        lambda root: sorted(root.rglob("*_session.json"))[0].write_text("[]"), "not a sidecar"),
    "blocks speed inf": (
        lambda root: set_cell(sorted(root.rglob("*_blocks.csv"))[0], 1, "speed_actual_kmh",
                              "inf") or write_sidecar(trials_of(root)), "is not a number"),
    "blocks column missing": (
        lambda root: (p := sorted(root.rglob("*_blocks.csv"))[0]).write_bytes(
            p.read_bytes().replace(b"speed_actual_kmh", b"speed", 1))
        and write_sidecar(trials_of(root)), "lacks column"),
    "no trial files": (lambda root: [p.unlink() for p in root.rglob("*_trials.csv")],
                       "no *_trials.csv files"),
    # found by the issue-13 audit
    "rt in Arabic-Indic digits": (_cell("rt_ms", "\u0665\u0660\u0660", _responded),
                                  "is not a number"),
    "audio file on a keyboard trial": (_cell("audio_file", "x.wav"),
                                       "must be empty on a keyboard or button trial"),
    "session a fullwidth digit": (_cell("session", "\uff11"), "is not an integer"),
    "timestamp torn": (_cell("timestamp", "2026-01-01T09:0"), "is not of the form"),
    "date not a date": (_cell("date", "yesterday", row=1), "is not of the form"),
    "sidecar session as text": (_sidecar(session="1"), "key session = '1' is not a whole"),
    "sidecar participant a number": (_sidecar(participant=5), "key participant = 5 is not a"),
    "sidecar digests not text": (_sidecar(sha256={"x": 5}), "key sha256"),
    "trial file a link to nothing": (
        lambda root: (trials_of(root).parent / "gone_trials.csv").symlink_to(root / "nowhere"),
        "gone_trials.csv: cannot read"),
    "every session stopped before its first trial": (_stopped_before_first_trial,
                                                      "hold no trials"),
    "one trial file emptied after the session": (
        lambda root: trials_of(root).write_text(trials_of(root).read_text().splitlines()[0]
                                                + "\n"), "edited after the session"),
}


def run_analysis(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = analysis_cli.main(argv + ["--no-progress"])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def check_analysis(argv, root: Path, capsys, expected: str, code: int = 2) -> None:
    before = tree_digest(root)
    got, err = run_analysis(argv, capsys)
    assert_one_line_refusal(got, err, code, expected)
    assert tree_digest(root) == before, "a refused analysis changed or wrote files"


@pytest.mark.parametrize("name", list(DATA_CASES))
def test_bad_data(name, data, tmp_path, capsys):
    mutate, expected = DATA_CASES[name]
    mutate(data)
    check_analysis(["--data", str(data), "--out", str(tmp_path / "out")], tmp_path, capsys,
                   expected)


def test_edited_file_is_analysed_with_accept_edited(data, tmp_path, capsys):
    DATA_CASES["edited after the session"][0](data)
    from analysis.input.loader import load_trials
    loaded = load_trials(data, accept_edited=True)
    assert any("edited after the session" in n and "--accept-edited" in n for n in loaded.notes)


BAD_PLANS = [
    ("[trimming]\nk = nan\n", "trimming.k = nan is not a finite number"),
    ("[trimming]\nk = inf\n", "trimming.k = inf"),
    ("[trimming]\nmax_rt_ms = -inf\n", "trimming.max_rt_ms = -inf"),
    ("[trials]\nmin_rt_ms = nan\n", "trials.min_rt_ms = nan is not a finite number"),
    ("[participants]\nmin_accuracy = 2\n", "participants.min_accuracy = 2 is out of range"),
    ("[participants]\nmin_valid_trials = 2.5\n", "it must be an integer"),
    ("[foo]\nx = 1\n", "unknown table [foo]"),
    ("[trimming]\nx = 1\n", "trimming.x is unknown"),
    ("[trimming]\nmethod = \"median\"\n", "trimming.method = 'median' is not allowed"),
    ("[trimming]\nk = -1\n", "trimming.k = -1 is out of range"),
    ("[conditions]\nreference = \"swim\"\n", "conditions.reference = 'swim' is not allowed"),
    ("[report]\ntitle = \"a\\nb\"\n", "must be a one-line string"),
    ("[trimming\n", "not valid TOML"),
    ("trimming = 3\n", "plan key trimming must be a table"),
    (b"[report]\ntitle = \"\xff\"\n", "not UTF-8"),
]


@pytest.mark.parametrize("text,expected", BAD_PLANS, ids=range(len(BAD_PLANS)))
def test_bad_plan(text, expected, data, tmp_path, capsys):
    plan = _write(tmp_path / "plan.toml", text)
    check_analysis(["--data", str(data), "--out", str(tmp_path / "out"), "--plan", str(plan)],
                   tmp_path, capsys, expected)


def test_plan_missing_or_a_folder(data, tmp_path, capsys):
    for plan, expected in ((tmp_path / "nope.toml", "cannot read the plan"),
                           (tmp_path, "cannot read the plan")):
        check_analysis(["--data", str(data), "--out", str(tmp_path / "out"), "--plan",
                        str(plan)], tmp_path, capsys, expected)


OUT_CASES = {
    "out is a file": (lambda t: _write(t / "out", "mine"), "is a file, not a folder"),
    "out holds the user's files": (
        lambda t: _write(t / "out" / "tables" / "thesis.csv", "1").parent.parent, "pass --force"),
    "out inside the data folder": (lambda t: t / "data" / "results", "inside the data folder"),
    "out is the data folder": (lambda t: t / "data", "inside the data folder"),
}


@pytest.mark.parametrize("name", list(OUT_CASES))
def test_bad_output_folder(name, data, tmp_path, capsys):
    make_out, expected = OUT_CASES[name]
    out = make_out(tmp_path)
    check_analysis(["--data", str(data), "--out", str(out)], tmp_path, capsys, expected)


def test_bad_analysis_command_line(data, tmp_path, capsys):
    for argv, expected in ((["--bogus"], "unrecognized arguments"),
                           (["--data"], "expected one argument"),
                           (["--data", str(tmp_path / "nope")], "no such folder"),
                           (["--data", str(_write(tmp_path / "f.csv", "x"))], "no such folder")):
        check_analysis(argv + ["--out", str(tmp_path / "out")], tmp_path, capsys, expected)


def test_output_on_a_read_only_file_system(data, tmp_path, capsys):
    with tmpfs(tmp_path / "fs") as fs:
        _write(fs / "old" / "keep.txt", "x")
        remount(fs, "ro")
        before = tree_digest(fs)
        check_analysis(["--data", str(data), "--out", str(fs / "results")], data, capsys,
                       "cannot write in")
        assert tree_digest(fs) == before


def test_output_on_a_full_file_system_keeps_the_previous_output(data, tmp_path, capsys,
                                                                small_plan):
    """The disk fills while the new output is written: one line, the previous output (and
    the user's file in it) unchanged, no partial folder left."""
    with tmpfs(tmp_path / "fs", "2m") as fs:
        code, err = run_analysis(["--data", str(data), "--out", str(fs / "results")]
                                 + small_plan, capsys)
        assert code == 0, err
        _write(fs / "results" / "notes.md", "my notes")
        fill(fs)
        before = tree_digest(fs / "results")
        check_analysis(["--data", str(data), "--out", str(fs / "results")] + small_plan,
                       fs / "results", capsys, "No space left on device")
        assert tree_digest(fs / "results") == before
        assert sorted(p.name for p in fs.iterdir() if p.name.startswith(".")) == []


def test_user_file_named_like_an_output_is_not_overwritten(data, tmp_path, capsys, small_plan):
    out = tmp_path / "out"
    code, err = run_analysis(["--data", str(data), "--out", str(out)] + small_plan, capsys)
    assert code == 0, err
    manifest = json.loads((out / "analysis-manifest.json").read_text())
    del manifest["files"]["tables/descriptives.csv"]     # as if the user had put it there
    (out / "analysis-manifest.json").write_text(json.dumps(manifest))
    check_analysis(["--data", str(data), "--out", str(out)] + small_plan, tmp_path, capsys,
                   "was not written by this analysis")


def test_output_on_a_file_system_too_small_for_it_says_nothing_was_written(data, tmp_path,
                                                                          capsys, small_plan):
    """A first run on a disk too small for the output: one line that says nothing was written
    (not that a previous output, which never existed, is unchanged); no partial folder left."""
    with tmpfs(tmp_path / "fs", "64k") as fs:
        check_analysis(["--data", str(data), "--out", str(fs / "results")] + small_plan,
                       fs, capsys, f"nothing was written to {fs / 'results'}")
        assert not list(fs.iterdir())
