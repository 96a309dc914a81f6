"""The tables of a fitted condition model (:class:`analysis.statistics.models.ConditionFit`):
its structure and fit, its fixed effects, its condition means and its pairwise contrasts.
RTs in ms, coefficients on the log(rt_ms) scale, ratios of geometric means."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.input.plan import PRIMARY_CONTRAST, condition_pairs
from analysis.statistics.models import ConditionFit, adjust_p

#: How the report names each random-effects structure of the fallback order.
STRUCTURE_TEXT = {"slopes": "intercept + condition slopes by participant (unstructured covariance)",
                  "uncorrelated": "intercept + condition slopes by participant, correlations "
                                  "fixed at 0",
                  "intercept": "intercept by participant"}


def _cell_text(v) -> str:
    """A model-table value as text: strings as they are, booleans yes/no, integers as
    integers, other numbers with 6 significant digits."""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.6g}"


def model_info_table(fit: ConditionFit) -> pd.DataFrame:
    """Columns item, value (text): the model, its random effects and fallback, fit statistics,
    random-effect SDs and correlations (log scale) and any fit warnings."""
    f = fit.fit
    info = [("model", f"log(rt_ms) ~ condition ({fit.reference} = reference), REML"),
            ("random effects", STRUCTURE_TEXT.get(
                fit.structure, f"{f.re_formula}, correlations fixed at 0")),
            ("fallback", fit.fallback or "none (primary structure used)"),
            ("why", fit.fallback_reason or "—"),
            ("observations", f.n_obs), ("participants", f.n_groups),
            ("REML criterion", f.reml_criterion), ("converged", f.converged),
            ("singular", f.singular), ("tests", f.df_method),
            ("residual SD (log)", math.sqrt(f.scale))]
    sd = f.re_sd
    for name in sd.index:
        info.append((f"random SD {name} (log)", float(sd[name])))
    corr = f.re_corr
    for i, a in enumerate(corr.index):
        for b in corr.columns[i + 1:]:
            if f.cov_re.at[a, b] != 0 or fit.structure == "slopes":
                info.append((f"random corr {a} × {b}", float(corr.at[a, b])))
    if f.warnings:
        info.append(("fit warnings", " | ".join(f.warnings)))
    info_df = pd.DataFrame(info, columns=["item", "value"])
    info_df["value"] = [_cell_text(v) for v in info_df["value"]]
    return info_df


def fixed_effects_table(fit: ConditionFit) -> pd.DataFrame:
    """One row per condition, the reference first as the intercept: term, estimate_log, se,
    df, t, p, ratio with ratio_ci_low/high, value_ms with ci_low_ms/ci_high_ms (intercept:
    the reference's geometric-mean RT; a condition: its difference from the reference, ms)."""
    f = fit.fit
    means = fit.condition_means()
    fe = []
    for c in fit.conditions:
        if c == fit.reference:
            m = means[means["condition"] == c].iloc[0]
            k0 = f.t_test(np.eye(len(f.params))[0])
            fe.append({"term": f"intercept ({c})", "estimate_log": k0.estimate,
                       "se": k0.se, "df": k0.df, "t": k0.t, "p": np.nan,
                       "ratio": np.nan, "ratio_ci_low": np.nan, "ratio_ci_high": np.nan,
                       "value_ms": m["gm_ms"], "ci_low_ms": m["ci_low_ms"],
                       "ci_high_ms": m["ci_high_ms"]})
            continue
        k = fit.contrast(c, fit.reference)
        fe.append({"term": f"{c} vs {fit.reference}", "estimate_log": k.estimate, "se": k.se,
                   "df": k.df, "t": k.t, "p": k.p, "ratio": k.ratio, "ratio_ci_low": k.ratio_ci_low,
                   "ratio_ci_high": k.ratio_ci_high, "value_ms": k.ms_diff,
                   "ci_low_ms": k.ms_ci_low, "ci_high_ms": k.ms_ci_high})
    return pd.DataFrame(fe)


def condition_means_table(fit: ConditionFit) -> pd.DataFrame:
    """Columns condition, geometric_mean_ms, ci_low_ms, ci_high_ms (model-estimated, 95%)."""
    means = fit.condition_means()
    return means[["condition", "gm_ms", "ci_low_ms", "ci_high_ms"]].rename(
        columns={"gm_ms": "geometric_mean_ms"})


def contrasts_table(fit: ConditionFit, adjust: str) -> pd.DataFrame:
    """One row per pair of conditions (:func:`analysis.input.plan.condition_pairs`): contrast
    'a vs b', key (the primary contrast), estimate_log, se, df, t, p, p_adj (``adjust`` over
    all pairs), ratio with ratio_ci_low/high, diff_ms with ci_low_ms/ci_high_ms."""
    rows = []
    for a, b in condition_pairs(fit.conditions):
        k = fit.contrast(a, b)
        rows.append({"contrast": f"{a} vs {b}", "key": (a, b) == PRIMARY_CONTRAST,
                     "estimate_log": k.estimate, "se": k.se, "df": k.df, "t": k.t, "p": k.p,
                     "ratio": k.ratio, "ratio_ci_low": k.ratio_ci_low,
                     "ratio_ci_high": k.ratio_ci_high, "diff_ms": k.ms_diff,
                     "ci_low_ms": k.ms_ci_low, "ci_high_ms": k.ms_ci_high})
    df = pd.DataFrame(rows)
    df.insert(df.columns.get_loc("p") + 1, "p_adj", adjust_p(df["p"].to_numpy(), adjust))
    return df


def sensitivity_table(trimmed: ConditionFit, untrimmed: ConditionFit, adjust: str
                      ) -> pd.DataFrame:
    """The primary model's contrasts with and without the slow-tail rule: contrast,
    trimmed_ratio, trimmed_diff_ms, p_adj_trimmed, untrimmed_ratio with its CI,
    untrimmed_diff_ms (ms), p_adj_untrimmed."""
    a = contrasts_table(trimmed, adjust)
    b = contrasts_table(untrimmed, adjust)
    return pd.DataFrame({
        "contrast": a["contrast"],
        "trimmed_ratio": a["ratio"], "trimmed_diff_ms": a["diff_ms"],
        "p_adj_trimmed": a["p_adj"],
        "untrimmed_ratio": b["ratio"], "untrimmed_ratio_ci_low": b["ratio_ci_low"],
        "untrimmed_ratio_ci_high": b["ratio_ci_high"], "untrimmed_diff_ms": b["diff_ms"],
        "p_adj_untrimmed": b["p_adj"]})
