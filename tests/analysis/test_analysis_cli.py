"""`python -m analysis` end to end on codebook files: outputs, determinism, bad input."""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis_data import write_dataset
from door_support import tree_digest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """8 simulated participants, congruent and incongruent trials, 2 blocks per condition."""
    root = tmp_path_factory.mktemp("cli") / "data"
    write_dataset(root, n_participants=8, trials_per_block=24, blocks_per_condition=2,
                  congruency_mix={"incongruent": 0.5, "congruent": 0.5}, practice_trials=4,
                  seed=7, condition_sd_s=0.02)
    return root


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("plan") / "plan.toml"
    p.write_text("[participants]\nmin_valid_trials = 10\n")
    return p


@pytest.fixture(scope="module")
def two_runs(mixed, plan_file, tmp_path_factory):
    before = tree_digest(mixed)
    outs = []
    for i in range(2):
        out = tmp_path_factory.mktemp(f"run{i}") / "results"
        assert main(["--data", str(mixed), "--out", str(out), "--plan", str(plan_file),
                     "--no-progress"]) == 0
        outs.append(out)
    assert tree_digest(mixed) == before, "the analysis wrote into the data folder"
    return outs


EXPECTED_TABLES = {"exclusions", "participants", "descriptives", "lmm_model",
                   "lmm_fixed_effects", "lmm_condition_means", "lmm_contrasts",
                   "sensitivity_untrimmed", "rm_anova", "paired_contrasts", "accuracy_model",
                   "interference", "congruency_by_condition", "interference_contrasts",
                   "dte_summary", "dte_per_participant", "order_effects", "rt_by_position",
                   "timing_qa"}
EXPECTED_FIGURES = {"rt_by_condition", "rt_distributions", "accuracy_by_condition",
                    "dte_per_participant", "interference_by_condition"}


def test_every_table_and_figure_is_written(two_runs):
    out = two_runs[0]
    tables = {p.stem for p in (out / "tables").glob("*.csv")}
    assert tables == EXPECTED_TABLES
    for name in tables:
        for ext in (".md", ".tex"):
            assert (out / "tables" / f"{name}{ext}").stat().st_size > 0
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert figures == EXPECTED_FIGURES
    assert {p.stem for p in (out / "figures").glob("*.svg")} == EXPECTED_FIGURES
    contrasts = pd.read_csv(out / "tables" / "lmm_contrasts.csv")
    assert list(contrasts["contrast"]) == ["forward vs stand", "backward vs stand",
                                           "backward vs forward"]
    assert contrasts["key"].tolist() == [False, False, True]
    assert (contrasts["p_adj"] >= contrasts["p"]).all()
    dte = (out / "tables" / "dte_summary.md").read_text()
    assert "positive = slower than the reference" in dte
    assert "\\begin{table}" in (out / "tables" / "descriptives.tex").read_text()


def test_same_inputs_give_byte_identical_tables_and_svgs(two_runs):
    a, b = two_runs
    ta, tb = tree_digest(a / "tables"), tree_digest(b / "tables")
    assert ta and ta == tb
    sa = {k: v for k, v in tree_digest(a / "figures").items() if k.endswith(".svg")}
    sb = {k: v for k, v in tree_digest(b / "figures").items() if k.endswith(".svg")}
    assert sa and sa == sb
    assert (a / "report.md").read_text().replace(str(a), "") == \
        (b / "report.md").read_text().replace(str(b), "")


def test_report_holds_everything(two_runs, mixed):
    out = two_runs[0]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "**SIMULATED DATA**" in md
    for heading in ("Descriptives", "Primary model", "Sensitivity analysis", "ANOVA",
                    "Accuracy", "Interference", "Dual-task effect", "order and block",
                    "Provenance"):
        assert heading in md, heading
    # one explanation per figure, one provenance row (sha256) per input file
    assert md.count("**Figure ") == len(EXPECTED_FIGURES)
    for f in mixed.rglob("*_trials.csv"):
        assert hashlib.sha256(f.read_bytes()).hexdigest() in md
    assert "min_valid_trials = 10" in md and "statsmodels" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(EXPECTED_FIGURES)
    assert 'src="figures/' not in html and "<table>" in html


def test_bad_file_gives_one_line_error_and_exit_2(mixed, tmp_path):
    data = tmp_path / "data"
    write_dataset(data, n_participants=2, trials_per_block=6, blocks_per_condition=1, seed=2)
    bad = sorted(data.rglob("*_trials.csv"))[1]
    lines = bad.read_text().splitlines()
    lines[3] = lines[3].replace(",keyboard,keyboard,", ",keyboard,keypad,,", 1)
    bad.write_text("\n".join(lines) + "\n")
    before = tree_digest(data)
    proc = subprocess.run([sys.executable, "-m", "analysis", "--data", str(data), "--out",
                           str(tmp_path / "out"), "--no-progress"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in proc.stderr
    assert str(bad) in err and "row 3" in err
    assert not (tmp_path / "out").exists()
    assert tree_digest(data) == before

    # with --skip-bad-files the rest is analysed and the skipped file is in the report
    plan = tmp_path / "plan.toml"
    plan.write_text("[participants]\nmin_valid_trials = 2\n")
    code = main(["--data", str(data), "--out", str(tmp_path / "out"), "--plan", str(plan),
                 "--skip-bad-files", "--no-progress"])
    assert code == 0
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Skipped files" in md and bad.name in md and "row 3" in md


def test_out_inside_data_and_bad_plan_are_errors(mixed, tmp_path, capsys):
    before = tree_digest(mixed)
    assert main(["--data", str(mixed), "--out", str(mixed / "results")]) == 2
    assert "inside the data folder" in capsys.readouterr().err
    plan = tmp_path / "p.toml"
    plan.write_text("[trimming]\nmethod = 'winsor'\n")
    assert main(["--data", str(mixed), "--out", str(tmp_path / "o"), "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"error: .*p\.toml: plan key trimming\.method = 'winsor'", err)
    assert tree_digest(mixed) == before


def test_walking_only_incongruent_only_real_data(tmp_path):
    """Conditions forward/backward only (reference = forward), one congruency level, real
    (simulated = 0) data: no interference tables, no SIMULATED header."""
    data = tmp_path / "data"
    write_dataset(data, n_participants=5, conditions=("backward", "forward"),
                  trials_per_block=16, blocks_per_condition=1, seed=9, simulated=0,
                  prefix="P")
    plan = tmp_path / "plan.toml"
    plan.write_text("[participants]\nmin_valid_trials = 8\n[trimming]\nmethod = 'sd'\n")
    out = tmp_path / "out"
    assert main(["--data", str(data), "--out", str(out), "--plan", str(plan),
                 "--no-progress"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "SIMULATED" not in md
    assert "no standing condition" in md
    assert "no interference score" in md
    assert not (out / "tables" / "interference.csv").exists()
    fe = pd.read_csv(out / "tables" / "lmm_fixed_effects.csv")
    assert list(fe["term"]) == ["intercept (forward)", "backward vs forward"]
    dte = pd.read_csv(out / "tables" / "dte_summary.csv")
    assert list(dte["condition"]) == ["backward"] and (dte["reference"] == "forward").all()
