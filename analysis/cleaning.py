"""Which trials and participants enter the analyses, and why the others do not.

:func:`prepare` applies the plan's exclusion rules to the loaded trials and returns the
test trials of the included participants with a ``valid`` flag per trial (RT analyses),
the untrimmed flag for the sensitivity analysis, and the exclusions table counting every
removed trial and participant by reason. Voice trials whose accuracy code the plan's
``voice.exclude_codes`` lists leave the RT and the accuracy analyses first (the codes are
final here: the loader has applied the coder's codes). RTs in **milliseconds**.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .codebook import VOICE_DEVICE
from .plan import Plan, TrimmingPlan

MAD_SCALE = 1.4826  # MAD × 1.4826 estimates the SD of a normal distribution


class AnalysisError(ValueError):
    """Data and plan that cannot be analysed together; the message is one line."""


@dataclass(frozen=True)
class Prepared:
    """``test``: test trials (practice dropped) of the included participants, every
    congruency level, with boolean columns ``rt_ok`` (correct, no timeout, RT ≥ min),
    ``valid`` (``rt_ok`` and not in the slow tail) and ``primary`` (primary congruency);
    ``condition`` is categorical in plan order; voice trials left out by their accuracy
    code (plan ``voice.exclude_codes``) are not in it. ``participants``: one row per participant
    with accuracy, valid-trial counts and ``excluded`` reason ('' if included)."""
    test: pd.DataFrame
    conditions: tuple[str, ...]
    reference: str
    participants: pd.DataFrame
    exclusions: pd.DataFrame
    trim_rule: str               # human-readable slow-tail rule
    reference_note: str          # sentence on how the reference was chosen


def trim_rule_text(t: TrimmingPlan) -> str:
    if t.method == "mad":
        return f"RT > median + {t.k:g} × 1.4826 × MAD (per participant × condition × congruency)"
    if t.method == "sd":
        return f"RT > mean + {t.k:g} × SD (per participant × condition × congruency)"
    if t.method == "fixed":
        return f"RT > {t.max_rt_ms:g} ms"
    return "none (every RT kept)"


def slow_tail(rt: pd.Series, cells: list[pd.Series], t: TrimmingPlan) -> pd.Series:
    """Boolean: RT (ms) above the plan's slow-tail cutoff of its cell (NaN RTs: False)."""
    if t.method == "none":
        return pd.Series(False, index=rt.index)
    if t.method == "fixed":
        return rt > t.max_rt_ms
    g = rt.groupby(cells, observed=True, sort=False)
    if t.method == "sd":
        cutoff = g.transform("mean") + t.k * g.transform("std")
    else:
        med = g.transform("median")
        mad = (rt - med).abs().groupby(cells, observed=True, sort=False).transform("median")
        cutoff = med + t.k * MAD_SCALE * mad
    return (rt > cutoff).fillna(False).astype(bool)


def choose_conditions(trials: pd.DataFrame, plan: Plan) -> tuple[tuple[str, ...], str, str]:
    """Conditions present (plan order), the reference and a sentence on its choice."""
    present = set(pd.unique(trials["condition"]))
    unlisted = sorted(present - set(plan.conditions.order))
    if unlisted:
        raise AnalysisError(f"the data hold condition(s) {', '.join(unlisted)} that the plan's "
                            f"conditions.order does not list; add them to the plan")
    conditions = tuple(c for c in plan.conditions.order if c in present)
    ref = plan.conditions.reference
    if ref == "auto":
        ref = "stand" if "stand" in conditions else conditions[0]
        note = ("Reference condition: stand." if ref == "stand" else
                f"Reference condition: {ref} (no standing condition in the data; the first "
                f"condition of the plan's order is the reference).")
    else:
        if ref not in conditions:
            raise AnalysisError(f"plan key conditions.reference = {ref!r} but the data have no "
                                f"{ref} trials; conditions present: {', '.join(conditions)}")
        note = f"Reference condition: {ref} (set in the plan)."
    return conditions, ref, note


def voice_code_exclusions(test: pd.DataFrame, exclude_codes: tuple[str, ...]
                          ) -> list[tuple[str, pd.Series]]:
    """(exclusion reason, mask) per excluded accuracy code, for data with voice trials
    ([] without any): ``unclear`` voice trials, and ``uncoded`` voice trials with speech (a
    trial without speech is a timeout whatever its code). Frames without
    ``response_device`` (the power simulation's) have no voice trials."""
    if "response_device" not in test.columns:
        return []
    voice = test["response_device"] == VOICE_DEVICE
    if not voice.any():
        return []
    code = test["accuracy_code"]
    out = []
    if "unclear" in exclude_codes:
        out.append(("voice trial coded unclear (left out of RT and accuracy analyses)",
                    voice & (code == "unclear")))
    if "uncoded" in exclude_codes:
        out.append(("voice trial with speech but no accuracy code, uncoded (left out of RT "
                    "and accuracy analyses)",
                    voice & (code == "uncoded") & (test["timeout"] == 0)))
    return out


