"""Linear mixed models on response times: a thin wrapper over statsmodels ``MixedLM``.

Two entry points:

* :func:`fit_lmm` — any formula, one grouping factor, optional random-effects formula; the
  result (:class:`LmmFit`) exposes what a methods section needs (fixed effects, SEs, CIs,
  variance components, REML criterion, convergence and singularity flags).
* :func:`fit_condition_lmm` — the study's primary model, trial-level
  ``log(rt_ms) ~ condition`` with a random intercept and condition slopes per participant
  (lme4: ``log(rt) ~ condition + (condition | participant)``), with a documented fallback
  when that fit is singular or does not converge:

  1. ``"slopes"`` (primary): intercept + condition slopes, unstructured covariance;
  2. ``"uncorrelated"``: the same random effects with their correlations fixed at 0
     (lme4 ``||``);
  3. ``"intercept"``: random intercept only.

  A structure with more random-effect parameters than there are participants is skipped
  (not identifiable). The first structure that converges and is not singular is used;
  ``ConditionFit.fallback`` names it when it is not the primary one (``None`` otherwise),
  ``fallback_reason`` says why each earlier one was left. When no structure gives an
  identified fit (one participant, or every structure singular or skipped),
  :class:`NotIdentifiable` is raised with a one-sentence reason.

Tests of fixed effects and contrasts are t and F tests with Satterthwaite degrees of freedom
(as lmerTest; :mod:`analysis.statistics.satterthwaite`), and the fixed-effect covariance is lme4's
(X'V⁻¹X)⁻¹. A fit without them (singular or not converged) falls back to Wald z tests,
named in ``LmmFit.df_method``.

No I/O, no global state: the power analysis calls :func:`fit_condition_lmm` thousands of
times. Units: RT in **milliseconds**; model coefficients are on the natural-log scale, so a
contrast estimate is a log ratio and ``exp(estimate)`` the ratio of geometric means.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

from analysis.statistics import inference
from analysis.statistics.inference import TTest, t_interval, two_sided_p
from analysis.statistics.satterthwaite import (FTest, Satterthwaite, VarianceModel, group_stats,
                                               satterthwaite, satterthwaite_at)

#: Condition order used when the trials do not give one (categorical dtype) — the codebook's.
CANONICAL_CONDITIONS = ("stand", "forward", "backward", "left", "right")

#: A random-effects structure is singular when a diagonal entry of the Cholesky factor of
#: the relative covariance (cov_re / residual variance) falls below this (lme4's default).
SINGULAR_TOL = 1e-4

STRUCTURES = ("slopes", "uncorrelated", "intercept")


#: How the tests of a fit with Satterthwaite df are described in tables and the report.
SATTERTHWAITE = "Satterthwaite df (as lmerTest), t and F tests"
WALD = "Wald z tests (no Satterthwaite df: the fit is singular or did not converge)"


class NotIdentifiable(ValueError):
    """The data cannot identify the model; the message is one sentence saying why."""


@dataclass(frozen=True)
class LmmFit:
    """One fitted mixed model. Fixed effects are on the scale of the response."""
    formula: str
    group: str
    re_formula: str | None
    reml: bool
    params: pd.Series           # fixed effects, by name
    bse: pd.Series              # their standard errors
    conf_int: pd.DataFrame      # Wald 95% CIs: columns 'lower', 'upper'
    cov_params: pd.DataFrame    # covariance of the fixed effects
    cov_re: pd.DataFrame        # random-effects covariance (response scale, squared units)
    scale: float                # residual variance
    llf: float                  # log-likelihood (REML log-likelihood when reml)
    n_obs: int
    n_groups: int
    converged: bool
    singular: bool
    warnings: tuple[str, ...] = ()
    result: object = field(default=None, repr=False, compare=False)  # statsmodels result
    small_sample: Satterthwaite | None = field(default=None, repr=False, compare=False)

    @property
    def df_method(self) -> str:
        """The tests this fit gives: Satterthwaite t/F or (without them) Wald z."""
        return SATTERTHWAITE if self.small_sample is not None else WALD

    def t_test(self, L: Sequence[float]) -> TTest:
        """Test of L β = 0 (L: one weight per fixed effect): Satterthwaite t when available,
        else a Wald z test (``df`` = inf)."""
        L = np.asarray(L, dtype=float)
        if self.small_sample is not None:
            return self.small_sample.t_test(L)
        est = float(L @ self.params.to_numpy())
        se = float(math.sqrt(max(L @ self.cov_params.to_numpy() @ L, 0.0)))
        z = est / se if se > 0 else float("nan")
        low, high = t_interval(est, se, math.inf)
        return TTest(est, se, float("inf"), z, two_sided_p(z, math.inf), low, high)

    def f_test(self, L) -> FTest:
        """Joint test of the rows of L: Satterthwaite F, else Wald χ²/q with df2 = inf."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if self.small_sample is not None:
            return self.small_sample.f_test(L)
        w = inference.wald_test(L @ self.params.to_numpy(), L @ self.cov_params.to_numpy() @ L.T)
        return FTest(F=w.chi2 / w.df, df1=w.df, df2=float("inf"), p=w.p)

    @property
    def reml_criterion(self) -> float:
        """-2 × REML log-likelihood (lme4's "REML criterion at convergence"); NaN for ML."""
        return -2.0 * self.llf if self.reml else float("nan")

    @property
    def deviance(self) -> float:
        """-2 × log-likelihood (ML fits; for REML fits this is the REML criterion)."""
        return -2.0 * self.llf

    @property
    def re_sd(self) -> pd.Series:
        """Standard deviations of the random effects."""
        return pd.Series(np.sqrt(np.diag(self.cov_re.to_numpy())), index=self.cov_re.index)

    @property
    def re_corr(self) -> pd.DataFrame:
        """Correlations of the random effects (NaN where a variance is 0)."""
        sd = self.re_sd.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.cov_re.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(corr, index=self.cov_re.index, columns=self.cov_re.columns)

    @property
    def ok(self) -> bool:
        return self.converged and not self.singular


