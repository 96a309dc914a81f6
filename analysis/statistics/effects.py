"""Secondary RT analyses on participant means: Stroop interference by condition with the
congruency × condition interaction, and checks for condition-order and block effects.

These tests use participant-level summaries (cell means), so participant-specific condition
effects are part of the error term. (A trial-level model with a random intercept only would
treat the trials of one participant × condition as independent and make these tests far
too liberal; the random-slope structure that would fix that is what the primary model
already spends its time on.) RTs in **milliseconds**.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from analysis.input.plan import condition_pairs
from analysis.statistics.anova import paired_contrasts, rm_anova_table
from analysis.statistics.descriptives import participant_means, t_ci


def interference_baseline(test: pd.DataFrame) -> str | None:
    """'congruent' (or 'neutral') when the data allow an interference score, else None."""
    levels = set(pd.unique(test["congruency"]))
    if "incongruent" not in levels:
        return None
    for base in ("congruent", "neutral"):
        if base in levels:
            return base
    return None


def interference_scores(valid: pd.DataFrame, conditions: tuple[str, ...], base: str
                        ) -> pd.DataFrame:
    """Participants × conditions: mean incongruent RT − mean ``base`` RT (ms)."""
    cell = valid.groupby(["participant", "condition", "congruency"], observed=True)["rt_ms"] \
        .mean().unstack("congruency")
    if "incongruent" not in cell or base not in cell:
        return pd.DataFrame(columns=list(conditions))
    d = (cell["incongruent"] - cell[base]).unstack("condition")
    return d.reindex(columns=[c for c in conditions if c in d.columns])


def interference_tables(test: pd.DataFrame, conditions: tuple[str, ...], adjust: str = "holm"
                        ) -> dict[str, pd.DataFrame] | None:
    """None when the data lack incongruent trials or both congruent and neutral ones.

    Otherwise ``interference`` (per condition and baseline: mean interference, 95% CI,
    one-sample t, Cohen's dz) and, with two or more conditions, ``interaction`` (rm-ANOVA of
    the interference scores across conditions = the congruency × condition interaction) and
    ``interaction_contrasts`` (paired differences in interference between conditions)."""
    base = interference_baseline(test)
    if base is None:
        return None
    valid = test[test["valid"]]
    rows = []
    for b in ("congruent", "neutral"):
        scores = interference_scores(valid, conditions, b)
        for c in scores.columns:
            d = scores[c].dropna()
            m, lo, hi, p = t_ci(d.to_numpy())
            sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
            rows.append({"condition": c, "comparison": f"incongruent − {b}", "n": len(d),
                         "mean_ms": m, "sd_ms": sd, "ci_low_ms": lo, "ci_high_ms": hi,
                         "p": p, "cohen_dz": m / sd if sd > 0 else float("nan")})
    out = {"interference": pd.DataFrame(rows)}
    scores = interference_scores(valid, conditions, base).dropna()
    if scores.shape[1] >= 2 and len(scores) >= 3:
        a = rm_anova_table(scores)
        a["effect"] = f"congruency × condition (incongruent − {base})"
        out["interaction"] = a
        pairs = condition_pairs(tuple(scores.columns))
        out["interaction_contrasts"] = paired_contrasts(scores, pairs, adjust)
    return out


def add_position(test: pd.DataFrame) -> pd.DataFrame:
    """``position``: 1 for the condition a participant's session ran first, 2 next, … (rank
    of the condition's first test block in the session)."""
    first = test.groupby(["participant", "session", "condition"], observed=True)["block"].min()
    pos = first.groupby(["participant", "session"]).rank(method="dense").astype(int)
    return test.join(pos.rename("position"), on=["participant", "session", "condition"])


def _row(check: str, test: str, F: float = np.nan, df1: float = np.nan, df2: float = np.nan,
         p: float = np.nan, estimate: str = "", note: str = "") -> dict:
    return {"check": check, "test": test, "F": F, "df1": df1, "df2": df2, "p": p,
            "estimate": estimate, "note": note}


def _position_check(valid: pd.DataFrame, conditions: tuple[str, ...]) -> dict:
    """Latin-square ANOVA on participant × condition mean log RT:
    ~ participant + condition + position (OLS); F test of position."""
    import statsmodels.formula.api as smf

    check = "position of the condition in the session"
    cells = valid.groupby(["participant", "condition", "position"], observed=True)["rt_ms"] \
        .mean().reset_index()
    cells["condition"] = cells["condition"].astype(str)
    cells["log_rt"] = np.log(cells["rt_ms"])
    if cells["position"].nunique() < 2 or len(conditions) < 2:
        return _row(check, "—", note="one position only")
    model = smf.ols("log_rt ~ C(participant) + C(condition) + C(position)", cells)
    X = model.exog
    if X.shape[0] <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return _row(check, "—", note="not estimable: position is confounded with condition "
                    "or participant (e.g. every participant ran the same order)")
    fit = model.fit()
    terms = [t for t in fit.params.index if t.startswith("C(position)")]
    ft = fit.f_test(", ".join(f"{t} = 0" for t in terms))
    est = ", ".join(f"{t.split('[T.')[1].rstrip(']')}: {(math.exp(fit.params[t]) - 1) * 100:+.1f}%"
                    for t in terms)
    return _row(check, "OLS on participant × condition mean log RT: participant + condition + "
                "position", float(np.squeeze(ft.fvalue)), float(ft.df_num), float(ft.df_denom),
                float(ft.pvalue), "vs position 1 — " + est)


