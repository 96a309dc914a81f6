"""The exclusion rules of the analysis plan (``[[exclusions.rules]]``), validated into dataclasses.

Each rule is one row of the exclusions table. Participant rules (``participants``,
``accuracy``, ``min_trials``) remove every trial of a participant; trial rules (``timeouts``,
``errors``, ``rt_window``, ``sd``, ``mad``, ``first_trials``, ``after_error``) remove trials
from the RT analyses. :mod:`analysis.cleaning.selection` applies them in the order the plan lists them.
RTs in **milliseconds**. Every ``label`` is optional: it replaces the rule's description in
the exclusions table.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from analysis.input.validation import checked_number, type_name as _type_name

TAILS = ("upper", "lower", "both")
MAD_SCALE = 1.4826  # MAD × 1.4826 estimates the SD of a normal distribution


class RuleError(ValueError):
    """A rule the plan cannot use; the message is one line naming the key."""


@dataclass(frozen=True)
class DropParticipants:
    """Exclude the participants with these IDs, for the stated ``reason``."""
    kind: ClassVar[str] = "participants"
    level: ClassVar[str] = "participant"
    ids: tuple[str, ...]
    reason: str
    label: str = ""

    def describe(self) -> str:
        return self.label or f"participant excluded by ID: {self.reason}"


@dataclass(frozen=True)
class MinAccuracy:
    """Exclude a participant whose proportion correct over all test trials (timeouts count as
    errors) is below ``min``."""
    kind: ClassVar[str] = "accuracy"
    level: ClassVar[str] = "participant"
    min: float
    label: str = ""

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
    min: int
    per: tuple[str, ...] = ("condition",)
    label: str = ""

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
    label: str = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        return self.label or "timeout (no response)"


@dataclass(frozen=True)
class Errors:
    """Drop trials with a wrong response."""
    kind: ClassVar[str] = "errors"
    level: ClassVar[str] = "trial"
    label: str = ""
    trim: ClassVar[bool] = False

    def describe(self) -> str:
        return self.label or "error (wrong response)"


@dataclass(frozen=True)
class RtWindow:
    """Keep RTs (ms) inside [min_ms, max_ms]; ``include_min``/``include_max``: a RT equal to
    the bound is kept. ``trim``: left out by the untrimmed sensitivity analysis."""
    kind: ClassVar[str] = "rt_window"
    level: ClassVar[str] = "trial"
    min_ms: float | None = None
    max_ms: float | None = None
    include_min: bool = True
    include_max: bool = True
    trim: bool = False
    label: str = ""

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
    k: float
    tail: str = "upper"
    per: tuple[str, ...] = ("participant", "condition", "congruency")
    trim: bool = True
    label: str = ""

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
    n: int
    label: str = ""
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
    n: int = 1
    timeouts: bool = True
    label: str = ""
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


def _finite(key: str, v: Any, lo: float, integer: bool = False, lo_open: bool = False) -> float:
    return checked_number(key, v, RuleError, lo=lo, integer=integer, lo_open=lo_open)


def _text(key: str, v: Any, allow_empty: bool = False) -> str:
    if not isinstance(v, str) or (not allow_empty and not v.strip()) or "\n" in v:
        raise RuleError(f"plan key {key} = {v!r} must be a one-line"
                        f"{'' if allow_empty else ' non-empty'} string")
    return v


def _names(key: str, v: Any, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(v, list) or (not v and not allow_empty) or \
            any(not isinstance(x, str) or not x.strip() for x in v):
        raise RuleError(f"plan key {key} = {v!r} must be a{'n' if allow_empty else ' non-empty'}"
                        f" array of non-empty strings")
    if len(set(v)) != len(v):
        raise RuleError(f"plan key {key} = {v!r} repeats a value")
    return tuple(v)


def _flag(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise RuleError(f"plan key {key} = {v!r} is {_type_name(v)}; it must be true or false")
    return v


def rule_from_table(key: str, t: Any) -> Rule:
    """One ``[[exclusions.rules]]`` table (``key``: its name for messages, e.g.
    ``exclusions.rules[2]``) as a rule dataclass; :class:`RuleError` if it is not usable."""
    if not isinstance(t, dict):
        raise RuleError(f"plan key {key} must be a table ([[exclusions.rules]]), not "
                        f"{_type_name(t)}")
    kind = t.get("rule")
    if kind not in RULE_CLASSES:
        raise RuleError(f"plan key {key}.rule = {kind!r} is not allowed; use one of "
                        f"{', '.join(RULE_CLASSES)}")
    cls = RULE_CLASSES[kind]
    allowed = ["rule"] + [f.name for f in fields(cls) if f.name != "method"]
    for k in t:
        if k not in allowed:
            raise RuleError(f"plan key {key}.{k} is unknown; rule {kind!r} allows "
                            f"{', '.join(allowed)}")
    required = [f.name for f in fields(cls) if f.name != "method" and f.default is MISSING]
    for k in required:
        if k not in t:
            raise RuleError(f"plan key {key}.{k} is missing; rule {kind!r} needs it")
    k_ = lambda name: f"{key}.{name}"  # noqa: E731
    label = _text(k_("label"), t.get("label", ""), allow_empty=True)
    if cls is DropParticipants:
        return DropParticipants(ids=_names(k_("ids"), t["ids"], allow_empty=False),
                                reason=_text(k_("reason"), t["reason"]), label=label)
    if cls is MinAccuracy:
        v = _finite(k_("min"), t["min"], 0)
        if v > 1:
            raise RuleError(f"plan key {k_('min')} = {v!r} is out of range; it must be between "
                            f"0 and 1")
        return MinAccuracy(min=float(v), label=label)
    if cls is MinTrials:
        return MinTrials(min=int(_finite(k_("min"), t["min"], 1, integer=True)),
                         per=_names(k_("per"), t.get("per", ["condition"]), allow_empty=True),
                         label=label)
    if cls in (Timeouts, Errors):
        return cls(label=label)
    if cls is RtWindow:
        lo, hi = t.get("min_ms"), t.get("max_ms")
        if lo is None and hi is None:
            raise RuleError(f"plan key {key} (rt_window) needs min_ms, max_ms or both")
        lo = None if lo is None else float(_finite(k_("min_ms"), lo, 0))
        hi = None if hi is None else float(_finite(k_("max_ms"), hi, 0, lo_open=True))
        if lo is not None and hi is not None and hi <= lo:
            raise RuleError(f"plan key {k_('max_ms')} = {hi:g} must be > min_ms ({lo:g})")
        return RtWindow(min_ms=lo, max_ms=hi,
                        include_min=_flag(k_("include_min"), t.get("include_min", True)),
                        include_max=_flag(k_("include_max"), t.get("include_max", True)),
                        trim=_flag(k_("trim"), t.get("trim", False)), label=label)
    if cls is Outliers:
        tail = t.get("tail", "upper")
        if tail not in TAILS:
            raise RuleError(f"plan key {k_('tail')} = {tail!r} is not allowed; use one of "
                            f"{', '.join(TAILS)}")
        return Outliers(method=kind, k=float(_finite(k_("k"), t["k"], 0, lo_open=True)),
                        tail=tail,
                        per=_names(k_("per"), t.get("per", list(Outliers.per)), allow_empty=True),
                        trim=_flag(k_("trim"), t.get("trim", True)), label=label)
    if cls is FirstTrials:
        return FirstTrials(n=int(_finite(k_("n"), t["n"], 1, integer=True)), label=label)
    if cls is AfterError:
        return AfterError(n=int(_finite(k_("n"), t.get("n", 1), 1, integer=True)),
                          timeouts=_flag(k_("timeouts"), t.get("timeouts", True)), label=label)
    raise AssertionError(cls)


def rules_from_list(key: str, v: Any) -> tuple[Rule, ...]:
    """``[[exclusions.rules]]`` (a list of tables) as rules, in the plan's order."""
    if not isinstance(v, list):
        raise RuleError(f"plan key {key} must be an array of tables ([[{key}]]), not "
                        f"{_type_name(v)}")
    return tuple(rule_from_table(f"{key}[{i + 1}]", t) for i, t in enumerate(v))