@dataclass(frozen=True)
class Contrast(TTest):
    """Condition a vs condition b on the log-RT scale (the :class:`TTest` fields), with
    back-transformed values.

    ``estimate`` = log(GM_a / GM_b) where GM is the model's geometric-mean RT;
    ``ratio`` = exp(estimate); ``ms_diff`` = GM_b × (ratio − 1), the difference in ms at the
    model's geometric-mean RT of b (CI from the ratio CI, so it excludes 0 iff p < .05).
    ``t`` and ``df``: Satterthwaite t test (``df`` = inf: a Wald z test, see
    ``LmmFit.df_method``).
    """
    a: str
    b: str
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    gm_a_ms: float
    gm_b_ms: float
    ms_diff: float
    ms_ci_low: float
    ms_ci_high: float


@dataclass(frozen=True)
class ConditionFit:
    """The primary model ``log(rt_ms) ~ condition`` and what it says about the conditions."""
    fit: LmmFit
    reference: str
    conditions: tuple[str, ...]         # reference first, then the others in order
    structure: str                      # 'slopes', 'uncorrelated' or 'intercept'
    fallback: str | None                # structure used when not the primary; None otherwise
    fallback_reason: str | None         # why the primary (and any earlier fallback) was left
    attempts: tuple[LmmFit, ...] = field(default=(), repr=False, compare=False)

    def _vector(self, condition: str) -> np.ndarray:
        """Contrast vector giving the log geometric mean of ``condition``."""
        if condition not in self.conditions:
            raise KeyError(f"condition {condition!r} not in the model; "
                           f"have {', '.join(self.conditions)}")
        v = np.zeros(len(self.fit.params))
        v[0] = 1.0
        if condition != self.reference:
            v[list(self.fit.params.index).index(_coef_name(condition))] = 1.0
        return v

    def contrast(self, a: str, b: str) -> Contrast:
        """Condition ``a`` vs ``b``: t test on the log ratio (``LmmFit.t_test``), 95% CIs."""
        beta = self.fit.params.to_numpy()
        va, vb = self._vector(a), self._vector(b)
        k = self.fit.t_test(va - vb)
        est, se, lo, hi = k.estimate, k.se, k.ci_low, k.ci_high
        gm_a, gm_b = float(np.exp(va @ beta)), float(np.exp(vb @ beta))
        ratio, rlo, rhi = math.exp(est), math.exp(lo), math.exp(hi)
        return Contrast(a=a, b=b, estimate=est, se=se, df=k.df, t=k.t, p=k.p,
                        ci_low=lo, ci_high=hi,
                        ratio=ratio, ratio_ci_low=rlo, ratio_ci_high=rhi,
                        gm_a_ms=gm_a, gm_b_ms=gm_b, ms_diff=gm_b * (ratio - 1),
                        ms_ci_low=gm_b * (rlo - 1), ms_ci_high=gm_b * (rhi - 1))

    def pairwise(self, adjust: str = "holm") -> pd.DataFrame:
        """Every pair (later condition vs earlier one in ``conditions``), one row each, with
        ``p_adj`` corrected over all pairs (``adjust``: 'holm', 'bonferroni' or 'none')."""
        pairs = [(self.conditions[j], self.conditions[i])
                 for i in range(len(self.conditions))
                 for j in range(i + 1, len(self.conditions))]
        rows = [self.contrast(a, b).__dict__ for a, b in pairs]
        out = pd.DataFrame(rows, columns=list(Contrast.__dataclass_fields__))
        out["p_adj"] = adjust_p(out["p"].to_numpy(), adjust) if len(out) else []
        return out

    def condition_means(self) -> pd.DataFrame:
        """Model geometric-mean RT (ms) per condition with 95% CI (back-transformed, t
        with Satterthwaite df). Columns: condition, log_gm, se, df, gm_ms, ci_low_ms,
        ci_high_ms."""
        rows = []
        for c in self.conditions:
            k = self.fit.t_test(self._vector(c))
            rows.append({"condition": c, "log_gm": k.estimate, "se": k.se, "df": k.df,
                         "gm_ms": math.exp(k.estimate), "ci_low_ms": math.exp(k.ci_low),
                         "ci_high_ms": math.exp(k.ci_high)})
        return pd.DataFrame(rows)