def prepare(trials: pd.DataFrame, plan: Plan) -> Prepared:
    """Apply the plan's trial and participant rules (see ``analysis/plan.toml``)."""
    conditions, reference, ref_note = choose_conditions(trials, plan)
    order = pd.CategoricalDtype(list(conditions), ordered=True)
    all_t = trials.copy()
    all_t["condition"] = all_t["condition"].astype(order)
    practice = all_t["is_practice"] == 1
    test = all_t[~practice].copy()
    if test.empty:
        raise AnalysisError("the data hold practice trials only; nothing to analyse")
    everyone = sorted(pd.unique(test["participant"]).tolist())
    code_steps = voice_code_exclusions(test, plan.voice.exclude_codes)
    for _, mask in code_steps:
        test = test[~mask.reindex(test.index, fill_value=False)]
    tp = plan.trials
    test["primary"] = test["congruency"] == tp.primary_congruency
    timeout = test["timeout"] == 1
    error = ~timeout & (test["correct"] == 0)
    fast = ~timeout & ~error & (test["rt_ms"] < tp.min_rt_ms)
    test["rt_ok"] = ~timeout & ~error & ~fast
    rt_ok = test["rt_ms"].where(test["rt_ok"])
    cells = [test["participant"], test["condition"], test["congruency"]]
    slow = slow_tail(rt_ok, cells, plan.trimming) & test["rt_ok"]
    test["valid"] = test["rt_ok"] & ~slow

    # participants
    pp = test.groupby("participant", sort=True).agg(
        n_test_trials=("correct", "size"), accuracy=("correct", "mean"))
    if len(pp) < len(everyone):   # every test trial left out by its voice code
        pp = pp.reindex(pd.Index(everyone, name="participant"))
        pp["n_test_trials"] = pp["n_test_trials"].fillna(0).astype("int64")
    valid_primary = test[test["valid"] & test["primary"]]
    counts = (valid_primary.groupby(["participant", "condition"], observed=False).size()
              .unstack("condition").reindex(index=pp.index, columns=list(conditions))
              .fillna(0).astype(int))
    pp = pp.join(counts.add_prefix("valid_"))
    low_acc = pp["accuracy"] < plan.participants.min_accuracy
    few = counts.min(axis=1) < plan.participants.min_valid_trials
    reason = np.where(low_acc, "accuracy", np.where(few, "too few valid trials", ""))
    pp["excluded"] = reason
    detail = []
    for pid, row in pp.iterrows():
        bits = []
        if low_acc[pid]:
            bits.append(f"accuracy {row['accuracy']:.3f} < {plan.participants.min_accuracy:g}")
        short = [f"{c} {counts.at[pid, c]}" for c in conditions
                 if counts.at[pid, c] < plan.participants.min_valid_trials]
        if short:
            bits.append(f"valid trials < {plan.participants.min_valid_trials}: " + ", ".join(short))
        detail.append("; ".join(bits))
    pp["detail"] = detail
    pp = pp.reset_index()

    # exclusions table: sequential, every test/practice trial counted once
    excluded_acc = set(pp.loc[pp["excluded"] == "accuracy", "participant"])
    excluded_few = set(pp.loc[pp["excluded"] == "too few valid trials", "participant"])
    rows = []
    remaining = all_t
    n_part = remaining["participant"].nunique()

    def step(reason: str, mask: pd.Series, participants_removed: int = 0) -> None:
        nonlocal remaining, n_part
        removed = remaining[mask.reindex(remaining.index, fill_value=False)]
        remaining = remaining.drop(index=removed.index)
        by_c = removed.groupby("condition", observed=False).size()
        n_part -= participants_removed
        rows.append({"reason": reason, "trials_removed": len(removed),
                     **{f"removed_{c}": int(by_c.get(c, 0)) for c in conditions},
                     "trials_remaining": len(remaining),
                     "participants_removed": participants_removed,
                     "participants_remaining": n_part})

    step("practice trials", all_t["is_practice"] == 1)
    for reason, mask in code_steps:
        step(reason, mask)
    step(f"participant accuracy < {plan.participants.min_accuracy:g} (all their test trials)",
         all_t["participant"].isin(excluded_acc), len(excluded_acc))
    step(f"participant with < {plan.participants.min_valid_trials} valid trials in a "
         f"condition (all their test trials)",
         all_t["participant"].isin(excluded_few), len(excluded_few))
    step("timeout (no response)", timeout)
    step("error (wrong response)", error)
    step(f"anticipation (RT < {tp.min_rt_ms:g} ms)", fast)
    step(f"slow tail: {trim_rule_text(plan.trimming)}", slow)
    other = ~test["primary"]
    if other.any():
        step(f"valid {'/'.join(sorted(set(test.loc[other, 'congruency'])))} trials "
             f"(interference analysis only)", other)
    rows.append({"reason": f"valid {tp.primary_congruency} trials in the primary RT analysis",
                 "trials_removed": 0,
                 **{f"removed_{c}": 0 for c in conditions},
                 "trials_remaining": len(remaining), "participants_removed": 0,
                 "participants_remaining": n_part})
    exclusions = pd.DataFrame(rows)

    included = pp.loc[pp["excluded"] == "", "participant"]
    test = test[test["participant"].isin(included)].reset_index(drop=True)
    return Prepared(test=test, conditions=conditions, reference=reference, participants=pp,
                    exclusions=exclusions, trim_rule=trim_rule_text(plan.trimming),
                    reference_note=ref_note)
