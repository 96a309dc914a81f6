"""The one TOML validator (analysis/input/toml_schema.py): a table becomes a frozen dataclass,
and the config and the plan word the same mistake the same way.

The two files keep the wordings their own tests pin (config: ``K = V: must be …``; plan:
``plan key K = V is <what it is>; it must be …``, 'an integer' / 'a whole number', 'use one
of' / 'allowed:'); what is common is checked here: one line, the key path, the value as
written or stored, then what is allowed, in the same words where both files have them."""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Annotated

import pytest

from analysis.input.plan import PlanError, plan_from_dict
from analysis.input.toml_schema import PLAN, Items, OneOf, Parsed, Range, table_of
from experiment.core.config import ConfigError, load_config

# (config overrides, config key, plan document, plan key, bad value, what is allowed)
SAME_MISTAKES = {
    "text for a number": ({"timing": {"fixation_s": "long"}}, "timing.fixation_s",
                          {"trimming": {"k": "long"}}, "trimming.k", "long", "a number"),
    "text for a flag": (
        {"display": {"fullscreen": "yes"}}, "display.fullscreen",
        {"exclusions": {"rules": [{"rule": "sd", "k": 3, "trim": "yes"}]}},
        "exclusions.rules[1].trim", "yes", "true or false"),
    "fraction for a count": (
        {"design": {"blocks_per_condition": 1.5}}, "design.blocks_per_condition",
        {"participants": {"min_valid_trials": 1.5}}, "participants.min_valid_trials", 1.5,
        "(a whole number|an integer)"),
    "not a finite number": ({"timing": {"iti_max_s": math.inf}}, "timing.iti_max_s",
                            {"trimming": {"max_rt_ms": math.inf}}, "trimming.max_rt_ms",
                            math.inf, "a finite number"),
    "out of range": ({"design": {"blocks_per_condition": 0}}, "design.blocks_per_condition",
                     {"participants": {"min_valid_trials": 0}}, "participants.min_valid_trials",
                     0, "(between 1 and 50|≥ 1)"),
    "not one of the choices": ({"response": {"device": "pen"}}, "response.device",
                               {"trimming": {"method": "pen"}}, "trimming.method", "pen",
                               "one of|allowed:"),
}
#: What the value is (the plan says it; the config's pinned messages do not).
FOUND = r"(is (a string|a number|an integer|out of range|not a finite number|not allowed)); "


@pytest.mark.parametrize("case", SAME_MISTAKES.values(), ids=SAME_MISTAKES.keys())
def test_the_same_mistake_reads_alike_in_config_and_plan(case):
    overrides, config_key, doc, plan_key, value, allowed = case
    with pytest.raises(ConfigError) as config_info:
        load_config(overrides)
    with pytest.raises(PlanError) as plan_info:
        plan_from_dict(doc)
    for message, prefix, key in ((str(config_info.value), "", config_key),
                                 (str(plan_info.value), "plan key ", plan_key)):
        form = (rf"{prefix}{re.escape(key)} = {re.escape(repr(value))}(: | {FOUND})"
                rf"(it )?(must be |use |allowed: )?({allowed}).*")
        assert re.fullmatch(form, message), message
        assert "\n" not in message


@dataclass(frozen=True)
class Probe:
    count: Annotated[int, Range(1, 10)]
    share: Annotated[float | None, Range(0, 1)] = None
    mode: Annotated[str, OneOf(("a", "b"))] = "a"
    names: Annotated[tuple[str, ...], Items()] = ()
    doubled: Annotated[int, Parsed(lambda kind, key, v: 2 * v)] = 0


def test_a_table_becomes_the_dataclass_with_defaults_and_conversions():
    got = table_of(PLAN, Probe, {"count": 3, "share": 1, "names": ["x", "y"], "doubled": 4},
                   "probe")
    assert got == Probe(count=3, share=1.0, names=("x", "y"), doubled=8)
    assert isinstance(got.share, float) and isinstance(got.names, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.count = 4


@pytest.mark.parametrize("table, message", [
    ({"count": 3, "colour": 1}, "plan key probe.colour is unknown; [probe] allows count, share, "
                                "mode, names, doubled"),
    ({}, "plan key probe.count is missing; [probe] needs it"),
    ({"count": True}, "plan key probe.count = True is a boolean; it must be an integer"),
    ({"count": 11}, "plan key probe.count = 11 is out of range; it must be between 1 and 10"),
    ({"count": 1, "share": math.nan}, "plan key probe.share = nan is not a finite number; "
                                      "it must be a finite number"),
    ({"count": 1, "mode": "c"}, "plan key probe.mode = 'c' is not allowed; use one of a, b"),
    ({"count": 1, "names": ["x", "x"]}, "plan key probe.names = ['x', 'x'] repeats a value"),
    ({"count": 1, "names": ["x", ""]},
     "plan key probe.names = ['x', ''] must be an array of non-empty strings"),
])
def test_each_problem_is_one_line_naming_key_value_and_what_is_allowed(table, message):
    with pytest.raises(ValueError) as info:
        table_of(PLAN, Probe, table, "probe")
    assert str(info.value) == message


def test_the_config_judges_and_shows_the_stored_value_the_plan_the_written_one():
    config_kind = dataclasses.replace(PLAN, sentence=False, checks_stored=True)
    with pytest.raises(ValueError, match=r"^probe\.share = 2\.0: must be between 0 and 1$"):
        table_of(config_kind, Probe, {"count": 1, "share": 2}, "probe")
    with pytest.raises(ValueError, match=r"^plan key probe\.share = 2 is out of range"):
        table_of(PLAN, Probe, {"count": 1, "share": 2}, "probe")
