"""Apply the plan's exclusion rules (:mod:`analysis.input.rules`) to test trials, in the plan's order.

Trial rules remove trials from the RT analyses; each sees only the trials the rules before it
kept. Participant rules exclude participants; a participant rule listed after trial rules
(``min_trials``) counts the trials those left. Trial rules are applied to every participant's
trials (so the participants table can show what an excluded participant had left), but the
cell statistics of an ``sd``/``mad`` rule whose cells pool participants (``per`` without
``participant``) come only from participants not excluded by an earlier rule. RTs in **ms**.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.input.rules import (AfterError, DropParticipants, Errors, FirstTrials, MAD_SCALE,
                                  MinAccuracy, MinTrials, Outliers, RtWindow, Rule, Timeouts)

#: The participants table's short reason per participant rule (ID rules: their own reason).
SHORT_REASONS = {"accuracy": "accuracy", "min_trials": "too few valid trials"}
BLOCK_KEYS = ["participant", "session", "block"]


class RuleDataError(ValueError):
    """A rule the data cannot support (a missing column, an unknown participant)."""


@dataclass
class Outcome:
    """What one rule did. Trial rules: ``removed`` (boolean per test trial, only trials that
    were still kept). Participant rules: ``excluded`` (participants newly excluded, in
    order). ``before``: participants excluded by the rules listed before it."""
    rule: Rule
    removed: pd.Series | None = None
    excluded: list[str] = field(default_factory=list)
    before: frozenset[str] = frozenset()


@dataclass
class Applied:
    """``kept``: per test trial, left by every trial rule; ``excluded``: participant → the
    short reason of the first rule that excluded them; ``details``: participant → one text
    per participant rule they fail (in rule order); ``outcomes``: one per rule."""
    kept: pd.Series
    excluded: dict[str, str]
    details: dict[str, list[str]]
    outcomes: list[Outcome]


def with_timeouts_first(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules``, with :class:`Timeouts` before every trial rule when the plan does not list
    it (a trial without an RT cannot enter an RT analysis)."""
    if any(isinstance(r, Timeouts) for r in rules):
        return rules
    first = next((i for i, r in enumerate(rules) if r.level == "trial"), len(rules))
    return rules[:first] + (Timeouts(),) + rules[first:]


def apply_rules(test: pd.DataFrame, rules: tuple[Rule, ...], primary: pd.Series,
                conditions: tuple[str, ...], skip_trim: bool = False,
                excluded_before: list[frozenset[str]] | None = None) -> Applied:
    """Walk ``rules`` over ``test`` (test trials; ``primary``: boolean per trial, primary
    congruency). ``skip_trim``: leave out rules with ``trim`` set and every participant rule,
    using ``excluded_before`` (the ``before`` sets of a full walk) for the cell statistics —
    the untrimmed sensitivity analysis of the same participants."""
    kept = pd.Series(True, index=test.index)
    excluded: dict[str, str] = {}
    details: dict[str, list[str]] = {}
    outcomes: list[Outcome] = []
    for i, rule in enumerate(rules):
        before = (excluded_before[i] if excluded_before is not None
                  else frozenset(excluded))
        if rule.level == "trial":
            if skip_trim and rule.trim:
                continue
            removed = trial_mask(rule, test, kept, before) & kept
            kept = kept & ~removed
            outcomes.append(Outcome(rule, removed=removed, before=before))
            continue
        if skip_trim:
            continue
        new = []
        for pid, detail in participant_failures(rule, test, kept, primary, conditions).items():
            details.setdefault(pid, []).append(detail)
            if pid not in excluded:
                excluded[pid] = (rule.reason if isinstance(rule, DropParticipants)
                                 else SHORT_REASONS[rule.kind])
                new.append(pid)
        outcomes.append(Outcome(rule, excluded=new, before=before))
    return Applied(kept, excluded, details, outcomes)


def _need(test: pd.DataFrame, columns, rule: Rule) -> None:
    missing = [c for c in columns if c not in test.columns]
    if missing:
        raise RuleDataError(f"exclusion rule '{rule.describe()}' needs column "
                            f"{missing[0]}, which the data do not have (columns: "
                            f"{', '.join(c for c in test.columns if not c.startswith('_'))})")


def trial_mask(rule: Rule, test: pd.DataFrame, kept: pd.Series,
               excluded: frozenset[str]) -> pd.Series:
    """Boolean per trial: the trials ``rule`` removes (before restricting to ``kept``)."""
    timeout = test["timeout"] == 1
    if isinstance(rule, Timeouts):
        return timeout
    if isinstance(rule, Errors):
        return ~timeout & (test["correct"] == 0)
    if isinstance(rule, RtWindow):
        return _outside_window(test["rt_ms"], rule)
    if isinstance(rule, Outliers):
        _need(test, rule.per, rule)
        pooled = "participant" not in rule.per
        population = kept & ~test["participant"].isin(excluded) if pooled else kept
        return outliers(test["rt_ms"], test[list(rule.per)], population, rule)
    if isinstance(rule, FirstTrials):
        _need(test, ["trial_in_block"], rule)
        return test["trial_in_block"] <= rule.n
    if isinstance(rule, AfterError):
        _need(test, BLOCK_KEYS + ["trial_in_block"], rule)
        return after_error(test, rule)
    raise AssertionError(rule)