def _repetition_check(valid: pd.DataFrame) -> dict:
    """Per participant, the slope of condition-centred mean log RT over repetitions of a
    condition (block_in_condition); one-sample t test of the slopes."""
    check = "repetition of a condition (block_in_condition)"
    if valid["block_in_condition"].nunique() < 2:
        return _row(check, "—", note="one block per condition")
    cells = valid.groupby(["participant", "condition", "block_in_condition"], observed=True)[
        "rt_ms"].mean().reset_index()
    cells["log_rt"] = np.log(cells["rt_ms"])
    cells["centred"] = cells["log_rt"] - cells.groupby(["participant", "condition"],
                                                       observed=True)["log_rt"].transform("mean")
    cells["rep"] = cells["block_in_condition"] - cells.groupby(
        ["participant", "condition"], observed=True)["block_in_condition"].transform("mean")
    g = cells.groupby("participant")
    sxy = g.apply(lambda d: float((d["rep"] * d["centred"]).sum()), include_groups=False)
    sxx = g.apply(lambda d: float((d["rep"] ** 2).sum()), include_groups=False)
    slopes = (sxy / sxx.replace(0, np.nan)).dropna()
    if len(slopes) < 2:
        return _row(check, "—", note="too few participants with repeated blocks")
    m, lo, hi, p = t_ci(slopes.to_numpy())
    t = m / (slopes.std(ddof=1) / math.sqrt(len(slopes)))
    pct = lambda x: (math.exp(x) - 1) * 100  # noqa: E731
    return _row(check, "one-sample t test of per-participant slopes (mean log RT per "
                "repetition)", t * t, 1, len(slopes) - 1, p,
                f"{pct(m):+.2f}% per repetition (95% CI {pct(lo):+.2f} to {pct(hi):+.2f})",
                "F = t²")


def _order_group_check(valid: pd.DataFrame, conditions: tuple[str, ...]) -> dict:
    """Mixed ANOVA on participant mean RT: condition (within) × condition order (between)."""
    import pingouin as pg

    groups = valid.groupby("participant")["condition_order"].first()
    check = "condition × condition order group"
    if groups.nunique() < 2 or len(conditions) < 2:
        return _row(check, "—", note="one order group only")
    means = participant_means(valid).reindex(columns=list(conditions)).dropna()
    long = means.rename_axis(index="participant", columns="condition").stack() \
        .rename("rt_ms").reset_index()
    long["condition"] = long["condition"].astype(str)
    long["order"] = long["participant"].map(groups)
    if len(means) - groups.reindex(means.index).nunique() < 1:
        # no participant shares an order group: the mixed ANOVA has no error term
        return _row(check, "—", note="every order group has a single participant: no "
                    "within-group variance to test against")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aov = pg.mixed_anova(data=long, dv="rt_ms", within="condition", between="order",
                             subject="participant", correction=True, effsize="np2")
    inter = aov[aov["Source"] == "Interaction"].iloc[0]
    p = inter.get("p_GG_corr", np.nan)
    p = float(inter["p_unc"]) if pd.isna(p) else float(p)
    return _row(check, f"mixed ANOVA on participant mean RT ({groups.nunique()} orders), "
                f"GG-corrected", float(inter["F"]), float(inter["DF1"]), float(inter["DF2"]),
                p, f"partial η² = {float(inter['np2']):.3f}",
                "does the condition effect depend on the order group?")


def order_effects(test: pd.DataFrame, conditions: tuple[str, ...]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Checks on valid primary trials — position of a condition in the session, repetition
    of a condition, condition × order group — and mean RT by condition × position."""
    valid = add_position(test[test["valid"]])
    checks = pd.DataFrame([_position_check(valid, conditions), _repetition_check(valid),
                           _order_group_check(valid, conditions)])
    by_pos = (valid.groupby(["participant", "condition", "position"], observed=True)["rt_ms"]
              .mean().reset_index()
              .groupby(["condition", "position"], observed=True)["rt_ms"]
              .agg(n_participants="size", mean_rt_ms="mean", sd_ms="std").reset_index())
    by_pos["condition"] = by_pos["condition"].astype(str)
    return checks, by_pos
