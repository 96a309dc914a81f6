"""The analysis plan: a TOML file (default ``analysis/plan.toml``) validated into dataclasses.

Every key is optional in a user's plan (missing keys take the defaults of
``analysis/plan.toml``); unknown keys, wrong types and values outside the allowed set raise
:class:`PlanError` with a one-line message naming the key, the value and what is allowed.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

from analysis.input import toml_schema
from analysis.input.codebook import CODER_ID_PATTERN
from analysis.input.design import DesignPlan, NamedContrast, check_design_plan, \
    named_contrasts_from_list
from analysis.input.rules import Rule, rules_from_list
from analysis.input.toml_schema import Items, OneOf, Parsed, Range, Text, choice, require, \
    table_of

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


KIND = replace(toml_schema.PLAN, error=PlanError)


@dataclass(frozen=True)
class ConditionsPlan:
    order: Annotated[tuple[str, ...], Items("condition names (strings)")] = (
        "stand", "forward", "backward", "left", "right")
    reference: str = "auto"     # one of auto and the order (plan_from_dict checks)


def condition_pairs(conditions: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every pair (a, b) of ``conditions`` (a − b), a the later one in ``conditions``, except
    that the primary contrast reads as :data:`PRIMARY_CONTRAST` (backward − forward)."""
    pairs = [(conditions[j], conditions[i]) for i in range(len(conditions))
             for j in range(i + 1, len(conditions))]
    return [PRIMARY_CONTRAST if set(p) == set(PRIMARY_CONTRAST) else p for p in pairs]


@dataclass(frozen=True)
class TrialsPlan:
    primary_congruency: Annotated[str, Text(True, what="a level name (a one-line string)")] = \
        "incongruent"
    min_rt_ms: Annotated[float, Range(0, 10000)] = 200.0


@dataclass(frozen=True)
class TrimmingPlan:
    method: Annotated[str, OneOf(TRIM_METHODS)] = "mad"
    k: Annotated[float, Range(0, 100, lo_open=True)] = 3.0
    max_rt_ms: Annotated[float, Range(0, 100000, lo_open=True)] = 2000.0


@dataclass(frozen=True)
class ParticipantsPlan:
    min_accuracy: Annotated[float, Range(0, 1)] = 0.8
    min_valid_trials: Annotated[int, Range(1)] = 20


@dataclass(frozen=True)
class ContrastsPlan:
    adjust: Annotated[str, OneOf(ADJUST_METHODS)] = "holm"
    # [[contrasts.named]] (analysis.input.design)
    named: Annotated[tuple[NamedContrast, ...], Parsed(named_contrasts_from_list)] = ()


@dataclass(frozen=True)
class VoicePlan:
    coder: Annotated[str, Text(empty=True)] = ""   # "" or a coder ID (plan_from_dict checks)
    exclude_codes: Annotated[tuple[str, ...], Items(choices=EXCLUDABLE_CODES)] = \
        EXCLUDABLE_CODES


@dataclass(frozen=True)
class ExclusionsPlan:
    """``[[exclusions.rules]]``: the exclusion rules in the order they apply (:mod:`analysis.input.rules`).
    Empty: the rules of [trials] min_rt_ms, [trimming] and [participants] (the shorthand)."""
    rules: Annotated[tuple[Rule, ...], Parsed(rules_from_list)] = ()


@dataclass(frozen=True)
class ReportPlan:
    title: Annotated[str, Text(one_line=True)] = "Stroop while standing and walking: results"


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


def plan_from_dict(d: dict, source: str = "", path: str = "") -> Plan:
    """Validate a parsed TOML document into a :class:`Plan` (defaults for missing keys)."""
    unknown = [k for k in d if k not in _TABLES]
    if unknown:
        raise PlanError(f"plan has unknown table [{unknown[0]}]; allowed tables: "
                        f"{', '.join(_TABLES)}")
    parts = {name: table_of(KIND, cls, d.get(name, {}), name) for name, cls in _TABLES.items()}
    check_design_plan(KIND, parts["design"])
    conditions, voice = parts["conditions"], parts["voice"]
    choice(KIND, "conditions.reference", conditions.reference, ("auto",) + conditions.order)
    require(KIND, not voice.coder or re.fullmatch(CODER_ID_PATTERN, voice.coder) is not None,
            "voice.coder", voice.coder, 'use "" (the only coder of each session) or a coder ID '
            "(letters, digits, - and _)", "is not allowed")
    parts["voice"] = replace(voice, exclude_codes=tuple(c for c in EXCLUDABLE_CODES
                                                        if c in voice.exclude_codes))
    if parts["exclusions"].rules:
        for table, key in SHORTHAND_KEYS:
            given = d.get(table, {})
            if (key is None and given) or (key is not None and key in given):
                what = f"{table}.{key}" if key else f"[{table}]"
                raise PlanError(f"plan gives both [[exclusions.rules]] and {what}; the rules "
                                f"replace {what}: express it as a rule and remove {what}")
    return Plan(**parts, source=source, path=path)


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
