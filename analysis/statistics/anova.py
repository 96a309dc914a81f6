"""One-way repeated-measures ANOVA on participant mean RTs and paired contrasts.

Sphericity: Mauchly's test; the Greenhouse–Geisser- and Huynh–Feldt-corrected p are reported
next to the uncorrected one (identical with two conditions). Effect sizes: partial and
generalised eta² for the ANOVA, Cohen's dz = mean difference / SD of the differences for
each paired contrast.
"""
from __future__ import annotations

import pandas as pd

from analysis.input.design import Design
from analysis.statistics.factorial import factorial_rm_anova
from analysis.statistics.inference import one_sample_t
from analysis.statistics.models import adjust_p


def rm_anova_table(wide: pd.DataFrame) -> pd.DataFrame:
    """One-way rm-ANOVA of ``wide`` (participants × conditions, complete rows) as one row
    (:func:`analysis.statistics.factorial.factorial_rm_anova` with the columns as one factor): F, df,
    uncorrected, Greenhouse–Geisser- and Huynh–Feldt-corrected p, epsilons, Mauchly W and
    p, partial and generalised eta², plus ``k_conditions``."""
    w = wide.dropna()
    long = w.rename_axis(index="participant", columns="condition").stack().rename("rt_ms") \
        .reset_index()
    long["condition"] = long["condition"].astype(str)
    design = Design(("condition",), (tuple(str(c) for c in w.columns),))
    out = factorial_rm_anova(long, design)
    out.insert(2, "k_conditions", w.shape[1])
    return out


def paired_contrasts(wide: pd.DataFrame, pairs: list[tuple[str, str]], adjust: str = "holm"
                     ) -> pd.DataFrame:
    """Paired t-tests on participant means for each (a, b): mean difference a − b (ms) with
    95% CI, t, df, p, adjusted p and Cohen's dz."""
    w = wide.dropna()
    rows = []
    for a, b in pairs:
        r = one_sample_t((w[a] - w[b]).to_numpy(dtype=float))
        rows.append({"a": a, "b": b, "n": r.n, "mean_diff_ms": r.mean,
                     "ci_low_ms": r.ci_low, "ci_high_ms": r.ci_high,
                     "t": r.t, "df": r.n - 1, "p": r.p, "cohen_dz": r.cohen_dz})
    out = pd.DataFrame(rows)
    if len(out):
        out["p_adj"] = adjust_p(out["p"].to_numpy(), adjust)
    return out
