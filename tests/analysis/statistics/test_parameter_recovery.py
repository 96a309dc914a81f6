"""Parameter recovery: the full analysis finds the condition effects the simulator put in.

Each repetition writes a 24-participant dataset with the example-data generator (the
session's own writer; 48 incongruent trials per condition, the config's simulated
participant with random intercepts and condition slopes) under a new seed, runs the full
analysis (``python -m analysis``'s ``main``) on the files, and reads the primary model's
contrasts from ``tables/lmm_contrasts.csv``.

The truth on the model's scale (the population mean of log RT per condition after the
analysis plan's exclusions) is computed by Monte Carlo from the same generative model with
the analysis's own exclusion rules (``analysis.power.valid_trials``), 4000 participants:
its Monte-Carlo SE (≈ 0.001 log units) is small next to the contrasts' SEs (≈ 0.015).

Checks: the mean estimate over repetitions is near the truth (log scale and back-transformed
ms); the back-transformed differences are near the generator's nominal mean-RT shifts; the
standardised errors (estimate − truth) / SE have mean ≈ 0 and SD ≈ 1; the 95% CIs cover the
truth in about 95% of the 3 × REPS intervals. Seeds are fixed, so the outcome is
deterministic: it changes only when the code does.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.power import simulate_trials, valid_trials
from experiment.simulation.example_data import example_config, generate, rt_model

pytestmark = pytest.mark.slow

REPS = 12
PARTICIPANTS = 24
CONDITION_SD_S = 0.02
CONTRASTS = (("backward", "forward"), ("forward", "stand"), ("backward", "stand"))
FIRST_SEED = 9100


def _one_rep(args: tuple[int, str]) -> pd.DataFrame:
    """Generate one dataset, run the full analysis, return its contrasts table."""
    from analysis.__main__ import main
    seed, root = args
    data, out = Path(root) / f"data-{seed}", Path(root) / f"out-{seed}"
    generate(data, PARTICIPANTS, seed=seed, condition_sd_s=CONDITION_SD_S)
    assert main(["--data", str(data), "--out", str(out), "--no-progress"]) == 0
    table = pd.read_csv(out / "tables" / "lmm_contrasts.csv")
    table["seed"] = seed
    table["structure"] = pd.read_csv(out / "tables" / "lmm_model.csv").set_index(
        "item").at["random effects", "value"]
    return table


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Scratch space in RAM (/dev/shm) when there is one: the session writer fsyncs every
    row, which costs seconds per dataset on a busy disk and has no use here."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        root = Path(tempfile.mkdtemp(prefix="stroop-recovery-", dir=shm))
        yield root
        shutil.rmtree(root, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("recovery")


@pytest.fixture(scope="module")
def estimates(workdir) -> pd.DataFrame:
    jobs = [(FIRST_SEED + r, str(workdir)) for r in range(REPS)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        tables = list(pool.map(_one_rep, jobs))
    return pd.concat(tables, ignore_index=True)


@pytest.fixture(scope="module")
def truth() -> dict[str, float]:
    """Population mean log RT per condition under the plan's exclusions (Monte Carlo)."""
    config = example_config()
    model = rt_model(config, CONDITION_SD_S)
    per_condition = config.design.blocks_per_condition * config.design.trials_per_block
    trials = simulate_trials(model, 4000, per_condition, seed=424242, rep=0,
                             window_s=config.timing.response_window_s)
    valid = valid_trials(trials)
    logs = (np.log(valid["rt_ms"]).groupby([valid["participant"], valid["condition"]],
                                          observed=True).mean().unstack())
    return {c: float(logs[c].mean()) for c in ("stand", "forward", "backward")}


def test_estimates_centre_on_the_truth(estimates, truth):
    assert len(estimates) == 3 * REPS
    for a, b in CONTRASTS:
        rows = estimates[estimates["contrast"] == f"{a} vs {b}"]
        assert len(rows) == REPS
        true_log = truth[a] - truth[b]
        true_ms = math.exp(truth[a]) - math.exp(truth[b])
        se_mean = rows["se"].mean() / math.sqrt(REPS)
        assert rows["estimate_log"].mean() == pytest.approx(true_log, abs=3.5 * se_mean), (a, b)
        # back-transformed (ms at the model's geometric means)
        assert rows["diff_ms"].mean() == pytest.approx(true_ms, abs=3.5 * se_mean * 800), (a, b)


def test_back_transformed_differences_match_the_generators_shifts(estimates):
    """Nominal mean-RT shifts of the config: forward +50 ms, backward +30 ms vs standing.
    The model's geometric-mean differences are somewhat smaller (RTs are right-skewed and the
    slow tail is trimmed), so the tolerance is 30% of the shift plus 6 ms."""
    shifts = dict(example_config().simulation.condition_shift_s)
    for a, b in CONTRASTS:
        nominal = (shifts[a] - shifts[b]) * 1000.0
        got = estimates.loc[estimates["contrast"] == f"{a} vs {b}", "diff_ms"].mean()
        assert got == pytest.approx(nominal, abs=0.3 * abs(nominal) + 6.0), (a, b, got)


def summary(estimates: pd.DataFrame, truth: dict[str, float]) -> pd.DataFrame:
    """Per contrast: truth, mean estimate (log and ms), SD of estimates, mean SE, coverage."""
    rows = []
    for a, b in CONTRASTS:
        r = estimates[estimates["contrast"] == f"{a} vs {b}"]
        t = truth[a] - truth[b]
        rows.append({"contrast": f"{a} vs {b}", "true_log": t, "mean_est_log": r["estimate_log"].mean(),
                     "sd_est_log": r["estimate_log"].std(), "mean_se_log": r["se"].mean(),
                     "true_ms": math.exp(truth[a]) - math.exp(truth[b]),
                     "mean_est_ms": r["diff_ms"].mean(),
                     "coverage": ((np.log(r["ratio_ci_low"]) <= t)
                                  & (t <= np.log(r["ratio_ci_high"]))).mean()})
    return pd.DataFrame(rows)


def test_standard_errors_and_ci_coverage_are_calibrated(estimates, truth):
    print("\n" + summary(estimates, truth).to_string(index=False, float_format="%.4f"))
    true_log = estimates["contrast"].map(
        {f"{a} vs {b}": truth[a] - truth[b] for a, b in CONTRASTS})
    z = (estimates["estimate_log"] - true_log) / estimates["se"]
    assert abs(z.mean()) < 0.6, f"standardised errors: mean {z.mean():.2f}"
    assert 0.6 < z.std() < 1.5, f"standardised errors: SD {z.std():.2f} (SEs miscalibrated)"
    lo, hi = np.log(estimates["ratio_ci_low"]), np.log(estimates["ratio_ci_high"])
    covered = ((lo <= true_log) & (true_log <= hi)).mean()
    # 36 intervals (3 per repetition, dependent): nominal 0.95; < 0.8 means CIs too narrow
    assert covered >= 0.8, f"95% CI coverage {covered:.2f} over {len(estimates)} intervals"
    # the CI in ms is the back-transformed log CI: it holds the estimate
    assert ((estimates["ci_low_ms"] <= estimates["diff_ms"])
            & (estimates["diff_ms"] <= estimates["ci_high_ms"])).all()
