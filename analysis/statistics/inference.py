"""The small inference formulas every statistics module shares: t (and z) intervals, two-sided
p values, the one-sample t test and the Wald χ² test. Units are those of the estimates given
(ms for RT differences, log units for model coefficients).

A z interval or test is the t one at ``df`` = ∞ (the normal distribution), as statsmodels'
Wald tests are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def t_quantile(df: float, level: float = 0.95) -> float:
    """The two-sided critical value of a ``level`` interval: t quantile at ``df`` degrees
    of freedom, the normal quantile when ``df`` is infinite; NaN when ``df`` < 1."""
    q = 0.5 + level / 2
    if math.isinf(df):
        return float(stats.norm.ppf(q))
    return float(stats.t.ppf(q, df))


def t_interval(estimate, se, df: float, level: float = 0.95) -> tuple:
    """(low, high) of the ``level`` interval estimate ± t_quantile(df) × se, in the units of
    ``estimate``. ``estimate`` and ``se`` may be floats or aligned arrays/Series."""
    h = t_quantile(df, level) * se
    return estimate - h, estimate + h


def two_sided_p(statistic: float, df: float) -> float:
    """Two-sided p of a t statistic at ``df`` (a z statistic when ``df`` is infinite); NaN
    for a non-finite statistic."""
    if not math.isfinite(statistic):
        return float("nan")
    if math.isinf(df):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))


@dataclass(frozen=True)
class TTest:
    """A 1-df test that a quantity is 0: estimate, SE, df (inf: a z test), t, two-sided p,
    and the CI (95% unless the producer says otherwise), in the units of the estimate."""
    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class OneSampleT(TTest):
    """One-sample t test of mean 0 (``estimate``: the sample mean) with its t interval, the
    sample size ``n`` and SD ``sd`` (units of the sample); ``df`` = n − 1. NaN where n < 2
    (or sd = 0 for ``t``, ``p``)."""
    n: int = 0
    sd: float = float("nan")

    @property
    def mean(self) -> float:
        """The sample mean (= ``estimate``)."""
        return self.estimate

    @property
    def cohen_dz(self) -> float:
        """Mean / SD (NaN when the SD is 0 or undefined)."""
        return self.mean / self.sd if self.sd > 0 else float("nan")


def one_sample_t(x, level: float = 0.95) -> OneSampleT:
    """:class:`OneSampleT` of the finite values of ``x`` (e.g. paired differences, ms)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    nan = float("nan")
    m = float(x.mean()) if n else nan
    if n < 2:
        return OneSampleT(m, nan, float(n - 1), nan, nan, nan, nan, n=n, sd=nan)
    sd = float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    t = m / se if se > 0 else nan
    low, high = t_interval(m, se, n - 1, level)
    return OneSampleT(m, se, float(n - 1), t, two_sided_p(t, n - 1), low, high, n=n, sd=sd)


@dataclass(frozen=True)
class WaldTest:
    """Joint Wald test that every estimate is 0: χ² = b' V⁻¹ b on ``df`` = len(b), p."""
    chi2: float
    df: int
    p: float


def wald_test(estimates, cov) -> WaldTest:
    """:class:`WaldTest` of ``estimates`` (length k) with covariance ``cov`` (k × k; solved
    by least squares, so a singular covariance still gives a statistic)."""
    b = np.asarray(estimates, dtype=float)
    if b.size == 0:
        return WaldTest(float("nan"), 0, float("nan"))
    v = np.atleast_2d(np.asarray(cov, dtype=float))
    chi2 = float(b @ np.linalg.lstsq(v, b, rcond=None)[0])
    return WaldTest(chi2, len(b), float(stats.chi2.sf(chi2, len(b))))
