"""Which trials and participants enter the analyses, and why the others do not.

:func:`prepare` applies the plan's exclusion rules to the loaded trials and returns the
test trials of the included participants with a ``valid`` flag per trial (RT analyses),
the untrimmed flag for the sensitivity analysis, and the exclusions table counting every
removed trial and participant by reason. Voice trials whose accuracy code the plan's
``voice.exclude_codes`` lists leave the RT and the accuracy analyses first (the codes are
final here: the loader has applied the coder's codes). The rules are the plan's
``[[exclusions.rules]]`` or, without them, the shorthand of ``[trials] min_rt_ms``,
``[trimming]`` and ``[participants]`` (:func:`plan_rules`); :mod:`analysis.cleaning.exclusion`
applies them. RTs in **milliseconds**.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.input.codebook import VOICE_DEVICE
from analysis.input.design import DesignError, check_declared_levels
from analysis.cleaning.exclusion import (Applied, RuleDataError, apply_rules, valid_counts,
                                         with_timeouts_first)
from analysis.input.plan import Plan, TrimmingPlan
from analysis.input.rules import Errors, MinAccuracy, MinTrials, Outliers, RtWindow, Rule, Timeouts

#: The column a design without a condition factor gets (one level).
SINGLE_CONDITION = "all"


class AnalysisError(ValueError):
    """Data and plan that cannot be analysed together; the message is one line."""


@dataclass(frozen=True)
class Prepared:
    """``test``: test trials (practice dropped) of the included participants, every
    congruency level, with boolean columns ``rt_ok`` (kept by every rule except the
    slow-tail ones, i.e. those with ``trim``), ``valid`` (kept by every rule) and
    ``primary`` (primary congruency); ``condition`` is categorical in plan order; voice
    trials left out by their accuracy code (plan ``voice.exclude_codes``) are not in it.
    ``participants``: one row per participant with n_test_trials, accuracy, valid_<condition>
    counts, ``excluded`` reason ('' if included) and ``detail``. ``exclusions``: one row per
    step (reason, trials_removed, removed_<condition>, trials_remaining,
    participants_removed, participants_remaining). ``rules_sentence``: the rules in words."""
    test: pd.DataFrame
    conditions: tuple[str, ...]
    reference: str
    participants: pd.DataFrame
    exclusions: pd.DataFrame
    trim_rule: str               # human-readable slow-tail rule
    reference_note: str          # sentence on how the reference was chosen
    rules_sentence: str = ""


def trim_rule_text(t: TrimmingPlan) -> str:
    if t.method == "mad":
        return f"RT > median + {t.k:g} × 1.4826 × MAD (per participant × condition × congruency)"
    if t.method == "sd":
        return f"RT > mean + {t.k:g} × SD (per participant × condition × congruency)"
    if t.method == "fixed":
        return f"RT > {t.max_rt_ms:g} ms"
    return "none (every RT kept)"


def plan_rules(plan: Plan) -> tuple[Rule, ...]:
    """The exclusion rules of ``plan`` in the order they apply: ``[[exclusions.rules]]``, or
    the shorthand (participant accuracy, timeouts, errors, anticipations, the slow-tail
    rule, minimum valid trials per condition); timeouts first if not listed."""
    if plan.exclusions.rules:
        return with_timeouts_first(plan.exclusions.rules)
    tp, tr, pp = plan.trials, plan.trimming, plan.participants
    rules: list[Rule] = [MinAccuracy(pp.min_accuracy), Timeouts(), Errors(),
                         RtWindow(min_ms=tp.min_rt_ms,
                                  label=f"anticipation (RT < {tp.min_rt_ms:g} ms)")]
    slow = f"slow tail: {trim_rule_text(tr)}"
    if tr.method in ("sd", "mad"):
        rules.append(Outliers(method=tr.method, k=tr.k, label=slow))
    elif tr.method == "fixed":
        rules.append(RtWindow(max_ms=tr.max_rt_ms, trim=True, label=slow))
    rules.append(MinTrials(pp.min_valid_trials))
    return tuple(rules)


def rules_sentence(plan: Plan, rules: tuple[Rule, ...]) -> str:
    """The exclusion rules in words, for the report."""
    if not plan.exclusions.rules:
        return (f"Trials: practice dropped; RT analyses use correct, non-timeout trials with "
                f"RT ≥ {plan.trials.min_rt_ms:g} ms, then the slow-tail rule "
                f"({trim_rule_text(plan.trimming)}). Participants are excluded with accuracy "
                f"below {plan.participants.min_accuracy:g} or fewer than "
                f"{plan.participants.min_valid_trials} valid trials in any condition.")
    steps = "; ".join(f"{i}. {r.describe()}" for i, r in enumerate(rules, 1))
    return (f"Trials: practice dropped; then the plan's exclusion rules, in this order: "
            f"{steps}. Participant rules remove all of a participant's trials; trial rules "
            f"remove trials from the RT analyses.")


def trim_text(plan: Plan, rules: tuple[Rule, ...]) -> str:
    """The slow-tail rule(s) in words (those the untrimmed sensitivity analysis leaves out)."""
    if not plan.exclusions.rules:
        return trim_rule_text(plan.trimming)
    trims = [r.describe() for r in rules if r.level == "trial" and r.trim]
    return "; ".join(trims) if trims else "none (every RT kept)"


def choose_conditions(trials: pd.DataFrame, plan: Plan) -> tuple[tuple[str, ...], str, str]:
    """Conditions present (plan order, then unlisted ones in order of first appearance), the
    reference and a sentence on its choice."""
    present = pd.unique(trials["condition"]).tolist()
    unlisted = [c for c in present if c not in plan.conditions.order]
    conditions = tuple(c for c in plan.conditions.order if c in present) + tuple(unlisted)
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
    if unlisted:
        note += (f" Conditions not in the plan's conditions.order ({', '.join(unlisted)}) "
                 f"follow in the order they first appear in the data.")
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


def with_design_columns(trials: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """``trials`` with ``condition`` (one level, 'all') and ``congruency`` (the plan's primary
    level) added when the data have no such factor (e.g. another lab's single-factor data)."""
    add = {}
    if "condition" not in trials.columns:
        add["condition"] = SINGLE_CONDITION
    if "congruency" not in trials.columns:
        add["congruency"] = plan.trials.primary_congruency
    return trials.assign(**add) if add else trials


def condition_choice(trials: pd.DataFrame, plan: Plan) -> tuple[tuple[str, ...], str, str]:
    """:func:`choose_conditions` of ``trials`` (with their design columns), the sentence
    naming the single condition when the data have no condition factor."""
    conditions, reference, note = choose_conditions(with_design_columns(trials, plan), plan)
    if "condition" not in trials.columns:
        note = f"The data have no condition factor: one condition, {SINGLE_CONDITION!r}."
    return conditions, reference, note


def with_condition_order(trials: pd.DataFrame, conditions: tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``trials`` whose ``condition`` is categorical in the order ``conditions``."""
    out = trials.copy()
    out["condition"] = out["condition"].astype(
        pd.CategoricalDtype(list(conditions), ordered=True))
    return out


def non_practice_trials(all_t: pd.DataFrame, primary_congruency: str) -> pd.DataFrame:
    """The non-practice trials of ``all_t``; AnalysisError when there are none or when none
    has the plan's primary congruency."""
    test = all_t[all_t["is_practice"] == 0].copy()
    if test.empty:
        raise AnalysisError("the data hold practice trials only; nothing to analyse")
    pc = primary_congruency
    if pc not in set(test["congruency"]):
        raise AnalysisError(f"plan key trials.primary_congruency = {pc!r} but the data have "
                            f"congruency levels {', '.join(sorted(set(test['congruency'])))}; "
                            f"set it to one of them")
    return test


def without_masked(test: pd.DataFrame, steps: list[tuple[str, pd.Series]]) -> pd.DataFrame:
    """``test`` without the trials any (reason, mask) step of ``steps`` removes."""
    for _, mask in steps:
        test = test[~mask.reindex(test.index, fill_value=False)]
    return test


def rule_outcomes(test: pd.DataFrame, rules: tuple[Rule, ...], conditions: tuple[str, ...]
                  ) -> tuple[Applied, Applied]:
    """The rules applied to ``test`` (with ``primary``): every rule, and every rule but
    the slow-tail ones (the same participants excluded); AnalysisError for data a rule
    cannot use."""
    try:
        full = apply_rules(test, rules, test["primary"], conditions)
        untrimmed = apply_rules(test, rules, test["primary"], conditions, skip_trim=True,
                                excluded_before=[o.before for o in full.outcomes])
    except RuleDataError as e:
        raise AnalysisError(str(e)) from None
    return full, untrimmed


def prepare(trials: pd.DataFrame, plan: Plan) -> Prepared:
    """Apply the plan's exclusion rules (see ``analysis/plan.toml``) to ``trials``: choose
    the conditions and reference, keep the test trials, leave out the voice trials of the
    excluded accuracy codes, flag ``primary``, ``rt_ok`` and ``valid``, count every removal
    and keep the included participants (see :class:`Prepared`)."""
    conditions, reference, ref_note = condition_choice(trials, plan)
    all_t = with_condition_order(with_design_columns(trials, plan), conditions)
    pc = plan.trials.primary_congruency
    test = non_practice_trials(all_t, pc)
    try:
        check_declared_levels(test, plan.design)
    except DesignError as e:
        raise AnalysisError(str(e)) from None
    everyone = sorted(pd.unique(test["participant"]).tolist())
    code_steps = voice_code_exclusions(test, plan.voice.exclude_codes)
    test = without_masked(test, code_steps)
    test["primary"] = test["congruency"] == pc
    rules = plan_rules(plan)
    full, untrimmed = rule_outcomes(test, rules, conditions)
    test["rt_ok"] = untrimmed.kept
    test["valid"] = full.kept
    pp = participants_table(test, everyone, conditions, full)
    exclusions = exclusions_table(all_t, test, conditions, code_steps, full, pc)
    included = pp.loc[pp["excluded"] == "", "participant"]
    test = test[test["participant"].isin(included)].reset_index(drop=True)
    return Prepared(test=test, conditions=conditions, reference=reference, participants=pp,
                    exclusions=exclusions, trim_rule=trim_text(plan, rules),
                    reference_note=ref_note, rules_sentence=rules_sentence(plan, rules))


def participants_table(test: pd.DataFrame, everyone: list[str], conditions: tuple[str, ...],
                       applied: Applied) -> pd.DataFrame:
    """One row per participant: participant, n_test_trials, accuracy (all test trials, NaN if
    none is left), valid_<condition> (valid primary trials), excluded (short reason or ''),
    detail (every participant rule they fail)."""
    pp = test.groupby("participant", sort=True).agg(
        n_test_trials=("correct", "size"), accuracy=("correct", "mean"))
    if len(pp) < len(everyone):   # every test trial left out by its voice code
        pp = pp.reindex(pd.Index(everyone, name="participant"))
        pp["n_test_trials"] = pp["n_test_trials"].fillna(0).astype("int64")
    counts = valid_counts(test, test["valid"], test["primary"], ("condition",), conditions)
    pp = pp.join(counts.reindex(pp.index).add_prefix("valid_"))
    pp["excluded"] = [applied.excluded.get(p, "") for p in pp.index]
    pp["detail"] = ["; ".join(applied.details.get(p, [])) for p in pp.index]
    return pp.reset_index()


def exclusions_table(all_t: pd.DataFrame, test: pd.DataFrame, conditions: tuple[str, ...],
                     code_steps: list[tuple[str, pd.Series]], applied: Applied,
                     primary_congruency: str) -> pd.DataFrame:
    """The exclusions table: one row per step, every trial counted once, in this order:
    practice, voice codes, participant rules (all their trials), trial rules (among the
    included participants), the non-primary trials, and the trials left."""
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
    for o in applied.outcomes:
        if o.removed is None:
            step(o.rule.describe(), all_t["participant"].isin(o.excluded), len(o.excluded))
    for o in applied.outcomes:
        if o.removed is not None:
            step(o.rule.describe(), o.removed)
    other = ~test["primary"]
    if other.any():
        step(f"valid {'/'.join(sorted(set(test.loc[other, 'congruency'])))} trials "
             f"(interference analysis only)", other)
    rows.append({"reason": f"valid {primary_congruency} trials in the primary RT analysis",
                 "trials_removed": 0,
                 **{f"removed_{c}": 0 for c in conditions},
                 "trials_remaining": len(remaining), "participants_removed": 0,
                 "participants_remaining": n_part})
    return pd.DataFrame(rows)
