"""The REML optimiser reaches lme4's optimum where a gradient method stops on the boundary.

A random-effect column of Λ equal to 0 is a stationary point of the REML deviance, so an
L-BFGS-B run whose first step lands on the bound θ = 0 used to stay there: the uncorrelated
structure came out singular (both slope variances 0) with a REML criterion 6.2 above lme4's,
and the fallback chain then dropped the slopes and tested with residual df. Pinned numbers:
R 4.2.2, lme4 1.1-31, lmerTest 3.1-3 (Debian), on the data ``null_trials()`` writes:

    d$y <- log(d$rt_ms); d$fwd <- d$condition == "forward"; d$bwd <- d$condition == "backward"
    m <- lmer(y ~ fwd + bwd + (1 + fwd + bwd || participant), d, REML = TRUE)   # or `|`
    REMLcrit(m); getME(m, "theta"); sigma(m)
    contest(m, matrix(c(0, -1, 1), nrow = 1), joint = FALSE, ddf = "Satterthwaite")

For the correlated structure lme4's bobyqa stops short at a singular fit (REML criterion
−339.633); its default optimiser (nloptwrap) reaches −343.4203, pinned here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.statistics.models import fit_condition_lmm
from analysis.statistics.satterthwaite import VarianceModel, group_stats

CONDITIONS = np.array(["stand", "forward", "backward"])


def null_trials(seed: int = 113, participants: int = 12, trials: int = 20) -> pd.DataFrame:
    """Log-normal RTs (ms) without a condition effect: participant SD 0.1, participant ×
    condition SD 0.03, residual SD 0.18 (log scale); one row per trial."""
    rng = np.random.default_rng(seed)
    cond = np.tile(np.repeat([0, 1, 2], trials), participants)
    part = np.repeat(np.arange(participants), 3 * trials)
    u = rng.normal(0, 0.1, participants)[part]
    s = rng.normal(0, 0.03, (participants, 3))[part, cond]
    y = 6.4 + u + s + rng.normal(0, 0.18, len(cond))
    return pd.DataFrame({"participant": [f"P{p:02d}" for p in part],
                         "condition": CONDITIONS[cond], "rt_ms": np.exp(y)})


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return null_trials()


def test_uncorrelated_fit_leaves_the_boundary_and_equals_lmertest(trials):
    fit = fit_condition_lmm(trials, structures=("uncorrelated",))
    assert fit.structure == "uncorrelated" and not fit.fit.singular and fit.fit.converged
    assert fit.fit.reml_criterion == pytest.approx(-341.9364963, abs=1e-6)
    sigma = 0.1813600568
    theta = np.array([0.8492371529, 0.2967073327, 0.2152218771])
    np.testing.assert_allclose(fit.fit.re_sd.to_numpy(), theta * sigma, rtol=1e-4)
    assert fit.fit.scale ** 0.5 == pytest.approx(sigma, rel=1e-6)
    c = fit.contrast("backward", "forward")
    assert c.estimate == pytest.approx(-0.02687779284, rel=1e-8)
    assert c.se == pytest.approx(0.02534479475, rel=1e-4)
    assert c.df == pytest.approx(14.12780201, abs=0.01)
    assert c.p == pytest.approx(0.3067177746, abs=1e-4)


def test_the_boundary_point_is_worse_than_the_fit(trials):
    """The point the old optimiser returned (both slope SDs 0, intercept SD optimised) has a
    higher deviance than the fit: dropping the slopes there would not be lme4's model."""
    y = np.log(trials["rt_ms"].to_numpy())
    cond = trials["condition"].to_numpy()
    X = np.column_stack([np.ones(len(y)), cond == "forward", cond == "backward"]).astype(float)
    vm = VarianceModel(group_stats(y, X, X, trials["participant"].to_numpy()), True)
    phi, converged = vm.fit()
    assert converged
    on_bound = min((vm.profiled_deviance(np.array([t, 0.0, 0.0])) for t in
                    np.linspace(0.5, 1.2, 141)))
    assert vm.profiled_deviance(phi[:-1]) < on_bound - 5.0
    assert vm.profiled_deviance(phi[:-1]) == pytest.approx(-341.9364963, abs=1e-6)


def test_primary_fit_equals_lme4_default_optimiser(trials):
    fit = fit_condition_lmm(trials)
    assert fit.structure == "slopes" and fit.fallback is None
    assert fit.fit.reml_criterion == pytest.approx(-343.4202894, abs=1e-5)
    c = fit.contrast("backward", "forward")
    assert c.estimate == pytest.approx(-0.02687779284, rel=1e-8)
    assert c.se == pytest.approx(0.02530785299, rel=1e-4)
    assert c.df == pytest.approx(10.99884771, abs=0.01)


def three_level_trials(seed: int = 24, participants: int = 8, trials: int = 12):
    """Log RTs of a 3-level within factor (``cond`` 0/1/2), few participants: participant SD
    0.07, participant × level SD 0.03, residual normal SD 0.16 plus an exponential tail."""
    rng = np.random.default_rng(seed)
    cond = np.tile(np.repeat([0, 1, 2], trials), participants)
    part = np.repeat(np.arange(participants), 3 * trials)
    u = rng.normal(0, 0.07, participants)[part]
    s = rng.normal(0, 0.03, (participants, 3))[part, cond]
    y = (6.5 + u + s + 0.03 * (cond == 2) + rng.normal(0, 0.16, len(cond))
         + rng.exponential(0.05, len(cond)))
    return y, cond, part


def test_a_run_that_stops_short_of_a_stationary_point_is_continued():
    """Here one L-BFGS-B run ended with 'relative reduction of f' after a trial step to
    θ ≈ 1e11, at a gradient of order 10 and a REML criterion 1.7 above lme4's. Pinned to lme4
    (same versions as above), sum-coded (contr.sum), uncorrelated slopes:

        d$c1 <- (d$cond == 0) - (d$cond == 2); d$c2 <- (d$cond == 1) - (d$cond == 2)
        m <- lmer(y ~ c1 + c2 + (1 + c1 + c2 || participant), d, REML = TRUE)
        REMLcrit(m); getME(m, "theta")    # bobyqa and nloptwrap agree
    """
    y, cond, part = three_level_trials()
    X = np.column_stack([np.ones(len(y)), (cond == 0) * 1.0 - (cond == 2),
                         (cond == 1) * 1.0 - (cond == 2)])
    vm = VarianceModel(group_stats(y, X, X, part), True)
    phi, converged = vm.fit()
    assert converged
    assert vm.profiled_deviance(phi[:-1]) == pytest.approx(-167.2624991, abs=1e-6)
    np.testing.assert_allclose(phi[:-1], [0.2000850919, 0.2982889167, 0.2282185428],
                               rtol=1e-4)
    assert np.exp(phi[-1]) == pytest.approx(0.1696543432, rel=1e-6)
    assert vm._stationary(phi[:-1], np.ones(3, dtype=bool))
