"""The exclusion rules of the analysis plan (``[[exclusions.rules]]``), validated into dataclasses.

Each rule is one row of the exclusions table. Participant rules (``participants``,
``accuracy``, ``min_trials``) remove every trial of a participant; trial rules (``timeouts``,
``errors``, ``rt_window``, ``sd``, ``mad``, ``first_trials``, ``after_error``) remove trials
from the RT analyses. :mod:`analysis.cleaning.selection` applies them in the order the plan lists them.
RTs in **milliseconds**. Every ``label`` is optional: it replaces the rule's description in
the exclusions table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from analysis.input.toml_schema import FileKind, Items, OneOf, Range, Text, choice, key_error, \
    not_table, problem, table_of, type_name

TAILS = ("upper", "lower", "both")
MAD_SCALE = 1.4826  # MAD × 1.4826 estimates the SD of a normal distribution
Label = Annotated[str, Text(one_line=True, empty=True)]
Names = Annotated[tuple[str, ...], Items()]


@dataclass(frozen=True)
class DropParticipants:
    """Exclude the participants with these IDs, for the stated ``reason``."""
    kind: ClassVar[str] = "participants"
    level: ClassVar[str] = "participant"
    ids: Annotated[tuple[str, ...], Items(allow_empty=False)]
    reason: Annotated[str, Text(one_line=True)]
    label: Label = ""

    def describe(self) -> str:
        return self.label or f"participant excluded by ID: {self.reason}"


@dataclass(frozen=True)
class MinAccuracy:
    """Exclude a participant whose proportion correct over all test trials (timeouts count as
    errors) is below ``min``."""
    kind: ClassVar[str] = "accuracy"
    level: ClassVar[str] = "participant"
    min: Annotated[float, Range(0, 1)]
    label: Label = ""

    def describe(self) -> str:
        return self.label or f"participant accuracy < {self.min:g} (all their test trials)"


@dataclass(frozen=True)
class MinTrials:
    """Exclude a participant with fewer than ``min`` valid RT trials (those left by the trial
    rules listed before this one) in any cell of ``per`` (levels present in the data; a cell
    without trials counts 0). Only primary-congruency trials count unless ``per`` holds
    ``congruency``."""
    kind: ClassVar[str] = "min_trials"
    level: ClassVar[str] = "participant"
    min: Annotated[int, Range(1)]
    per: Names = ("condition",)
    label: Label = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        where = ("in a condition" if self.per == ("condition",) else
                 f"in a {' × '.join(self.per)} cell" if self.per else "in total")
        return f"participant with < {self.min} valid trials {where} (all their test trials)"


@dataclass(frozen=True)
class Timeouts:
    """Drop trials without a response (always applied first when the plan does not list it:
    a trial without RT cannot enter an RT analysis)."""
    kind: ClassVar[str] = "timeouts"
    level: ClassVar[str] = "trial"
    label: Label = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        return self.label or "timeout (no response)"


@dataclass(frozen=True)
class Errors:
    """Drop trials with a wrong response."""
    kind: ClassVar[str] = "errors"
    level: ClassVar[str] = "trial"
    label: Label = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        return self.label or "error (wrong response)"


@dataclass(frozen=True)
class RtWindow:
    """Keep RTs (ms) inside [min_ms, max_ms]; ``include_min``/``include_max``: a RT equal to
    the bound is kept. ``trim``: left out by the untrimmed sensitivity analysis."""
    kind: ClassVar[str] = "rt_window"
    level: ClassVar[str] = "trial"
    min_ms: Annotated[float | None, Range(0)] = None
    max_ms: Annotated[float | None, Range(0, lo_open=True)] = None
    include_min: bool = True
    include_max: bool = True
    trim: bool = False
    label: Label = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        lo = f"RT {'<' if self.include_min else '≤'} {self.min_ms:g} ms" \
            if self.min_ms is not None else ""
        hi = f"RT {'>' if self.include_max else '≥'} {self.max_ms:g} ms" \
            if self.max_ms is not None else ""
        return " or ".join(x for x in (lo, hi) if x)


@dataclass(frozen=True)
class Outliers:
    """Drop RTs more than ``k`` SDs (``method`` sd: mean ± k × SD) or scaled MADs (mad:
    median ± k × 1.4826 × MAD) from their cell's centre, in the ``tail`` upper, lower or
    both; cells are the groups of ``per`` over the trials the earlier rules left."""
    kind: ClassVar[str] = "outliers"
    level: ClassVar[str] = "trial"
    method: str
    k: Annotated[float, Range(0, lo_open=True)]
    tail: Annotated[str, OneOf(TAILS)] = "upper"
    per: Names = ("participant", "condition", "congruency")
    trim: bool = True
    label: Label = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        centre, spread = (("mean", "SD") if self.method == "sd" else
                          ("median", "1.4826 × MAD"))
        text = {"upper": f"RT > {centre} + {self.k:g} × {spread}",
                "lower": f"RT < {centre} − {self.k:g} × {spread}",
                "both": f"RT beyond {centre} ± {self.k:g} × {spread}"}[self.tail]
        return f"{text} (per {' × '.join(self.per) or 'all trials'})"


@dataclass(frozen=True)
class FirstTrials:
    """Drop the first ``n`` trials of every block (by ``trial_in_block``)."""
    kind: ClassVar[str] = "first_trials"
    level: ClassVar[str] = "trial"
    n: Annotated[int, Range(1)]
    label: Label = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        return self.label or (f"first trial of each block" if self.n == 1 else
                              f"first {self.n} trials of each block")


@dataclass(frozen=True)
class AfterError:
    """Drop the ``n`` trials that follow an error in the same block (``timeouts``: a
    timeout counts as an error). Judged on the test trials as presented."""
    kind: ClassVar[str] = "after_error"
    level: ClassVar[str] = "trial"
    n: Annotated[int, Range(1)] = 1
    timeouts: bool = True
    label: Label = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        what = "an error or timeout" if self.timeouts else "an error"
        return self.label or (f"trial after {what}" if self.n == 1 else
                              f"{self.n} trials after {what}")


Rule = (DropParticipants | MinAccuracy | MinTrials | Timeouts | Errors | RtWindow | Outliers
        | FirstTrials | AfterError)
#: ``rule = "..."`` in the plan → the class (sd and mad are both :class:`Outliers`).
RULE_CLASSES: dict[str, type] = {
    "participants": DropParticipants, "accuracy": MinAccuracy, "min_trials": MinTrials,
    "timeouts": Timeouts, "errors": Errors, "rt_window": RtWindow, "sd": Outliers,
    "mad": Outliers, "first_trials": FirstTrials, "after_error": AfterError}


def rule_from_table(kind: FileKind, key: str, t: Any) -> Rule:
    """One ``[[exclusions.rules]]`` table (``key``: its name for messages, e.g.
    ``exclusions.rules[2]``) as a rule dataclass; ``kind.error`` if it is not usable."""
    if not isinstance(t, dict):
        raise not_table(kind, key, t, "[[exclusions.rules]]")
    name = choice(kind, f"{key}.rule", t.get("rule"), tuple(RULE_CLASSES))
    cls = RULE_CLASSES[name]
    rule = table_of(kind, cls, {k: v for k, v in t.items() if k != "rule"}, key,
                    where=f"rule {name!r}", fixed={"method": name} if cls is Outliers else None,
                    ignore=("rule",))
    if isinstance(rule, RtWindow):
        if rule.min_ms is None and rule.max_ms is None:
            raise key_error(kind, key, " (rt_window) needs min_ms, max_ms or both")
        if rule.min_ms is not None and rule.max_ms is not None and rule.max_ms <= rule.min_ms:
            raise problem(kind, f"{key}.max_ms", t["max_ms"], f"must be > min_ms ({rule.min_ms:g})")
    return rule


def rules_from_list(kind: FileKind, key: str, v: Any) -> tuple[Rule, ...]:
    """``[[exclusions.rules]]`` (a list of tables) as rules, in the plan's order."""
    if not isinstance(v, list):
        raise key_error(kind, key, f" must be an array of tables ([[{key}]]), not {type_name(v)}")
    return tuple(rule_from_table(kind, f"{key}[{i + 1}]", t) for i, t in enumerate(v))