def adjust_p(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p values ('holm', 'bonferroni' or 'none'); NaNs pass through."""
    p = np.asarray(p, dtype=float)
    if method == "none" or p.size == 0:
        return p.copy()
    from statsmodels.stats.multitest import multipletests
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def _relative_cholesky_singular(cov_re: np.ndarray, scale: float) -> bool:
    if cov_re.size == 0:
        return False
    rel = cov_re / scale
    k = rel.shape[0]
    if not np.all(np.isfinite(rel)):
        return True
    try:
        chol = np.linalg.cholesky(rel + np.eye(k) * 1e-14)
    except np.linalg.LinAlgError:
        return True
    return bool(np.min(np.abs(np.diag(chol))) < SINGULAR_TOL)


def _fit_result(model: MixedLM, reml: bool, free=None, start=None):
    """Fit and collect the warnings (as strings) instead of printing them."""
    # BFGS with a tighter gradient tolerance than scipy's 1e-5 reaches lme4's optimum on
    # flat REML surfaces (e.g. variance components of correlated random slopes); if it
    # fails, statsmodels' own sequence (bfgs, lbfgs, cg) gets a second go.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(reml=reml, free=free, start_params=start, method="bfgs", gtol=1e-6)
    if not res.converged:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model.fit(reml=reml, free=free, start_params=start)
    msgs = []
    for w in caught:
        msg = str(w.message)
        # statsmodels' boundary check uses an absolute 0.01 on the variances, meaningless
        # for log RT; singularity is judged by _relative_cholesky_singular instead.
        if "boundary of the parameter space" in msg:
            continue
        if msg not in msgs:
            msgs.append(msg)
    return res, tuple(msgs)


def _to_fit(res, formula: str, group: str, re_formula: str | None, reml: bool,
            msgs: tuple[str, ...], fe_names: Sequence[str], re_names: Sequence[str],
            diagonal: bool = False) -> LmmFit:
    """Collect a statsmodels result; a converged, non-singular REML fit gets Satterthwaite
    df and lme4's fixed-effect covariance (X'V⁻¹X)⁻¹ (``diagonal``: uncorrelated random
    effects)."""
    k_fe = len(fe_names)
    params = pd.Series(np.asarray(res.fe_params, dtype=float), index=list(fe_names))
    cov_fe = np.asarray(res.cov_params())[:k_fe, :k_fe]
    cov_re = pd.DataFrame(np.asarray(res.cov_re, dtype=float),
                          index=list(re_names), columns=list(re_names))
    scale, llf = float(res.scale), float(res.llf)
    with np.errstate(invalid="ignore"):
        converged = bool(res.converged) and bool(np.all(np.isfinite(np.diag(cov_fe)))) \
            and bool(np.all(np.diag(cov_fe) >= 0))
    better = _reml_optimum(res, diagonal, converged) if reml else None
    if better is not None:
        params[:] = better.beta
        cov_re.iloc[:, :] = better.cov_re
        scale, llf, converged = better.scale, better.llf, better.converged
        msgs = msgs + ("statsmodels stopped short of the REML optimum; the variance "
                       "parameters were optimised further on the REML criterion",)
    singular = _relative_cholesky_singular(cov_re.to_numpy(), scale)
    small = None
    if reml and converged and not singular:
        m = res.model
        try:
            small = satterthwaite(m.endog, m.exog, m.exog_re, m.groups, params.to_numpy(),
                                  cov_re.to_numpy(), scale, diagonal=diagonal)
            cov_fe = small.vcov
        except (ValueError, np.linalg.LinAlgError):
            small = None
    return _assemble(formula, group, re_formula, reml, params, cov_fe, cov_re, scale, llf,
                     res.model.nobs, res.model.n_groups, converged, singular, msgs, res, small,
                     fe_names, re_names)


@dataclass(frozen=True)
class _Optimum:
    beta: np.ndarray
    cov_re: np.ndarray
    scale: float
    llf: float
    converged: bool


def _reml_optimum(res, diagonal: bool, converged: bool) -> _Optimum | None:
    """The REML optimum when statsmodels stopped short of it, else None.

    statsmodels' optimisers can stop on flat REML surfaces, away from the optimum (measured
    on von Bastian congruency × half with four correlated random effects: REML criterion
    −561.36 against lme4's −564.94, at a singular optimum), and then a fit looks
    identified when it is not. The REML criterion (:mod:`analysis.statistics.satterthwaite`, equal to
    lme4's) is minimised from statsmodels' estimate with L-BFGS-B over lme4's θ (Cholesky
    diagonal ≥ 0); a lower criterion replaces the estimates. Needs an intercept column."""
    m = res.model
    X = np.asarray(m.exog, dtype=float)
    const = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
    if not const:
        return None
    vm = VarianceModel(group_stats(np.asarray(m.endog, float), X,
                                   np.asarray(m.exog_re, float), np.asarray(m.groups)),
                       diagonal)
    cov_re, scale = np.asarray(res.cov_re, dtype=float), float(res.scale)
    if not (np.all(np.isfinite(cov_re)) and math.isfinite(scale) and scale > 0):
        cov_re, scale = np.eye(vm.q) * 0.25 * float(np.var(m.endog)), 0.5 * float(np.var(m.endog))
    rel = cov_re / scale
    try:
        phi0 = vm.phi(rel * scale + np.eye(vm.q) * 1e-10 * scale, scale)
    except np.linalg.LinAlgError:
        phi0 = vm.phi(np.diag(np.maximum(np.diag(rel), 1e-6)) * scale, scale)
    dev0 = vm.deviance(phi0)
    phi1, ok = vm.fit(phi0[:-1])
    dev1 = vm.deviance(phi1)
    if converged and dev1 > dev0 - 1e-6:
        return None
    beta = vm.beta_centred(phi1)
    beta[const[0]] += float(np.mean(m.endog))
    cov, s2 = vm.covariance(phi1)
    return _Optimum(beta=beta, cov_re=cov, scale=s2, llf=-dev1 / 2, converged=ok)


def fit_lmm(df: pd.DataFrame, formula: str, group: str, re_formula: str | None,
            reml: bool = True) -> LmmFit:
    """Fit ``formula`` with random effects ``re_formula`` (None: random intercept) by
    ``group`` — statsmodels ``MixedLM.from_formula`` — with REML (default) or ML.

    ``df``: one row per observation. Rows are sorted by ``group`` (stable) first so the
    result does not depend on the input row order of the groups.
    """
    if group not in df.columns:
        raise KeyError(f"group column {group!r} not in the data")
    data = df.sort_values(group, kind="stable").reset_index(drop=True)
    model = smf.mixedlm(formula, data, groups=data[group], re_formula=re_formula)
    res, msgs = _fit_result(model, reml)
    return _to_fit(res, formula, group, re_formula, reml, msgs,
                   model.exog_names, model.data.exog_re_names)


def _coef_name(condition: str) -> str:
    return f"condition[{condition}]"


def condition_order(trials: pd.DataFrame, reference: str) -> tuple[str, ...]:
    """Reference first, then the other conditions present: categorical order if the column is
    categorical, otherwise the codebook order (stand, forward, backward, left, right), then
    any others alphabetically."""
    col = trials["condition"]
    present = set(pd.unique(col.dropna().astype(str)))
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = [str(c) for c in col.cat.categories if str(c) in present]
    else:
        order = [c for c in CANONICAL_CONDITIONS if c in present]
        order += sorted(present - set(order))
    if reference not in present:
        raise ValueError(f"reference condition {reference!r} not in the data; "
                         f"conditions present: {', '.join(order) or 'none'}")
    return (reference,) + tuple(c for c in order if c != reference)


def fit_condition_lmm(trials: pd.DataFrame, reference: str = "stand", *,
                      structures: Sequence[str] = STRUCTURES) -> ConditionFit:
    """The primary model on valid trials: ``log(rt_ms) ~ condition`` (treatment coding,
    ``reference`` as baseline), REML, random intercept + condition slopes per participant,
    falling back as described in the module docstring.

    ``trials``: one row per valid trial with columns ``participant``, ``condition`` and
    ``rt_ms`` (milliseconds, > 0). Needs at least two conditions. ``structures``: the
    random-effects structures to try, in order (default: all three, see ``STRUCTURES``).
    """
    structures = tuple(structures)
    bad = [s for s in structures if s not in STRUCTURES]
    if bad or not structures:
        raise ValueError(f"structures must be a non-empty sequence of {', '.join(STRUCTURES)}; "
                         f"got {structures!r}")
    missing = [c for c in ("participant", "condition", "rt_ms") if c not in trials.columns]
    if missing:
        raise KeyError(f"trials lack column(s) {', '.join(missing)}")
    conditions = condition_order(trials, reference)
    if len(conditions) < 2:
        raise ValueError("the condition model needs at least two conditions")
    data = trials[["participant", "condition", "rt_ms"]].dropna()
    data = data.sort_values("participant", kind="stable")
    rt = data["rt_ms"].to_numpy(dtype=float)
    if np.any(rt <= 0):
        raise ValueError("rt_ms must be > 0 ms for the log-RT model")
    cond = data["condition"].astype(str).to_numpy()
    groups = data["participant"].astype(str).to_numpy()
    others = conditions[1:]
    exog = np.column_stack([np.ones(len(rt))] + [(cond == c).astype(float) for c in others])
    fe_names = ["Intercept"] + [_coef_name(c) for c in others]
    y = np.log(rt)
    formula = f"np.log(rt_ms) ~ C(condition, Treatment({reference!r}))"

    candidates = []
    for structure in structures:
        if structure == "intercept":
            candidates.append(REStructure("intercept", np.ones((len(rt), 1)), ("participant",),
                                          False, "1 | participant"))
        else:
            candidates.append(REStructure(
                structure, exog, tuple(["participant"] + [f"participant:{c}" for c in others]),
                structure == "uncorrelated",
                "~ C(condition)" + (" (uncorrelated)" if structure == "uncorrelated" else "")))
    chain = fit_chain(y, exog, groups, fe_names, formula, candidates)
    return ConditionFit(fit=chain.fit, reference=reference, conditions=conditions,
                        structure=chain.structure,
                        fallback=None if chain.structure == structures[0] else chain.structure,
                        fallback_reason=chain.reason, attempts=chain.attempts)


@dataclass(frozen=True)
class REStructure:
    """One candidate random-effects structure: its name, Z columns, whether the random
    effects are uncorrelated (diagonal covariance) and a description (lme4-like)."""
    name: str
    exog_re: np.ndarray = field(repr=False)
    re_names: tuple[str, ...]
    diagonal: bool
    description: str

    @property
    def n_parameters(self) -> int:
        """Variance-covariance parameters of the random effects."""
        q = self.exog_re.shape[1]
        return q if self.diagonal else q * (q + 1) // 2


@dataclass(frozen=True)
class ChainFit:
    """The first identified fit of a fallback chain, the structure used, and why each
    earlier candidate was left (None when the first one was used)."""
    fit: LmmFit
    structure: str
    reason: str | None
    attempts: tuple[LmmFit, ...]


def reml_fit(y: np.ndarray, exog: np.ndarray, groups: np.ndarray, cand: REStructure,
             formula: str, fe_names: Sequence[str]) -> LmmFit:
    """REML fit of one candidate structure on lme4's criterion (profiled over σ, θ bounded
    like lme4, from lme4's start Λ = I); column 0 of ``exog`` must be the intercept.

    statsmodels' MixedLM optimisers stop short of this optimum on flat surfaces (see
    :func:`_reml_optimum`) and take ~20× longer; the criterion is the one statsmodels and
    lme4 maximise, checked equal to lme4's by ``make crosscheck``."""
    if not np.all(exog[:, 0] == 1.0):
        raise ValueError("column 0 of exog must be the intercept")
    vm = VarianceModel(group_stats(y, exog, cand.exog_re, groups), cand.diagonal)
    phi, converged = vm.fit()
    beta = vm.beta_centred(phi)
    beta[0] += float(np.mean(y))
    cov, scale = vm.covariance(phi)
    singular = _relative_cholesky_singular(cov, scale)
    small = None
    if converged and not singular:
        try:
            small = satterthwaite_at(vm, phi, beta)
        except (ValueError, np.linalg.LinAlgError):
            small = None
    cov_fe = small.vcov if small is not None else vm.vcov(phi)
    return _assemble(formula, "participant", cand.description, True, beta, cov_fe,
                     cov, scale, -vm.deviance(phi) / 2, len(y), len(np.unique(groups)),
                     converged, singular, (), None, small, fe_names, cand.re_names)


