"""Per-condition descriptives with Cousineau–Morey within-subject CIs, and the dual-task effect.

Participant means are the unit: each participant weighs the same whatever their number of
valid trials. RTs in **milliseconds**.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.statistics.inference import one_sample_t, t_quantile

#: DTE sign convention, stated in every DTE table.
DTE_CONVENTION = ("DTE% = (walking − reference) / reference × 100 on participant mean RT; "
                  "positive = slower than the reference (a dual-task cost), negative = faster. "
                  "Plummer & Eskes (2015) flip this sign for RT.")


def participant_means(valid: pd.DataFrame, value: str = "rt_ms", how: str = "mean"
                      ) -> pd.DataFrame:
    """Wide table participant × condition of the per-participant ``how`` of ``value``."""
    g = valid.groupby(["participant", "condition"], observed=False)[value]
    return g.agg(how).unstack("condition")


def cousineau_morey(wide: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Within-subject CI (Cousineau 2005 normalisation, Morey 2008 correction) per column of
    ``wide`` (participants × conditions, complete rows only). Columns: mean, ci_low, ci_high,
    half_width. With one condition the ordinary between-subject CI is returned."""
    w = wide.dropna()
    n, c = w.shape
    means = w.mean()
    if n < 2:
        nan = pd.Series(np.nan, index=w.columns)
        return pd.DataFrame({"mean": means, "ci_low": nan, "ci_high": nan, "half_width": nan})
    norm = w.sub(w.mean(axis=1), axis=0) + w.to_numpy().mean()
    correction = math.sqrt(c / (c - 1)) if c > 1 else 1.0
    src = norm if c > 1 else w
    se = src.std(ddof=1) / math.sqrt(n) * correction
    half = t_quantile(n - 1, level) * se
    return pd.DataFrame({"mean": means, "ci_low": means - half, "ci_high": means + half,
                         "half_width": half})


def descriptives_table(test: pd.DataFrame, conditions: tuple[str, ...]) -> pd.DataFrame:
    """One row per condition from ``test`` (test trials of included participants, primary
    congruency, with ``valid``): participants, valid trials, mean/SD/median RT, CM 95% CI,
    accuracy and timeouts."""
    valid = test[test["valid"]]
    means = participant_means(valid).reindex(columns=list(conditions))
    medians = participant_means(valid, how="median").reindex(columns=list(conditions))
    cm = cousineau_morey(means)
    acc = participant_means(test, value="correct").reindex(columns=list(conditions))
    rows = []
    for c in conditions:
        tc = test[test["condition"] == c]
        rows.append({
            "condition": c,
            "n_participants": int(means[c].notna().sum()),
            "n_trials": int(tc["valid"].sum()),
            "mean_rt_ms": means[c].mean(),
            "sd_ms": means[c].std(ddof=1),
            "median_rt_ms": medians[c].mean(),
            "ci_low_ms": cm.at[c, "ci_low"],
            "ci_high_ms": cm.at[c, "ci_high"],
            "accuracy_pct": 100 * acc[c].mean(),
            "timeouts": int(tc["timeout"].sum()),
            "timeout_pct": 100 * tc["timeout"].mean() if len(tc) else float("nan"),
        })
    return pd.DataFrame(rows)


def participant_summary(test: pd.DataFrame, conditions: tuple[str, ...]) -> pd.DataFrame:
    """One row per participant × condition from ``test`` (test trials of the primary
    congruency with ``valid``): test trials, valid trials, mean, median and SD of the valid
    RTs (ms), accuracy (%) and timeouts. What one can say about each participant without a
    model."""
    rows = []
    for (pid, c), t in test.groupby(["participant", "condition"], observed=True, sort=True):
        rt = t.loc[t["valid"], "rt_ms"]
        rows.append({"participant": pid, "condition": str(c), "n_trials": len(t),
                     "n_valid": int(t["valid"].sum()), "mean_rt_ms": rt.mean(),
                     "median_rt_ms": rt.median(), "sd_ms": rt.std(ddof=1),
                     "accuracy_pct": 100 * t["correct"].mean(),
                     "timeouts": int(t["timeout"].sum())})
    out = pd.DataFrame(rows)
    if len(out):
        out["condition"] = pd.Categorical(out["condition"], categories=list(conditions))
        out = out.sort_values(["participant", "condition"], kind="stable")
        out["condition"] = out["condition"].astype(str)
    return out.reset_index(drop=True)


def t_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, t-based CI and two-sided one-sample t-test p (against 0) of ``x``."""
    r = one_sample_t(x, level)
    return r.mean, r.ci_low, r.ci_high, r.p


def dte_tables(test: pd.DataFrame, conditions: tuple[str, ...], reference: str
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dual-task effect on RT per participant and walking condition (vs ``reference``), and
    its summary (mean, SD, 95% CI, one-sample t-test against 0). See :data:`DTE_CONVENTION`."""
    means = participant_means(test[test["valid"]]).reindex(columns=list(conditions)).dropna()
    per, summary = [], []
    for c in conditions:
        if c == reference:
            continue
        dte = (means[c] - means[reference]) / means[reference] * 100
        for pid in means.index:
            per.append({"participant": pid, "condition": c,
                        "rt_reference_ms": means.at[pid, reference],
                        "rt_condition_ms": means.at[pid, c], "dte_pct": dte[pid]})
        m, lo, hi, p = t_ci(dte.to_numpy())
        summary.append({"condition": c, "reference": reference, "n": len(dte),
                        "mean_dte_pct": m, "sd_dte_pct": dte.std(ddof=1),
                        "ci_low_pct": lo, "ci_high_pct": hi,
                        "median_dte_pct": dte.median(), "n_slower": int((dte > 0).sum()),
                        "p": p, "sign_convention": "positive = slower (cost)"})
    return pd.DataFrame(per), pd.DataFrame(summary)
