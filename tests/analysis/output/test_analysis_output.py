"""The analysis output folder: never deletes or overwrites what the analysis did not write,
is replaced only by a complete output, and survives a kill at any instant."""
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

from analysis.__main__ import main
from analysis_data import write_dataset
from door_support import tree_digest

REPO = Path(__file__).resolve().parents[3]
MANIFEST = "analysis-manifest.json"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("outdata") / "data"
    write_dataset(root, n_participants=6, trials_per_block=12, blocks_per_condition=1,
                  practice_trials=4, seed=11)
    return root


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("outplan") / "plan.toml"
    p.write_text("[participants]\nmin_valid_trials = 5\n")
    return p


def analyse(data: Path, out: Path, plan: Path, *extra: str) -> int:
    return main(["--data", str(data), "--out", str(out), "--plan", str(plan), "--no-progress",
                 *extra])


def assert_complete_output(out: Path, user_files: dict[str, str] | None = None) -> None:
    """``out`` is one run's complete output: every file its manifest lists, with that
    content, plus exactly the user's files; nothing else."""
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert {"report.md", "report.html", "tables/descriptives.csv"} <= set(manifest)
    for rel, digest in manifest.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest, rel
    present = set(tree_digest(out)) - {MANIFEST}
    assert present == set(manifest) | set(user_files or {}), present ^ set(manifest)
    for rel, text in (user_files or {}).items():
        assert (out / rel).read_text() == text


def test_rerun_keeps_the_users_files_and_drops_only_its_own_stale_outputs(data, plan, tmp_path):
    out = tmp_path / "results"
    assert analyse(data, out, plan) == 0
    assert_complete_output(out)
    mine = {"tables/thesis_table.csv": "my,table\n", "notes.md": "my notes\n",
            "figures/sketch.svg": "<svg/>"}
    for rel, text in mine.items():
        (out / rel).write_text(text)
    # a table an earlier run wrote that this run will not write again: ours to remove
    (out / "tables" / "old_result.csv").write_text("x\n")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"]["tables/old_result.csv"] = hashlib.sha256(b"x\n").hexdigest()
    (out / MANIFEST).write_text(json.dumps(manifest))
    tables_before = {k: v for k, v in tree_digest(out).items() if k.endswith(".csv")
                     and k.startswith("tables/") and k != "tables/thesis_table.csv"
                     and k != "tables/old_result.csv"}
    assert analyse(data, out, plan) == 0
    assert not (out / "tables" / "old_result.csv").exists()
    assert_complete_output(out, mine)
    after = tree_digest(out)
    assert {k: after[k] for k in tables_before} == tables_before   # deterministic tables
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_force_adds_results_to_a_folder_it_did_not_write(data, plan, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.md").write_text("text")
    (out / "report.md").write_text("the user's own report")
    assert analyse(data, out, plan) == 2                   # refused without --force
    assert analyse(data, out, plan, "--force") == 0
    assert (out / "chapter1.md").read_text() == "text"
    assert (out / "report.md").read_text() != "the user's own report"   # named like an output
    assert_complete_output(out, {"chapter1.md": "text"})


def test_an_empty_existing_folder_is_used(data, plan, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert analyse(data, out, plan) == 0
    assert_complete_output(out)


KILL_DELAYS_S = [0.0, 0.3, 0.8, 1.5, 2.5, 4.0]


@pytest.mark.slow
def test_kill_during_the_analysis_leaves_a_complete_output(data, plan, tmp_path):
    """SIGKILL at several instants while the analysis writes over a previous output: the
    folder is always one complete output (the previous one or the new one), with the
    user's file; the next run removes the abandoned partial folders."""
    out = tmp_path / "results"
    assert analyse(data, out, plan) == 0
    (out / "notes.md").write_text("mine")
    outcomes = []
    for delay in KILL_DELAYS_S:
        proc = subprocess.Popen([sys.executable, "-m", "analysis", "--data", str(data), "--out",
                                 str(out), "--plan", str(plan), "--no-progress"], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".results.partial-*")) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes.append(proc.returncode)
        assert_complete_output(out, {"notes.md": "mine"})
    assert -signal.SIGKILL in outcomes, "every run finished before it could be killed"
    assert analyse(data, out, plan) == 0
    assert_complete_output(out, {"notes.md": "mine"})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], \
        "abandoned partial folders were not removed"
    assert os.listdir(tmp_path) == ["results"]


def test_out_as_a_link_to_a_folder_replaces_the_folder_and_keeps_the_link(data, plan, tmp_path):
    """A user's ``results -> /elsewhere/results`` link: the run is written into the folder
    it points to; the link stays a link, the user's files stay in that folder."""
    real = tmp_path / "elsewhere" / "results"
    real.parent.mkdir()
    assert analyse(data, real, plan) == 0
    mine = {"thesis_table.csv": "my,table\n", "tables/notes.md": "my notes\n"}
    for rel, text in mine.items():
        (real / rel).write_text(text)
    link = tmp_path / "results"
    link.symlink_to(real, target_is_directory=True)
    assert analyse(data, link, plan) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert_complete_output(real, mine)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not [p for p in real.parent.iterdir() if p.name.startswith(".")]


def test_out_as_a_link_to_nothing_is_refused(data, plan, tmp_path, capsys):
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "missing")
    assert analyse(data, link, plan) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err
    assert link.is_symlink() and not (tmp_path / "missing").exists()
