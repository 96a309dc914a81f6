"""The analysis plan: a TOML file (default ``analysis/plan.toml``) validated into dataclasses.

Every key is optional in a user's plan (missing keys take the defaults of
``analysis/plan.toml``); unknown keys, wrong types and values outside the allowed set raise
:class:`PlanError` with a one-line message naming the key, the value and what is allowed.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from analysis.input.codebook import CODER_ID_PATTERN
from analysis.input.design import DesignError, DesignPlan, NamedContrast, design_plan_from_table, \
    named_contrasts_from_list
from analysis.input.rules import Rule, RuleError, rules_from_list
from analysis.input.validation import checked_number, type_name as _type_name

DEFAULT_PLAN_PATH = Path(__file__).resolve().parents[1] / "plan.toml"  # analysis/plan.toml
TRIM_METHODS = ("none", "fixed", "sd", "mad")
ADJUST_METHODS = ("holm", "bonferroni", "none")
#: Accuracy codes whose voice trials may be left out of the RT and accuracy analyses.
EXCLUDABLE_CODES = ("unclear", "uncoded")
#: The contrast the study is about, (a, b) = a − b: walking backward vs walking forward. Every
#: table of condition pairs reads this pair in this direction; the power analysis simulates it.
PRIMARY_CONTRAST: tuple[str, str] = ("backward", "forward")


class PlanError(ValueError):
    """An analysis plan that cannot be used; the message is one line."""


@dataclass(frozen=True)
class ConditionsPlan:
    order: tuple[str, ...] = ("stand", "forward", "backward", "left", "right")
    reference: str = "auto"


def condition_pairs(conditions: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every pair (a, b) of ``conditions`` (a − b), a the later one in ``conditions``, except
    that the primary contrast reads as :data:`PRIMARY_CONTRAST` (backward − forward)."""
    pairs = [(conditions[j], conditions[i]) for i in range(len(conditions))
             for j in range(i + 1, len(conditions))]
    return [PRIMARY_CONTRAST if set(p) == set(PRIMARY_CONTRAST) else p for p in pairs]


@dataclass(frozen=True)
class TrialsPlan:
    primary_congruency: str = "incongruent"
    min_rt_ms: float = 200.0


@dataclass(frozen=True)
class TrimmingPlan:
    method: str = "mad"
    k: float = 3.0
    max_rt_ms: float = 2000.0


@dataclass(frozen=True)
class ParticipantsPlan:
    min_accuracy: float = 0.8
    min_valid_trials: int = 20


@dataclass(frozen=True)
class ContrastsPlan:
    adjust: str = "holm"
    named: tuple[NamedContrast, ...] = ()   # [[contrasts.named]] (analysis.input.design)


@dataclass(frozen=True)
class VoicePlan:
    coder: str = ""
    exclude_codes: tuple[str, ...] = EXCLUDABLE_CODES


@dataclass(frozen=True)
class ExclusionsPlan:
    """``[[exclusions.rules]]``: the exclusion rules in the order they apply (:mod:`analysis.input.rules`).
    Empty: the rules of [trials] min_rt_ms, [trimming] and [participants] (the shorthand)."""
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class ReportPlan:
    title: str = "Stroop while standing and walking: results"


@dataclass(frozen=True)
class Plan:
    conditions: ConditionsPlan = ConditionsPlan()
    trials: TrialsPlan = TrialsPlan()
    trimming: TrimmingPlan = TrimmingPlan()
    participants: ParticipantsPlan = ParticipantsPlan()
    contrasts: ContrastsPlan = ContrastsPlan()
    voice: VoicePlan = VoicePlan()
    exclusions: ExclusionsPlan = ExclusionsPlan()
    report: ReportPlan = ReportPlan()
    design: DesignPlan = DesignPlan()
    source: str = ""      # the TOML text the plan was read from (for the report)
    path: str = ""        # where it was read from

    def untrimmed(self) -> "Plan":
        """The same plan without the slow-tail rules (``trim``; the sensitivity analysis)."""
        return replace(self, trimming=replace(self.trimming, method="none"),
                       exclusions=ExclusionsPlan(tuple(r for r in self.exclusions.rules
                                                       if not r.trim)))


_TABLES = {"conditions": ConditionsPlan, "trials": TrialsPlan, "trimming": TrimmingPlan,
           "participants": ParticipantsPlan, "contrasts": ContrastsPlan, "voice": VoicePlan,
           "exclusions": ExclusionsPlan, "report": ReportPlan, "design": DesignPlan}
#: Plan keys that [[exclusions.rules]] replaces (the shorthand for the default rules).
SHORTHAND_KEYS = (("trials", "min_rt_ms"), ("trimming", None), ("participants", None))


def _number(key: str, v: Any, lo: float | None = None, hi: float | None = None,
            integer: bool = False, lo_open: bool = False) -> float:
    return checked_number(key, v, PlanError, lo, hi, integer, lo_open)


def _choice_list(key: str, values, allowed, allow_empty: bool) -> list:
    """``values`` if it is an array of distinct members of ``allowed`` (else a one-line PlanError)."""
    if not isinstance(values, (list, tuple)) or (not values and not allow_empty):
        raise PlanError(f"plan key {key} = {values!r} must be a{'n' if allow_empty else ' non-empty'} "
                        f"array of {', '.join(allowed)}" + (" (or [])" if allow_empty else ""))
    for v in values:
        _choice(key, v, allowed)
    if len(set(values)) != len(values):
        raise PlanError(f"plan key {key} = {values!r} repeats a value")
    return list(values)


