"""The shipped simulated example dataset: reproducible byte for byte, and in the codebook's format."""
from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from experiment.core.config import load_config, preset_path
from experiment.core.design import williams_orders
from experiment.simulation.example_data import generate, main
from experiment.core.records import BLOCK_COLUMNS, TRIAL_COLUMNS

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "data" / "example" / "simulated-24"
SEED = 1729  # as in data/example/README.md
REGENERATE = ("python -m experiment.example_data --out data/example/simulated-24 "
              "--participants 24 --seed 1729 --replace")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The dataset written again, in RAM (/dev/shm) when possible: the session writer
    fsyncs every row, slow on a busy disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        root = Path(tempfile.mkdtemp(prefix="stroop-example-", dir=shm))
    else:
        root = tmp_path_factory.mktemp("example")
    out = root / "simulated-24"
    assert main(["--out", str(out), "--participants", "24", "--seed", str(SEED),
                 "--workers", "2"]) == 0
    yield out
    shutil.rmtree(root, ignore_errors=True)


def test_regenerating_with_the_same_seed_reproduces_the_shipped_files(regenerated):
    shipped, again = _files(EXAMPLE), _files(regenerated)
    assert shipped, f"no example data in {EXAMPLE}; generate it: {REGENERATE}"
    assert sorted(again) == sorted(shipped), f"file sets differ; regenerate: {REGENERATE}"
    differ = [name for name in shipped if shipped[name] != again[name]]
    assert not differ, f"{len(differ)} files differ, e.g. {differ[0]}; regenerate: {REGENERATE}"


def test_another_seed_gives_other_data(tmp_path):
    generate(tmp_path / "a", participants=2, seed=SEED + 1)
    ours = sorted((tmp_path / "a").rglob("*_trials.csv"))
    shipped = sorted(EXAMPLE.rglob("*_trials.csv"))[:2]
    assert len(ours) == 2
    for a, b in zip(ours, shipped):
        assert a.read_bytes() != b.read_bytes()


def test_the_dataset_is_small_and_labelled_simulated():
    size = sum(len(b) for b in _files(EXAMPLE).values())
    assert size < 3_000_000, f"example data is {size / 1e6:.1f} MB; keep it small"
    assert "simulated" in EXAMPLE.name
    assert "SIMULATED" in (EXAMPLE.parent / "README.md").read_text(encoding="utf-8")


def test_files_follow_the_codebook():
    config = load_config(preset_path("example"))
    d, t = config.design, config.timing
    trial_files = sorted(EXAMPLE.glob("*/*_trials.csv"))
    assert len(trial_files) == 24
    orders = Counter()
    for path in trial_files:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert tuple(header) == TRIAL_COLUMNS, path
        rows = _rows(path)
        stem = path.name[: -len("_trials.csv")]
        blocks_path = path.with_name(stem + "_blocks.csv")
        with open(blocks_path, newline="", encoding="utf-8") as fh:
            assert tuple(next(csv.reader(fh))) == BLOCK_COLUMNS
        sidecar = json.loads(path.with_name(stem + "_session.json").read_text(encoding="utf-8"))
        assert sidecar["status"] == "complete" and sidecar["simulated"] is True
        assert stem == f"{sidecar['participant']}_stroop-walk_s1_{sidecar['date']}"
        test = [r for r in rows if r["is_practice"] == "0"]
        practice = [r for r in rows if r["is_practice"] == "1"]
        assert Counter(r["condition"] for r in test) == {
            c: d.blocks_per_condition * d.trials_per_block for c in d.conditions}
        assert len(practice) % config.practice.trials == 0 and practice
        assert [int(r["trial_in_session"]) for r in rows] == list(range(1, len(rows) + 1))
        onsets = [float(r["stim_onset_s"]) for r in rows]
        assert onsets == sorted(onsets)
        for r in rows:
            assert r["simulated"] == "1" and r["seed"] == str(sidecar["seed"])
            assert r["condition_order"] == "-".join(sidecar["condition_order"])
            assert r["timeout"] in ("0", "1") and r["correct"] in ("0", "1")
            assert abs(float(r["stim_onset_s"]) - float(r["fixation_onset_s"]) - t.fixation_s) < 0.02
            if r["timeout"] == "1":
                assert r["rt_ms"] == "" and r["response"] == "" and r["correct"] == "0"
            else:
                assert 150 <= float(r["rt_ms"]) < t.response_window_s * 1000
                assert (r["response"] == r["correct_response"]) == (r["correct"] == "1")
        orders["-".join(sidecar["condition_order"])] += 1
    # the Williams design: each of the 6 orders of 3 conditions equally often
    assert len(orders) == len(williams_orders(d.conditions)) == 6
    assert set(orders.values()) == {4}


def test_the_analysis_loader_reads_the_example():
    from analysis.input.loader import load_trials
    loaded = load_trials(EXAMPLE, progress=False)
    trials = loaded.trials
    assert trials["participant"].nunique() == 24
    assert (trials["simulated"] == 1).all()
