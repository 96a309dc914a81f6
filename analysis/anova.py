"""Repeated-measures ANOVA on participant mean RTs (pingouin ≥ 0.7) and paired contrasts.

Sphericity: Mauchly's test; the Greenhouse–Geisser-corrected p is reported next to the
uncorrected one (identical with two conditions). Effect sizes: partial eta² for the ANOVA,
Cohen's dz = mean difference / SD of the differences for each paired contrast.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .models import adjust_p


def rm_anova_table(wide: pd.DataFrame) -> pd.DataFrame:
    """One-way rm-ANOVA of ``wide`` (participants × conditions, complete rows) as one row:
    F, df, uncorrected and GG-corrected p, epsilon, Mauchly W and p, partial eta²."""
    import pingouin as pg

    w = wide.dropna()
    long = w.rename_axis(index="participant", columns="condition").stack().rename("rt_ms") \
        .reset_index()
    long["condition"] = long["condition"].astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aov = pg.rm_anova(data=long, dv="rt_ms", within="condition", subject="participant",
                          correction=True, detailed=True, effsize="np2")
    eff, err = aov.iloc[0], aov.iloc[1]
    k = w.shape[1]
    get = lambda key, default=float("nan"): float(eff[key]) if key in eff and pd.notna(eff[key]) \
        else default  # noqa: E731
    p_unc = get("p_unc")
    eps = get("eps", 1.0)
    return pd.DataFrame([{
        "effect": "condition", "n_participants": len(w), "k_conditions": k,
        "df1": float(eff["DF"]), "df2": float(err["DF"]), "F": get("F"),
        "p": p_unc,
        "epsilon_gg": eps,
        "df1_gg": float(eff["DF"]) * eps, "df2_gg": float(err["DF"]) * eps,
        "p_gg": get("p_GG_corr", p_unc),
        "mauchly_w": get("W_spher", 1.0), "p_mauchly": get("p_spher", float("nan")),
        "sphericity_assumed": bool(eff["sphericity"]) if "sphericity" in eff and
        pd.notna(eff["sphericity"]) else True,
        "partial_eta2": get("np2"),
    }])


def paired_contrasts(wide: pd.DataFrame, pairs: list[tuple[str, str]], adjust: str = "holm"
                     ) -> pd.DataFrame:
    """Paired t-tests on participant means for each (a, b): mean difference a − b (ms) with
    95% CI, t, df, p, adjusted p and Cohen's dz."""
    w = wide.dropna()
    rows = []
    for a, b in pairs:
        d = (w[a] - w[b]).to_numpy(dtype=float)
        n = len(d)
        m = float(d.mean())
        sd = float(d.std(ddof=1)) if n > 1 else float("nan")
        se = sd / math.sqrt(n) if n > 1 else float("nan")
        tcrit = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
        t = m / se if se and se > 0 else float("nan")
        p = float(2 * stats.t.sf(abs(t), n - 1)) if np.isfinite(t) else float("nan")
        rows.append({"a": a, "b": b, "n": n, "mean_diff_ms": m,
                     "ci_low_ms": m - tcrit * se, "ci_high_ms": m + tcrit * se,
                     "t": t, "df": n - 1, "p": p,
                     "cohen_dz": m / sd if sd and sd > 0 else float("nan")})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adj"] = adjust_p(out["p"].to_numpy(), adjust)
    return out
