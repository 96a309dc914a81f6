"""The shared inference formulas against scipy's and statsmodels' own tests."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.input.plan import PRIMARY_CONTRAST, condition_pairs
from analysis.statistics.inference import (one_sample_t, t_interval, t_quantile, two_sided_p,
                                           wald_test)


@pytest.mark.parametrize("n, shift", [(2, 0.3), (7, 12.0), (40, -0.05)])
def test_one_sample_t_is_scipys(n, shift):
    x = np.random.default_rng(n).normal(shift, 1.0, n)
    ref = stats.ttest_1samp(x, 0.0)
    ci = ref.confidence_interval(0.95)
    r = one_sample_t(x)
    assert (r.n, r.df) == (n, n - 1)
    assert r.mean == pytest.approx(x.mean(), rel=1e-12)
    assert r.sd == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert r.t == pytest.approx(ref.statistic, rel=1e-10)
    assert r.p == pytest.approx(ref.pvalue, rel=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.cohen_dz == pytest.approx(x.mean() / x.std(ddof=1), rel=1e-12)


def test_one_sample_t_drops_non_finite_values_and_needs_two():
    r = one_sample_t([1.0, np.nan, 3.0, np.inf])
    assert r.n == 2 and r.mean == 2.0 and r.t == pytest.approx(2.0)
    one = one_sample_t([5.0])
    assert one.mean == 5.0 and all(math.isnan(v) for v in (one.sd, one.t, one.p, one.ci_low))
    flat = one_sample_t([2.0, 2.0, 2.0])
    assert flat.sd == 0 and math.isnan(flat.t) and math.isnan(flat.cohen_dz)


def test_t_interval_at_infinite_df_is_the_normal_interval():
    assert t_quantile(math.inf) == stats.norm.ppf(0.975)
    assert t_quantile(10, 0.9) == pytest.approx(stats.t.ppf(0.95, 10), rel=1e-14)
    est = pd.Series([1.0, -2.0])
    se = pd.Series([0.5, 0.25])
    low, high = t_interval(est, se, math.inf, 0.99)
    z = stats.norm.ppf(0.995)
    assert list(low) == pytest.approx(list(est - z * se))
    assert list(high) == pytest.approx(list(est + z * se))


def test_two_sided_p_is_t_or_normal():
    assert two_sided_p(-2.1, 9) == pytest.approx(2 * stats.t.sf(2.1, 9), rel=1e-14)
    assert two_sided_p(2.1, math.inf) == pytest.approx(2 * stats.norm.sf(2.1), rel=1e-14)
    assert math.isnan(two_sided_p(float("nan"), 5))


def test_wald_test_is_statsmodels():
    rng = np.random.default_rng(3)
    X = sm.add_constant(rng.normal(size=(80, 3)))
    y = X @ np.array([1.0, 0.3, 0.0, -0.2]) + rng.normal(size=80)
    fit = sm.OLS(y, X).fit()
    R = np.eye(4)[1:]
    ref = fit.wald_test(R, use_f=False, scalar=True)
    w = wald_test(R @ fit.params, R @ fit.cov_params() @ R.T)
    assert w.df == 3
    assert w.chi2 == pytest.approx(float(ref.statistic), rel=1e-10)
    assert w.p == pytest.approx(float(ref.pvalue), rel=1e-8)
    empty = wald_test([], np.zeros((0, 0)))
    assert empty.df == 0 and math.isnan(empty.chi2)


def test_condition_pairs_read_the_primary_contrast_its_way():
    assert PRIMARY_CONTRAST == ("backward", "forward")
    assert condition_pairs(("stand", "forward", "backward")) == [
        ("forward", "stand"), ("backward", "stand"), ("backward", "forward")]
    assert condition_pairs(("stand", "backward", "forward")) == [
        ("backward", "stand"), ("forward", "stand"), ("backward", "forward")]
    assert condition_pairs(("a", "b", "c")) == [("b", "a"), ("c", "a"), ("c", "b")]