def _outside_window(rt: pd.Series, w: RtWindow) -> pd.Series:
    out = pd.Series(False, index=rt.index)
    if w.min_ms is not None:
        out |= (rt < w.min_ms) if w.include_min else (rt <= w.min_ms)
    if w.max_ms is not None:
        out |= (rt > w.max_ms) if w.include_max else (rt >= w.max_ms)
    return out


def outliers(rt: pd.Series, cells: pd.DataFrame, population: pd.Series,
             rule: Outliers) -> pd.Series:
    """Boolean per trial: RT (ms) beyond its cell's cutoff; cell statistics (mean and SD, or
    median and MAD) over the ``population`` trials only. Cells without statistics (one trial
    for an SD, none in the population): False."""
    keys = [cells[c].astype(str) for c in cells.columns]
    x = rt.where(population)
    if keys:
        g = x.groupby(keys, sort=False)
        if rule.method == "sd":
            centre, spread = g.transform("mean"), g.transform("std")
        else:
            centre = g.transform("median")
            spread = (x - centre).abs().groupby(keys, sort=False).transform("median")
    else:
        c = x.mean() if rule.method == "sd" else x.median()
        s = x.std() if rule.method == "sd" else (x - c).abs().median()
        centre, spread = pd.Series(c, index=rt.index), pd.Series(s, index=rt.index)
    dist = rule.k * spread if rule.method == "sd" else rule.k * MAD_SCALE * spread
    out = {"upper": rt > centre + dist, "lower": rt < centre - dist,
           "both": (rt > centre + dist) | (rt < centre - dist)}[rule.tail]
    return out.fillna(False).astype(bool)


def after_error(test: pd.DataFrame, rule: AfterError) -> pd.Series:
    """Boolean per trial: one of the ``rule.n`` trials before it in its block (same
    participant, session, block; by ``trial_in_block``) is an error (or a timeout)."""
    err = (test["correct"] == 0) & (rule.timeouts | (test["timeout"] == 0))
    errs = test.loc[err, BLOCK_KEYS + ["trial_in_block"]]
    here = pd.MultiIndex.from_frame(test[BLOCK_KEYS + ["trial_in_block"]].astype(
        {"trial_in_block": "int64"}))
    out = np.zeros(len(test), dtype=bool)
    for lag in range(1, rule.n + 1):
        shifted = errs.assign(trial_in_block=errs["trial_in_block"].astype("int64") + lag)
        out |= here.isin(pd.MultiIndex.from_frame(shifted))
    return pd.Series(out, index=test.index)


def participant_failures(rule: Rule, test: pd.DataFrame, kept: pd.Series, primary: pd.Series,
                         conditions: tuple[str, ...]) -> dict[str, str]:
    """Participants that fail ``rule`` → one text saying why (in participant order)."""
    if isinstance(rule, DropParticipants):
        present = set(test["participant"])
        absent = [p for p in rule.ids if p not in present]
        if absent:
            raise RuleDataError(f"exclusion rule '{rule.describe()}' names participant "
                                f"{absent[0]!r}, who is not in the data; correct the ID in "
                                f"the plan's ids")
        return {p: rule.reason for p in sorted(rule.ids)}
    if isinstance(rule, MinAccuracy):
        acc = test.groupby("participant", sort=True)["correct"].mean()
        low = acc[acc < rule.min]
        return {p: f"accuracy {a:.3f} < {rule.min:g}" for p, a in low.items()}
    if isinstance(rule, MinTrials):
        _need(test, rule.per, rule)
        counts = valid_counts(test, kept, primary, rule.per, conditions)
        out = {}
        for pid, row in counts.iterrows():
            short = [f"{cell} {n}" for cell, n in row.items() if n < rule.min]
            if short:
                out[pid] = f"valid trials < {rule.min}: " + ", ".join(short)
        return out
    raise AssertionError(rule)


def valid_counts(test: pd.DataFrame, kept: pd.Series, primary: pd.Series,
                 per: tuple[str, ...], conditions: tuple[str, ...]) -> pd.DataFrame:
    """Kept trials per participant (rows, sorted) × cell of ``per`` (columns: every
    combination of the levels in the data, conditions in analysis order; labels joined by
    ' × '; 'all' when ``per`` is empty). Only primary-congruency trials count unless ``per``
    holds ``congruency``."""
    use = kept if "congruency" in per else kept & primary
    everyone = pd.Index(sorted(pd.unique(test["participant"]).tolist()), name="participant")
    if not per:
        n = test[use].groupby("participant").size().reindex(everyone, fill_value=0)
        return n.to_frame("all").astype(int)
    levels = [list(conditions) if c == "condition" else sorted(pd.unique(test[c]).tolist())
              for c in per]
    cols = (pd.Index(levels[0], name=per[0]) if len(per) == 1 else
            pd.MultiIndex.from_product(levels, names=list(per)))
    keys = [test.loc[use, c].astype(object) for c in per]
    n = (test[use].groupby([test.loc[use, "participant"]] + keys, observed=True).size()
         .unstack(list(range(1, len(per) + 1))))
    n = n.reindex(index=everyone, columns=cols).fillna(0).astype(int)
    n.columns = [" × ".join(str(x) for x in (c if isinstance(c, tuple) else (c,)))
                 for c in n.columns]
    return n
