"""The project's model-fitting code reproduces a published lme4 analysis of real data.

Data: von Bastian, Souza & Gade (2016) colour Stroop, 121 participants, in
``../shared/reference-data/vonbastian2016/`` next to the repository (never copied into the
project). Numbers: the lme4 fits in tjmahr/stroop_slopes (README of the reference folder).
Under CI (``CI=true``) a missing folder fails the test; elsewhere it is skipped.
"""
from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

from analysis.statistics.models import fit_lmm, likelihood_ratio_test
from reference_data import CSV, SHA256, require_reference



def test_missing_reference_fails_under_ci_and_skips_elsewhere(tmp_path):
    missing = tmp_path / "vonbastian2016" / "LEF_stroop.csv"
    with pytest.raises(pytest.fail.Exception, match="reference data missing"):
        require_reference(missing, ci=True)
    with pytest.raises(pytest.skip.Exception, match="PerceptionCognitionLab/data0"):
        require_reference(missing, ci=False)


@pytest.fixture(scope="module")
def cleaned() -> pd.DataFrame:
    require_reference(CSV, ci=os.environ.get("CI", "").lower() == "true")
    raw = CSV.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHA256, "LEF_stroop.csv differs from the reference"
    d = pd.read_csv(CSV, sep=";")
    # the data owners' cleaning: correct trials, no neutral trials, 200 < RT < 2000 ms
    d = d[(d["accuracy"] == 1) & (d["congruency"] != "neutral") & (d["RT"] > 200)
          & (d["RT"] < 2000)]
    assert len(d) == 11245 and d["ID"].nunique() == 121
    return d


def _effect(fit):
    (name,) = [n for n in fit.params.index if n != "Intercept"]
    return name


def test_random_intercept_model(cleaned):
    """lme4: RT ~ congruency + (1 | ID), REML."""
    fit = fit_lmm(cleaned, "RT ~ congruency", "ID", None)
    eff = _effect(fit)
    assert fit.converged and not fit.singular
    assert fit.params["Intercept"] == pytest.approx(708.280, abs=0.01)
    assert fit.bse["Intercept"] == pytest.approx(9.230, abs=0.01)
    assert fit.params[eff] == pytest.approx(64.582, abs=0.01)
    assert fit.bse[eff] == pytest.approx(3.746, abs=0.01)
    assert fit.params[eff] / fit.bse[eff] == pytest.approx(17.24, abs=0.01)
    assert fit.reml_criterion == pytest.approx(151270.7, abs=0.1)
    assert fit.cov_re.iloc[0, 0] == pytest.approx(9478, rel=1e-3)
    assert fit.scale == pytest.approx(39404, rel=1e-4)


def test_random_slope_model(cleaned):
    """lme4: RT ~ congruency + (congruency | ID), REML."""
    fit = fit_lmm(cleaned, "RT ~ congruency", "ID", "~congruency")
    eff = _effect(fit)
    assert fit.converged and not fit.singular
    assert fit.params["Intercept"] == pytest.approx(708.266, abs=0.01)
    assert fit.bse["Intercept"] == pytest.approx(9.736, abs=0.01)
    assert fit.params[eff] == pytest.approx(64.680, abs=0.01)
    assert fit.bse[eff] == pytest.approx(4.274, abs=0.01)
    assert fit.reml_criterion == pytest.approx(151259.8, abs=0.1)
    cov = fit.cov_re.to_numpy()
    assert cov[0, 0] == pytest.approx(10641.5, rel=1e-3)
    assert cov[1, 1] == pytest.approx(517.7, rel=2e-3)
    assert fit.re_corr.iloc[0, 1] == pytest.approx(-0.56, abs=0.005)
    assert fit.scale == pytest.approx(39274.4, rel=1e-4)


def test_likelihood_ratio_test_with_ml_refits(cleaned):
    """lme4 anova() refits both models with ML: χ²(2) = 10.732, p = .0047."""
    reduced = fit_lmm(cleaned, "RT ~ congruency", "ID", None, reml=False)
    full = fit_lmm(cleaned, "RT ~ congruency", "ID", "~congruency", reml=False)
    lrt = likelihood_ratio_test(reduced, full)
    assert lrt["df"] == 2
    assert lrt["chi2"] == pytest.approx(10.732, abs=0.005)
    assert lrt["p"] == pytest.approx(0.0047, abs=0.00005)
    with pytest.raises(ValueError, match="ML"):
        likelihood_ratio_test(fit_lmm(cleaned, "RT ~ congruency", "ID", None), full)


def test_satterthwaite_df_equal_lmertest(cleaned):
    """lmerTest 3.1-3 (Debian), summary(lmer(...)), bobyqa with maxfun 1e5 (the default
    optimiser stops with max|grad| 0.0026 here): Satterthwaite df, SE and t."""
    slopes = fit_lmm(cleaned, "RT ~ congruency", "ID", "~congruency")
    eff = _effect(slopes)
    k = slopes.t_test([0.0, 1.0])
    assert slopes.df_method.startswith("Satterthwaite")
    assert k.df == pytest.approx(118.3757, abs=0.1)
    assert k.se == pytest.approx(4.273803, rel=1e-4)
    assert k.t == pytest.approx(15.13416, rel=1e-4)
    assert slopes.t_test([1.0, 0.0]).df == pytest.approx(120.0226, abs=0.1)
    assert slopes.bse[eff] == pytest.approx(4.273803, rel=1e-4)
    intercept = fit_lmm(cleaned, "RT ~ congruency", "ID", None)
    assert intercept.t_test([0.0, 1.0]).df == pytest.approx(11123.634, rel=1e-4)
    assert intercept.t_test([1.0, 0.0]).df == pytest.approx(130.0736, abs=0.1)
