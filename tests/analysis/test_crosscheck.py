"""`python -m analysis.crosscheck`: our statistics next to R's (afex, emmeans, lmerTest,
geepack) on the cleaned trials the pipeline wrote. Needs Rscript with those packages
(`make setup` installs them as root); skipped without Rscript unless CI=true."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.crosscheck import compare, target

REPO = Path(__file__).resolve().parents[2]
VONBASTIAN = REPO.parent / "shared" / "reference-data" / "vonbastian2016" / "LEF_stroop.csv"


def require_r() -> None:
    if shutil.which("Rscript"):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Rscript not found under CI: make setup installs R (as root)")
    pytest.skip("Rscript not found (install r-base-core r-cran-afex r-cran-lmertest "
                "r-cran-emmeans r-cran-geepack r-cran-jsonlite)")


def test_targets_and_labels():
    assert target("df2", 23.0, 23.09).tolerance == pytest.approx(0.1)
    assert target("df", 11123.6, 11123.2).tolerance == pytest.approx(1.11236)
    assert target("p GG", 0.5, 0.5).tolerance == 1e-3
    assert target("partial η²", 0.3, 0.3).tolerance == pytest.approx(3e-5)
    ours = pd.DataFrame({"analysis": ["a", "a"], "term": ["x", "x"],
                         "statistic": ["F", "p"], "value": [10.0, 0.5]})
    r = ours.assign(value=[10.01, 0.5])
    table = compare(ours, r).set_index("statistic")
    assert table.at["F", "status"] == "DIFFERS" and table.at["p", "status"] == "ok"


def crosscheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.crosscheck", *args], cwd=cwd,
                          capture_output=True, text=True)


@pytest.mark.slow
def test_crosscheck_example_data_agrees_with_r(tmp_path):
    require_r()
    plan = REPO / "analysis" / "plans" / "crosscheck_example.toml"
    out = tmp_path / "example"
    subprocess.run([sys.executable, "-m", "analysis", "--data", str(REPO / "data" / "example"),
                    "--out", str(out), "--plan", str(plan), "--no-progress"], cwd=REPO,
                   check=True, capture_output=True)
    proc = crosscheck("--results", str(out), "--plan", str(plan), cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    table = pd.read_csv(out / "crosscheck.csv")
    assert (table["status"] == "ok").all(), table[table["status"] != "ok"]
    analyses = set(table["analysis"])
    assert {"rm-ANOVA", "contrast (means)", "design LMM F", "primary LMM contrast",
            "Cousineau–Morey CI", "accuracy GEE"} <= analyses
    key = table[(table["analysis"] == "primary LMM contrast")
                & (table["term"] == "backward vs forward") & (table["statistic"] == "df")]
    assert len(key) == 1 and 20 < key["r"].iloc[0] < 24   # Satterthwaite, N = 24


@pytest.mark.slow
def test_crosscheck_foreign_factorial_design(tmp_path):
    require_r()
    if not VONBASTIAN.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"reference data missing: {VONBASTIAN}")
        pytest.skip(f"reference data missing: {VONBASTIAN}")
    plan = REPO / "analysis" / "plans" / "crosscheck_vonbastian_factorial.toml"
    proc = crosscheck("--vonbastian", str(VONBASTIAN), "--plan", str(plan),
                      "--out", str(tmp_path), cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    table = pd.read_csv(tmp_path / "crosscheck.csv")
    ok = table["status"] == "ok"
    labelled = table["status"].str.startswith("by design")
    assert (ok | labelled).all()
    aov = table[table["analysis"] == "rm-ANOVA"]
    assert set(aov["term"]) == {"congruency", "half", "congruency × half"}
    assert (aov["status"] == "ok").all()


@pytest.mark.slow
def test_crosscheck_session_as_a_factor_with_a_named_contrast(tmp_path):
    """Session as a within factor (levels 1, 2: afex calls them X1, X2 in its emmeans grid,
    which the R side used to miss, so every contrast came back empty and R stopped)."""
    require_r()
    import numpy as np
    rng = np.random.default_rng(8)
    rows = []
    for i in range(10):
        off = rng.normal(0, 60)
        for ses in (1, 2):
            for t in range(40):
                kind = ("congruent", "incongruent")[t % 2]
                rt = 620 + off + 60 * (kind == "incongruent") - 25 * (ses == 2) \
                    + rng.normal(0, 70) + rng.exponential(100)
                rows.append((f"s{i:02d}", ses, kind, round(rt, 1), int(rng.random() > 0.05)))
    data = tmp_path / "stroop.csv"
    pd.DataFrame(rows, columns=["id", "ses", "type", "rt", "acc"]).to_csv(data, index=False)
    (tmp_path / "m.toml").write_text(
        '[participant]\ncolumn = "id"\n[session]\ncolumn = "ses"\n[rt]\ncolumn = "rt"\n'
        'unit = "ms"\n[accuracy]\ncolumn = "acc"\n[factors.congruency]\ncolumn = "type"\n')
    plan = tmp_path / "p.toml"
    plan.write_text('[design]\nfactors = ["congruency", "session"]\n'
                    '[design.levels]\ncongruency = ["congruent", "incongruent"]\n'
                    '[[contrasts.named]]\nname = "Stroop effect, session 2 vs 1"\n'
                    'congruency = ["incongruent", "congruent"]\nsession = ["2", "1"]\n'
                    '[[exclusions.rules]]\nrule = "errors"\n')
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "analysis", "--data", str(data), "--columns",
                    str(tmp_path / "m.toml"), "--out", str(out), "--plan", str(plan),
                    "--no-progress"], cwd=REPO, check=True, capture_output=True)
    proc = crosscheck("--results", str(out), "--plan", str(plan), cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    table = pd.read_csv(out / "crosscheck.csv")
    assert (table["status"] == "ok").all(), table[table["status"] != "ok"]
    contrast = table[table["analysis"] == "contrast (means)"]
    assert set(contrast["term"]) == {"Stroop effect, session 2 vs 1"} and len(contrast) == 7