def _assemble(formula, group, re_formula, reml, params, cov_fe, cov_re, scale, llf, n_obs,
              n_groups, converged, singular, msgs, result, small, fe_names, re_names
              ) -> LmmFit:
    """An :class:`LmmFit` with SEs and CIs (t with Satterthwaite df when ``small``)."""
    names = list(fe_names)
    params = pd.Series(np.asarray(params, dtype=float), index=names)
    with np.errstate(invalid="ignore"):
        bse = pd.Series(np.sqrt(np.diag(cov_fe)), index=names)
    if small is not None:
        tests = [small.t_test(np.eye(len(names))[i]) for i in range(len(names))]
        ci = pd.DataFrame({"lower": [t.ci_low for t in tests],
                           "upper": [t.ci_high for t in tests]}, index=names)
    else:
        low, high = t_interval(params, bse, math.inf)
        ci = pd.DataFrame({"lower": low, "upper": high})
    return LmmFit(formula=formula, group=group, re_formula=re_formula, reml=reml,
                  params=params, bse=bse, conf_int=ci,
                  cov_params=pd.DataFrame(cov_fe, index=names, columns=names),
                  cov_re=pd.DataFrame(np.asarray(cov_re, dtype=float), index=list(re_names),
                                      columns=list(re_names)),
                  scale=float(scale), llf=float(llf), n_obs=int(n_obs),
                  n_groups=int(n_groups), converged=bool(converged),
                  singular=bool(singular), warnings=tuple(msgs), result=result,
                  small_sample=small)


