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

  The first structure that converges and is not singular is used; if none does, the last
  one is reported anyway with its flags. ``ConditionFit.fallback`` names the structure that
  was used when it is not the primary one (``None`` otherwise), ``fallback_reason`` says why.

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
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

#: Condition order used when the trials do not give one (categorical dtype) — the codebook's.
CANONICAL_CONDITIONS = ("stand", "forward", "backward", "left", "right")

#: A random-effects structure is singular when a diagonal entry of the Cholesky factor of
#: the relative covariance (cov_re / residual variance) falls below this (lme4's default).
SINGULAR_TOL = 1e-4

STRUCTURES = ("slopes", "uncorrelated", "intercept")

_Z95 = float(stats.norm.ppf(0.975))


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
class Contrast:
    """Condition a vs condition b on the log-RT scale, with back-transformed values.

    ``estimate`` = log(GM_a / GM_b) where GM is the model's geometric-mean RT;
    ``ratio`` = exp(estimate); ``ms_diff`` = GM_b × (ratio − 1), the difference in ms at the
    model's geometric-mean RT of b (CI from the ratio CI, so it excludes 0 iff p < .05).
    """
    a: str
    b: str
    estimate: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
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
        """Condition ``a`` vs ``b``: Wald z test on the log ratio, 95% CIs."""
        beta = self.fit.params.to_numpy()
        cov = self.fit.cov_params.to_numpy()
        va, vb = self._vector(a), self._vector(b)
        d = va - vb
        est = float(d @ beta)
        se = float(math.sqrt(max(d @ cov @ d, 0.0)))
        z = est / se if se > 0 else float("nan")
        p = float(2 * stats.norm.sf(abs(z))) if se > 0 else float("nan")
        lo, hi = est - _Z95 * se, est + _Z95 * se
        gm_a, gm_b = float(np.exp(va @ beta)), float(np.exp(vb @ beta))
        ratio, rlo, rhi = math.exp(est), math.exp(lo), math.exp(hi)
        return Contrast(a=a, b=b, estimate=est, se=se, z=z, p=p, ci_low=lo, ci_high=hi,
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
        """Model geometric-mean RT (ms) per condition with 95% CI (back-transformed)."""
        beta = self.fit.params.to_numpy()
        cov = self.fit.cov_params.to_numpy()
        rows = []
        for c in self.conditions:
            v = self._vector(c)
            m, se = float(v @ beta), float(math.sqrt(max(v @ cov @ v, 0.0)))
            rows.append({"condition": c, "log_gm": m, "se": se,
                         "gm_ms": math.exp(m), "ci_low_ms": math.exp(m - _Z95 * se),
                         "ci_high_ms": math.exp(m + _Z95 * se)})
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
            msgs: tuple[str, ...], fe_names: Sequence[str], re_names: Sequence[str]
            ) -> LmmFit:
    k_fe = len(fe_names)
    params = pd.Series(np.asarray(res.fe_params, dtype=float), index=list(fe_names))
    cov_all = np.asarray(res.cov_params())
    cov_fe = cov_all[:k_fe, :k_fe]
    with np.errstate(invalid="ignore"):
        bse = pd.Series(np.sqrt(np.diag(cov_fe)), index=list(fe_names))
    ci = pd.DataFrame({"lower": params - _Z95 * bse, "upper": params + _Z95 * bse})
    cov_re = pd.DataFrame(np.asarray(res.cov_re, dtype=float),
                          index=list(re_names), columns=list(re_names))
    scale = float(res.scale)
    converged = bool(res.converged) and bool(np.all(np.isfinite(bse.to_numpy())))
    singular = _relative_cholesky_singular(cov_re.to_numpy(), scale)
    return LmmFit(formula=formula, group=group, re_formula=re_formula, reml=reml,
                  params=params, bse=bse, conf_int=ci,
                  cov_params=pd.DataFrame(cov_fe, index=list(fe_names), columns=list(fe_names)),
                  cov_re=cov_re, scale=scale, llf=float(res.llf),
                  n_obs=int(res.model.nobs), n_groups=int(res.model.n_groups),
                  converged=converged, singular=singular, warnings=msgs, result=res)


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
    k = exog.shape[1]
    formula = f"np.log(rt_ms) ~ C(condition, Treatment({reference!r}))"

    attempts: list[LmmFit] = []
    reasons: list[str] = []
    for structure in structures:
        if structure == "intercept":
            exog_re, re_names, free, re_formula = np.ones((len(rt), 1)), ["participant"], None, None
        else:
            exog_re, re_names = exog, ["participant"] + [f"participant:{c}" for c in others]
            re_formula = "~ C(condition)" if structure == "slopes" else "~ C(condition) (uncorrelated)"
            free = None
            if structure == "uncorrelated":
                free = MixedLMParams.from_components(np.ones(k), np.eye(k))
        model = MixedLM(y, exog, groups, exog_re=exog_re)
        start = None
        if structure == "uncorrelated" and attempts and attempts[-1].cov_re.shape[0] == k:
            start = _diagonal_start(attempts[-1], k)
        res, msgs = _fit_result(model, reml=True, free=free, start=start)
        fit = _to_fit(res, formula, "participant", re_formula, True, msgs, fe_names, re_names)
        attempts.append(fit)
        if fit.ok:
            break
        why = [w for w, bad in (("singular", fit.singular),
                                ("did not converge", not fit.converged)) if bad]
        reasons.append(f"{structure}: {' and '.join(why)}")
    chosen = attempts[-1]
    structure = structures[len(attempts) - 1]
    return ConditionFit(fit=chosen, reference=reference, conditions=conditions,
                        structure=structure,
                        fallback=None if structure == structures[0] else structure,
                        fallback_reason="; ".join(reasons) or None,
                        attempts=tuple(attempts))


def _diagonal_start(prev: LmmFit, k: int) -> MixedLMParams | None:
    """Start the uncorrelated fit from the diagonal of a previous (relative) covariance."""
    d = np.diag(prev.cov_re.to_numpy()) / prev.scale
    if not np.all(np.isfinite(d)):
        return None
    return MixedLMParams.from_components(prev.params.to_numpy(),
                                         np.diag(np.maximum(d, 1e-4)))


def wald_test(fit: LmmFit, terms: Sequence[str]) -> dict:
    """Joint Wald χ² test that the fixed effects ``terms`` are all 0: chi2, df, p."""
    terms = list(terms)
    if not terms:
        return {"chi2": float("nan"), "df": 0, "p": float("nan")}
    b = fit.params[terms].to_numpy()
    v = fit.cov_params.loc[terms, terms].to_numpy()
    chi2 = float(b @ np.linalg.lstsq(v, b, rcond=None)[0])
    return {"chi2": chi2, "df": len(terms), "p": float(stats.chi2.sf(chi2, len(terms)))}


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