def _choice(key: str, v: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in allowed:
        raise PlanError(f"plan key {key} = {v!r} is not allowed; use one of "
                        f"{', '.join(allowed)}")
    return v


def _level(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or "\n" in v:
        raise PlanError(f"plan key {key} = {v!r} must be a level name (a one-line string)")
    return v


def plan_from_dict(d: dict, source: str = "", path: str = "") -> Plan:
    """Validate a parsed TOML document into a :class:`Plan` (defaults for missing keys)."""
    unknown = [k for k in d if k not in _TABLES]
    if unknown:
        raise PlanError(f"plan has unknown table [{unknown[0]}]; allowed tables: "
                        f"{', '.join(_TABLES)}")
    parts = {}
    for name, cls in _TABLES.items():
        table = d.get(name, {})
        if not isinstance(table, dict):
            raise PlanError(f"plan key {name} must be a table ([{name}]), not "
                            f"{_type_name(table)}")
        allowed = [f.name for f in fields(cls)]
        for k in table:
            if k not in allowed:
                raise PlanError(f"plan key {name}.{k} is unknown; [{name}] allows "
                                f"{', '.join(allowed)}")
        parts[name] = _validated(name, cls, table)
    if parts["exclusions"].rules:
        for table, key in SHORTHAND_KEYS:
            given = d.get(table, {})
            if (key is None and given) or (key is not None and key in given):
                what = f"{table}.{key}" if key else f"[{table}]"
                raise PlanError(f"plan gives both [[exclusions.rules]] and {what}; the rules "
                                f"replace {what}: express it as a rule and remove {what}")
    return Plan(**parts, source=source, path=path)


def _validated(name: str, cls: type, t: dict) -> Any:
    default = cls()
    get = lambda k: t.get(k, getattr(default, k))  # noqa: E731
    if cls is ConditionsPlan:
        order = get("order")
        if not isinstance(order, (list, tuple)) or any(not isinstance(c, str) or not c.strip()
                                               for c in order):
            raise PlanError(f"plan key conditions.order = {list(order)!r} must be an array of "
                            f"condition names (strings)")
        if len(set(order)) != len(order):
            raise PlanError(f"plan key conditions.order = {order!r} repeats a value")
        ref = get("reference")
        _choice("conditions.reference", ref, ("auto",) + tuple(order))
        return ConditionsPlan(order=tuple(order), reference=ref)
    if cls is TrialsPlan:
        return TrialsPlan(
            primary_congruency=_level("trials.primary_congruency", get("primary_congruency")),
            min_rt_ms=float(_number("trials.min_rt_ms", get("min_rt_ms"), 0, 10000)))
    if cls is TrimmingPlan:
        return TrimmingPlan(
            method=_choice("trimming.method", get("method"), TRIM_METHODS),
            k=float(_number("trimming.k", get("k"), 0, 100, lo_open=True)),
            max_rt_ms=float(_number("trimming.max_rt_ms", get("max_rt_ms"), 0, 100000,
                                    lo_open=True)))
    if cls is ParticipantsPlan:
        return ParticipantsPlan(
            min_accuracy=float(_number("participants.min_accuracy", get("min_accuracy"), 0, 1)),
            min_valid_trials=int(_number("participants.min_valid_trials",
                                         get("min_valid_trials"), 1, None, integer=True)))
    if cls is ContrastsPlan:
        try:
            named = named_contrasts_from_list(t.get("named", []))
        except DesignError as e:
            raise PlanError(str(e)) from None
        return ContrastsPlan(adjust=_choice("contrasts.adjust", get("adjust"), ADJUST_METHODS),
                             named=named)
    if cls is DesignPlan:
        try:
            return design_plan_from_table(t)
        except DesignError as e:
            raise PlanError(str(e)) from None
    if cls is VoicePlan:
        coder = get("coder")
        if not isinstance(coder, str) or (coder and not re.fullmatch(CODER_ID_PATTERN, coder)):
            raise PlanError(f"plan key voice.coder = {coder!r} is not allowed; use \"\" (the "
                            f"only coder of each session) or a coder ID (letters, digits, - "
                            f"and _)")
        codes = _choice_list("voice.exclude_codes", get("exclude_codes"), EXCLUDABLE_CODES,
                             allow_empty=True)
        return VoicePlan(coder=coder, exclude_codes=tuple(c for c in EXCLUDABLE_CODES
                                                          if c in codes))
    if cls is ExclusionsPlan:
        try:
            return ExclusionsPlan(rules_from_list("exclusions.rules", t.get("rules", [])))
        except RuleError as e:
            raise PlanError(str(e)) from None
    if cls is ReportPlan:
        title = get("title")
        if not isinstance(title, str) or not title.strip() or "\n" in title:
            raise PlanError(f"plan key report.title = {title!r} must be a one-line string")
        return ReportPlan(title=title)
    raise AssertionError(cls)


def load_plan(path: Path | None = None) -> Plan:
    """Read and validate a plan file (None: the default ``analysis/plan.toml``)."""
    path = Path(path) if path is not None else DEFAULT_PLAN_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PlanError(f"{path}: cannot read the plan ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise PlanError(f"{path}: not UTF-8 text (byte {e.start}); save the plan as UTF-8") \
            from None
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PlanError(f"{path}: not valid TOML ({e})") from None
    try:
        return plan_from_dict(d, source=text, path=str(path))
    except PlanError as e:
        raise PlanError(f"{path}: {e}") from None
