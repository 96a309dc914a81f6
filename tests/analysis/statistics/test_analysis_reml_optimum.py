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
