"""The condition LMM (fit_condition_lmm) and the general wrapper (fit_lmm): real statsmodels fits."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.statistics.models import (ConditionFit, adjust_p, fit_condition_lmm, fit_lmm,
                                        likelihood_ratio_test, wald_test)
from analysis.statistics.simulation import RTModel

CONDITIONS = ("stand", "forward", "backward")


def simulated_trials(n_participants: int, n_trials: int, seed: int, condition_sd_s: float,
                     shift_s: dict[str, float] | None = None) -> pd.DataFrame:
    """Valid trials (ms) drawn from the ex-Gaussian model, with optional random slopes."""
    model = RTModel(condition_shift_s=shift_s or {"stand": 0.0, "forward": 0.06,
                                                  "backward": 0.03})
    rng = np.random.default_rng(seed)
    frames = []
    for p in range(n_participants):
        off = model.participant_offset_s(rng)
        for c in CONDITIONS:
            slope = rng.normal(0, condition_sd_s) if condition_sd_s else 0.0
            mu = np.full(n_trials, model._mu(c, "incongruent", off + slope))
            frames.append(pd.DataFrame({"participant": f"P{p:02d}", "condition": c,
                                        "rt_ms": model.rts_s(rng, mu) * 1000}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def slopes_fit() -> tuple[pd.DataFrame, ConditionFit]:
    trials = simulated_trials(20, 60, seed=11, condition_sd_s=0.04)
    return trials, fit_condition_lmm(trials)


def test_primary_structure_and_estimates(slopes_fit):
    trials, fit = slopes_fit
    assert fit.structure == "slopes" and fit.fallback is None and fit.fallback_reason is None
    assert fit.conditions == CONDITIONS and fit.reference == "stand"
    assert fit.fit.converged and not fit.fit.singular
    assert fit.fit.cov_re.shape == (3, 3) and fit.fit.n_obs == len(trials)
    assert fit.fit.n_groups == 20
    # forward was simulated 60 ms slower than standing (mean ~770 ms): a ratio near 1.08
    fwd = fit.contrast("forward", "stand")
    assert 1.02 < fwd.ratio < 1.14 and fwd.p < 0.05


def test_same_model_through_the_formula_wrapper(slopes_fit):
    trials, fit = slopes_fit
    d = trials.assign(log_rt=np.log(trials["rt_ms"]))
    ref = fit_lmm(d, "log_rt ~ C(condition, Treatment('stand'))", "participant",
                  "~C(condition, Treatment('stand'))")
    names = {"Intercept": "Intercept",
             "condition[forward]": "C(condition, Treatment('stand'))[T.forward]",
             "condition[backward]": "C(condition, Treatment('stand'))[T.backward]"}
    for ours, theirs in names.items():
        assert ref.params[theirs] == pytest.approx(fit.fit.params[ours], abs=1e-5)
        assert ref.bse[theirs] == pytest.approx(fit.fit.bse[ours], rel=1e-3)
    assert ref.reml_criterion == pytest.approx(fit.fit.reml_criterion, abs=1e-3)


def test_contrast_arithmetic(slopes_fit):
    _, fit = slopes_fit
    a = fit.contrast("backward", "forward")
    b = fit.contrast("forward", "backward")
    assert a.estimate == pytest.approx(-b.estimate) and a.se == pytest.approx(b.se)
    assert a.ratio == pytest.approx(math.exp(a.estimate))
    assert a.ci_low < a.estimate < a.ci_high
    assert a.ratio_ci_low == pytest.approx(math.exp(a.ci_low))
    assert a.ms_diff == pytest.approx(a.gm_b_ms * (a.ratio - 1))
    assert a.gm_a_ms == pytest.approx(math.exp(fit.fit.params["Intercept"]
                                               + fit.fit.params["condition[backward]"]))
    assert (a.p < 0.05) == (a.ms_ci_high < 0 or a.ms_ci_low > 0)
    vs_ref = fit.contrast("forward", "stand")
    assert vs_ref.estimate == pytest.approx(fit.fit.params["condition[forward]"])
    assert vs_ref.se == pytest.approx(fit.fit.bse["condition[forward]"])
    pw = fit.pairwise()
    assert len(pw) == 3 and (pw["p_adj"] >= pw["p"] - 1e-15).all()
    assert np.allclose(pw["p_adj"], adjust_p(pw["p"], "holm"))
    wt = wald_test(fit.fit, ["condition[forward]"])
    assert wt["chi2"] == pytest.approx(vs_ref.t ** 2) and wt["df"] == 1
    means = fit.condition_means()
    assert list(means["condition"]) == list(CONDITIONS)
    assert (means["ci_low_ms"] < means["gm_ms"]).all()


def test_fallback_when_random_slopes_have_no_variance():
    # every participant has the same trial-level residuals, shifted by a participant
    # offset: the condition slopes vary not at all, so the slopes fit is singular
    one = simulated_trials(1, 40, seed=5, condition_sd_s=0.0)
    offsets = np.random.default_rng(6).normal(0, 60, 12)
    trials = pd.concat([one.assign(participant=f"P{i:02d}", rt_ms=one["rt_ms"] + off)
                        for i, off in enumerate(offsets)], ignore_index=True)
    fit = fit_condition_lmm(trials)
    assert fit.fallback in ("uncorrelated", "pruned", "intercept")
    assert fit.structure == fit.fallback
    assert fit.fallback_reason.startswith("slopes: ")
    assert fit.attempts[0].singular or not fit.attempts[0].converged
    assert len(fit.attempts) >= 2


def test_structures_and_reference_choice():
    trials = simulated_trials(8, 20, seed=2, condition_sd_s=0.0)
    fit = fit_condition_lmm(trials, reference="forward", structures=("intercept",))
    assert fit.structure == "intercept" and fit.fallback is None
    assert fit.conditions == ("forward", "stand", "backward")
    assert list(fit.fit.params.index) == ["Intercept", "condition[stand]", "condition[backward]"]
    with pytest.raises(ValueError, match="reference condition 'left' not in the data"):
        fit_condition_lmm(trials, reference="left")
    with pytest.raises(ValueError, match="at least two conditions"):
        fit_condition_lmm(trials[trials["condition"] == "stand"])
    with pytest.raises(ValueError, match="structures"):
        fit_condition_lmm(trials, structures=("random",))
    with pytest.raises(ValueError, match="> 0"):
        fit_condition_lmm(trials.assign(rt_ms=trials["rt_ms"] - 5000))


def test_categorical_order_is_respected():
    trials = simulated_trials(6, 10, seed=4, condition_sd_s=0.0)
    trials["condition"] = pd.Categorical(trials["condition"],
                                         categories=["backward", "stand", "forward"])
    fit = fit_condition_lmm(trials, structures=("intercept",))
    assert fit.conditions == ("stand", "backward", "forward")


def test_lrt_needs_ml_and_counts_parameters():
    trials = simulated_trials(10, 20, seed=8, condition_sd_s=0.03)
    d = trials.assign(log_rt=np.log(trials["rt_ms"]))
    small = fit_lmm(d, "log_rt ~ condition", "participant", None, reml=False)
    big = fit_lmm(d, "log_rt ~ condition", "participant", "~condition", reml=False)
    lrt = likelihood_ratio_test(small, big)
    assert lrt["df"] == 5 and lrt["chi2"] == pytest.approx(2 * (big.llf - small.llf))
    assert math.isnan(small.reml_criterion) and big.deviance == pytest.approx(-2 * big.llf)
