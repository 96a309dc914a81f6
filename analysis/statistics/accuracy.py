"""Accuracy by condition: a GEE logistic model (binomial, logit link, exchangeable working
correlation within participant), the repeated-measures model for binary outcomes.

Timeouts count as errors (``correct`` = 0 on a timeout, as the codebook defines it).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from analysis.statistics.inference import t_interval, two_sided_p, wald_test


def accuracy_gee(test: pd.DataFrame, conditions: tuple[str, ...], reference: str
                 ) -> tuple[pd.DataFrame, dict]:
    """Odds ratios of a correct response vs ``reference`` (robust SEs) and the omnibus Wald
    test of condition. ``test``: one row per test trial (primary congruency, included
    participants) with ``participant``, ``condition``, ``correct``.

    Returns (table, omnibus) where omnibus has chi2, df, p, and 'note' ('' if estimable).
    """
    import statsmodels.api as sm
    from statsmodels.genmod.cov_struct import Exchangeable

    others = [c for c in conditions if c != reference]
    d = test[["participant", "condition", "correct"]].copy()
    d["condition"] = d["condition"].astype(str)
    d = d.sort_values("participant", kind="stable")
    y = d["correct"].to_numpy(dtype=float)
    cond = d["condition"].to_numpy()
    X = np.column_stack([np.ones(len(d))] + [(cond == c).astype(float) for c in others])
    names = ["Intercept"] + others
    omnibus = {"chi2": float("nan"), "df": len(others), "p": float("nan"), "note": ""}
    # a condition without errors (or without correct responses) has an infinite log odds
    share = d.groupby("condition")["correct"].mean()
    degenerate = [c for c in conditions if share.get(c, 0.0) in (0.0, 1.0)]
    if degenerate or not others:
        omnibus["note"] = ("not estimable: no errors (or no correct responses) in "
                           f"{', '.join(degenerate)}" if degenerate else "one condition only")
        return pd.DataFrame(columns=["term", "log_odds", "se", "z", "p", "odds_ratio",
                                     "or_ci_low", "or_ci_high"]), omnibus
    model = sm.GEE(y, X, groups=d["participant"].to_numpy(), family=sm.families.Binomial(),
                   cov_struct=Exchangeable())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(maxiter=100)
    params = np.asarray(res.params)
    cov = np.asarray(res.cov_params())
    se = np.sqrt(np.diag(cov))
    rows = []
    for i, name in enumerate(names):
        z = params[i] / se[i]
        low, high = t_interval(params[i], se[i], math.inf)
        rows.append({"term": "intercept (odds correct, " + reference + ")" if i == 0 else
                     f"{name} vs {reference}",
                     "log_odds": params[i], "se": se[i], "z": z,
                     "p": two_sided_p(z, math.inf),
                     "odds_ratio": math.exp(params[i]),
                     "or_ci_low": math.exp(low), "or_ci_high": math.exp(high)})
    wald = wald_test(params[1:], cov[1:, 1:])
    omnibus.update(chi2=wald.chi2, p=wald.p)
    rows.append({"term": f"condition, omnibus Wald χ²({wald.df}) = {wald.chi2:.3f}",
                 "log_odds": np.nan, "se": np.nan, "z": np.nan, "p": omnibus["p"],
                 "odds_ratio": np.nan, "or_ci_low": np.nan, "or_ci_high": np.nan})
    notes = sorted({str(w.message) for w in caught})
    if notes:
        omnibus["note"] = "; ".join(notes)
    return pd.DataFrame(rows), omnibus
