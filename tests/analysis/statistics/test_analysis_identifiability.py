"""Models the data cannot identify are not reported: one participant, fewer participants
than random-effect parameters, singular fits; the report says which model and why."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.statistics.models import NotIdentifiable, fit_condition_lmm
from analysis.pipeline import run
from analysis.input.plan import plan_from_dict
from analysis_data import write_dataset

LENIENT = plan_from_dict({"participants": {"min_valid_trials": 5}})


def trials(n: int, seed: int = 3, slope_sd: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        off = rng.normal(0, 0.1)
        for c in ("stand", "forward", "backward"):
            mu = 6.5 + off + rng.normal(0, slope_sd) + {"stand": 0, "forward": 0.05,
                                                         "backward": 0.03}[c]
            rows += [{"participant": f"P{i:02d}", "condition": c,
                      "rt_ms": float(np.exp(mu + rng.normal(0, 0.2)))} for _ in range(30)]
    return pd.DataFrame(rows)


def test_one_participant_has_no_mixed_model():
    with pytest.raises(NotIdentifiable, match="with one participant there is no "
                                              "between-participant variance"):
        fit_condition_lmm(trials(1))


def test_structures_with_more_parameters_than_participants_are_skipped():
    fit = fit_condition_lmm(trials(4, slope_sd=0.05))
    # 3 conditions: correlated slopes have 6 parameters; 4 participants cannot identify them
    assert fit.fallback_reason.startswith(
        "slopes: not fitted, 6 random-effect parameters but only 4 participants")
    assert fit.structure != "slopes" and fit.fit.ok


def test_singular_fits_fall_back_and_are_explained():
    # no participant-specific condition effects at all: the slope variances are 0
    fit = fit_condition_lmm(trials(12, slope_sd=0.0))
    assert fit.structure in ("pruned", "intercept")
    assert "slopes: singular" in fit.fallback_reason
    assert all(a.singular for a in fit.attempts[:-1])
    assert fit.fit.ok and fit.fit.df_method.startswith("Satterthwaite")


def test_one_participant_report_reads_sensibly(tmp_path):
    data = tmp_path / "data"
    write_dataset(data, n_participants=1, trials_per_block=12, blocks_per_condition=1,
                  practice_trials=2, seed=4)
    res = run(data, tmp_path / "out", LENIENT, progress=False)
    assert res.primary is None and res.untrimmed is None
    names = {t.name for t in res.tables}
    assert "participant_summary" in names and "descriptives" in names
    assert not names & {"lmm_model", "lmm_contrasts", "rm_anova", "accuracy_model"}
    summary = res.table("participant_summary").frame
    assert list(summary["condition"]) == ["stand", "forward", "backward"]
    valid = res.prepared.test[res.prepared.test["valid"]]
    assert summary["mean_rt_ms"].to_numpy() == pytest.approx(
        valid.groupby("condition", observed=True)["rt_ms"].mean().to_numpy())
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert ("The mixed model log(rt_ms) ~ condition was not fitted: with one participant "
            "there is no between-participant variance to estimate") in report
    assert "The rm-ANOVA was not fitted: it needs two conditions and at least two " \
           "participants" in report
    assert "The accuracy model (GEE) was not fitted" in report
    assert "Per-participant summary (no model fitted)" in report
    # no inferential statistic of a model that was not fitted
    assert "converged" not in report and "Primary contrast" not in report