def fit_chain(y: np.ndarray, exog: np.ndarray, groups: np.ndarray, fe_names: Sequence[str],
              formula: str, candidates: Sequence[REStructure]) -> ChainFit:
    """REML fits of ``candidates`` in order until one converges and is not singular.

    A candidate with more variance parameters than groups is skipped (not identifiable).
    Raises :class:`NotIdentifiable` (one sentence) with a single group, or when no
    candidate gives an identified fit."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise NotIdentifiable("with one participant there is no between-participant variance "
                              "to estimate, so no mixed model can be fitted")
    attempts: list[LmmFit] = []
    reasons: list[str] = []
    queue = list(candidates)
    while queue:
        cand = queue.pop(0)
        if n_groups < cand.n_parameters:
            reasons.append(f"{cand.name}: not fitted, {cand.n_parameters} random-effect "
                           f"parameters but only {n_groups} participants")
            continue
        fit = reml_fit(y, exog, groups, cand, formula, fe_names)
        attempts.append(fit)
        if fit.ok:
            return ChainFit(fit, cand.name, "; ".join(reasons) or None, tuple(attempts))
        why = [w for w, bad in (("singular", fit.singular),
                                ("did not converge", not fit.converged)) if bad]
        reasons.append(f"{cand.name}: {' and '.join(why)}")
        pruned = _pruned(cand, fit)
        if pruned is not None:
            queue.insert(0, pruned)
    raise NotIdentifiable("no random-effects structure gave an identified fit ("
                          + "; ".join(reasons) + ")")


def _pruned(cand: REStructure, fit: LmmFit) -> REStructure | None:
    """After a converged but singular uncorrelated fit: the same structure without the
    random effects whose variance is estimated as 0 (the fit's own optimum, refitted as the
    smaller model lme4 users would write), or None when nothing would be left or nothing
    is zero. Keeps the non-zero random slopes instead of dropping every slope."""
    if not (cand.diagonal and fit.converged and fit.singular):
        return None
    rel = np.diag(fit.cov_re.to_numpy()) / fit.scale
    keep = np.sqrt(np.maximum(rel, 0)) >= SINGULAR_TOL
    if keep.all() or not keep.any():
        return None
    names = tuple(n for n, k in zip(cand.re_names, keep) if k)
    dropped = [n for n, k in zip(cand.re_names, keep) if not k]
    return REStructure("pruned", cand.exog_re[:, keep], names, True,
                       f"{cand.description} without {', '.join(dropped)} (variance 0)")


def wald_test(fit: LmmFit, terms: Sequence[str]) -> dict:
    """Joint Wald χ² test that the fixed effects ``terms`` are all 0: chi2, df, p."""
    terms = list(terms)
    w = inference.wald_test(fit.params[terms].to_numpy(), fit.cov_params.loc[terms, terms].to_numpy())
    return {"chi2": w.chi2, "df": w.df, "p": w.p}


def likelihood_ratio_test(reduced: LmmFit, full: LmmFit) -> dict:
    """LRT of nested models fitted by ML (lme4's ``anova`` refits REML fits with ML; do the
    same: pass ML fits). df = difference in the number of estimated parameters."""
    if reduced.reml or full.reml:
        raise ValueError("compare ML fits (reml=False); REML likelihoods of models with "
                         "different fixed effects are not comparable")

    def n_par(f: LmmFit) -> int:
        k = f.cov_re.shape[0]
        return len(f.params) + k * (k + 1) // 2 + 1
    chi2 = 2.0 * (full.llf - reduced.llf)
    df = n_par(full) - n_par(reduced)
    return {"chi2": chi2, "df": df, "p": float(stats.chi2.sf(chi2, df)),
            "deviance_reduced": reduced.deviance, "deviance_full": full.deviance}
