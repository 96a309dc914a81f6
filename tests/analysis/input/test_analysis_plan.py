"""The analysis plan: defaults documented in analysis/plan.toml, errors name key and allowed values."""
from __future__ import annotations

import pytest

from analysis.input.plan import DEFAULT_PLAN_PATH, Plan, PlanError, load_plan, plan_from_dict


def test_default_file_matches_dataclass_defaults():
    plan = load_plan()
    assert plan.path == str(DEFAULT_PLAN_PATH)
    defaults = Plan()
    for part in ("conditions", "trials", "trimming", "participants", "contrasts", "report"):
        assert getattr(plan, part) == getattr(defaults, part), part
    assert plan.trimming.method == "mad" and plan.trimming.k == 3.0
    assert plan.trials.min_rt_ms == 200


def test_partial_plan_takes_defaults(tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text('[trimming]\nmethod = "fixed"\nmax_rt_ms = 2500\n')
    plan = load_plan(p)
    assert plan.trimming.method == "fixed" and plan.trimming.max_rt_ms == 2500.0
    assert plan.participants == Plan().participants
    assert plan.untrimmed().trimming.method == "none"


@pytest.mark.parametrize("doc, message", [
    ({"trimming": {"method": "iqr"}},
     r"trimming\.method = 'iqr' is not allowed; use one of none, fixed, sd, mad"),
    ({"trimming": {"k": 0}}, r"trimming\.k = 0 is out of range"),
    ({"trimming": {"cutoff": 3}}, r"trimming\.cutoff is unknown; \[trimming\] allows method, k"),
    ({"participants": {"min_accuracy": 1.5}},
     r"participants\.min_accuracy = 1\.5 is out of range; it must be between 0 and 1"),
    ({"participants": {"min_valid_trials": 2.5}},
     r"participants\.min_valid_trials = 2\.5 is a number; it must be an integer"),
    ({"trials": {"min_rt_ms": "200"}}, r"trials\.min_rt_ms = '200' is a string"),
    ({"trials": {"primary_congruency": ""}},
     r"trials\.primary_congruency = '' must be a level name"),
    ({"conditions": {"order": ["stand", 3]}},
     r"conditions\.order = \['stand', 3\] must be an array of condition names"),
    ({"trimming": {"k": float("nan")}}, r"trimming\.k = nan is not a finite number"),
    ({"trimming": {"max_rt_ms": float("inf")}}, r"trimming\.max_rt_ms = inf is not a finite"),
    ({"conditions": {"order": ["stand", "stand"]}}, r"conditions.order = \[.stand., .stand.\] repeats a value"),
    ({"conditions": {"order": ["forward", "backward"], "reference": "stand"}},
     r"conditions\.reference = 'stand' is not allowed; use one of auto, forward, backward"),
    ({"contrasts": {"adjust": "fdr"}}, r"contrasts\.adjust = 'fdr' is not allowed"),
    ({"stats": {}}, r"unknown table \[stats\]; allowed tables: conditions, trials"),
    ({"report": {"title": ""}}, r"report\.title = '' must be a one-line string"),
])
def test_errors_name_key_value_and_allowed(doc, message):
    with pytest.raises(PlanError, match=message):
        plan_from_dict(doc)


def test_file_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[trimming\nmethod = 'mad'\n")
    with pytest.raises(PlanError, match=r"bad\.toml: not valid TOML"):
        load_plan(p)
    p.write_text("[trimming]\nmethod = 'iqr'\n")
    with pytest.raises(PlanError, match=r"bad\.toml: plan key trimming\.method"):
        load_plan(p)
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "missing.toml")
