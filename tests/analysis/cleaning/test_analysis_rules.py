"""The plan's exclusion rules, each checked against plain pandas written here (not the
pipeline's own functions), alone and combined in the order the plan lists them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cleaning.selection import AnalysisError, plan_rules, prepare
from analysis.input.loader import load_trials
from analysis.input.plan import Plan, PlanError, load_plan, plan_from_dict
from analysis_data import write_dataset

KEY = ["participant", "session", "trial_in_session"]


@pytest.fixture(scope="module")
def trials(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("rules") / "data"
    write_dataset(root, n_participants=6, trials_per_block=24, blocks_per_condition=2,
                  practice_trials=4, seed=31, condition_sd_s=0.02,
                  congruency_mix={"incongruent": 0.5, "congruent": 0.5})
    t = load_trials(root, progress=False).trials
    # RTs exactly on the window bounds, and a few fast and slow ones
    ok = t.index[(t["is_practice"] == 0) & (t["timeout"] == 0)]
    t.loc[ok[[3, 40, 77]], "rt_ms"] = 250.0
    t.loc[ok[[5, 90]], "rt_ms"] = 1500.0
    t.loc[ok[[7, 130]], "rt_ms"] = 180.0
    return t


def rules_plan(*rules: dict, **tables) -> Plan:
    return plan_from_dict({"exclusions": {"rules": list(rules)}, **tables})


def valid_keys(prepared) -> set:
    t = prepared.test
    return set(map(tuple, t.loc[t["valid"], KEY].to_numpy().tolist()))


def keys(frame: pd.DataFrame) -> set:
    return set(map(tuple, frame[KEY].to_numpy().tolist()))


def test_rt_window_bounds_inclusive_and_exclusive(trials):
    test = trials[(trials["is_practice"] == 0) & (trials["timeout"] == 0)]
    for inc_min, inc_max in ((True, True), (False, False), (True, False)):
        p = prepare(trials, rules_plan({"rule": "rt_window", "min_ms": 250, "max_ms": 1500,
                                        "include_min": inc_min, "include_max": inc_max}))
        lo = test["rt_ms"] >= 250 if inc_min else test["rt_ms"] > 250
        hi = test["rt_ms"] <= 1500 if inc_max else test["rt_ms"] < 1500
        assert valid_keys(p) == keys(test[lo & hi])
        row = p.exclusions.set_index("reason").iloc[2]   # practice, timeouts, the window
        assert row["trials_removed"] == int((~(lo & hi)).sum())


@pytest.mark.parametrize("method, tail, per, k", [
    ("sd", "upper", ["participant", "condition", "congruency"], 2.0),
    ("sd", "both", ["participant", "condition"], 1.5),
    ("mad", "lower", ["participant"], 1.0),
    ("mad", "both", ["participant", "session", "condition"], 2.5),
    ("sd", "both", ["condition"], 2.0),   # cells pooled over participants
])
def test_sd_and_mad_per_cell_and_tail(trials, method, tail, per, k):
    p = prepare(trials, rules_plan({"rule": "errors"},
                                   {"rule": method, "k": k, "tail": tail, "per": per}))
    test = trials[trials["is_practice"] == 0]
    left = test[(test["timeout"] == 0) & (test["correct"] == 1)].copy()
    g = left.groupby(per)["rt_ms"]
    if method == "sd":
        centre = g.transform(lambda x: np.mean(x.to_numpy()))
        spread = g.transform(lambda x: np.std(x.to_numpy(), ddof=1))
    else:
        centre = g.transform(lambda x: np.median(x.to_numpy()))
        spread = g.transform(lambda x: 1.4826 * np.median(np.abs(x - np.median(x))))
    d = left["rt_ms"] - centre
    out = {"upper": d > k * spread, "lower": d < -k * spread,
           "both": d.abs() > k * spread}[tail]
    assert valid_keys(p) == keys(left[~out])
    assert p.exclusions["trials_removed"].iloc[3] == int(out.sum()) > 0


def test_rules_apply_in_the_order_listed(trials):
    window = {"rule": "rt_window", "min_ms": 250, "max_ms": 1100}
    sd = {"rule": "sd", "k": 1.0, "tail": "both", "per": ["participant", "condition"]}
    a = prepare(trials, rules_plan({"rule": "errors"}, window, sd))
    b = prepare(trials, rules_plan({"rule": "errors"}, sd, window))
    test = trials[(trials["is_practice"] == 0) & (trials["timeout"] == 0) &
                  (trials["correct"] == 1)]
    in_window = test[(test["rt_ms"] >= 250) & (test["rt_ms"] <= 1100)]
    m = in_window.groupby(["participant", "condition"])["rt_ms"]
    z = (in_window["rt_ms"] - m.transform("mean")).abs() > m.transform("std")
    assert valid_keys(a) == keys(in_window[~z])       # SD of the trials the window kept
    assert valid_keys(a) != valid_keys(b)
    assert list(a.exclusions["reason"])[3:5] == ["RT < 250 ms or RT > 1100 ms",
                                                 "RT beyond mean ± 1 × SD (per participant × condition)"]


def test_first_trials_of_each_block_and_trials_after_an_error(trials):
    p = prepare(trials, rules_plan({"rule": "first_trials", "n": 2}, {"rule": "after_error"},
                                   {"rule": "errors"}))
    test = trials[trials["is_practice"] == 0].sort_values(
        ["participant", "session", "block", "trial_in_block"])
    err = (test["correct"] == 0).astype(int)
    prev_err = err.groupby([test["participant"], test["session"], test["block"]]).shift(1)
    first = test["trial_in_block"] <= 2
    after = (prev_err == 1) & ~first
    keep = test[~first & ~after & (test["timeout"] == 0) & (test["correct"] == 1)]
    assert valid_keys(p) == keys(keep)
    rows = p.exclusions.set_index("reason")["trials_removed"]
    assert rows["first 2 trials of each block"] == int(first[test["timeout"] == 0].sum())
    assert rows["trial after an error or timeout"] == int(
        (after & (test["timeout"] == 0)).sum()) > 0
    # two trials after an error, timeouts not counting as errors
    p2 = prepare(trials, rules_plan({"rule": "after_error", "n": 2, "timeouts": False}))
    e = ((test["correct"] == 0) & (test["timeout"] == 0)).astype(int)
    g = e.groupby([test["participant"], test["session"], test["block"]])
    after2 = (g.shift(1) == 1) | (g.shift(2) == 1)
    keep2 = test[~after2 & (test["timeout"] == 0)]
    assert valid_keys(p2) == keys(keep2)


def test_participant_rules_by_id_accuracy_and_minimum_trials(trials):
    t = trials.copy()
    bad = (t["participant"] == "SIM003") & (t["is_practice"] == 0)
    t.loc[bad & (t["trial_in_session"] % 4 == 0) & (t["timeout"] == 0), "correct"] = 0
    p = prepare(t, rules_plan(
        {"rule": "participants", "ids": ["SIM005"], "reason": "fell asleep (lab notes)"},
        {"rule": "accuracy", "min": 0.85},
        {"rule": "errors"},
        {"rule": "min_trials", "min": 19, "per": ["condition", "congruency"]}))
    test = t[t["is_practice"] == 0]
    acc = test.groupby("participant")["correct"].mean()
    valid = test[(test["timeout"] == 0) & (test["correct"] == 1)]
    cells = valid.groupby(["participant", "condition", "congruency"]).size().unstack(
        ["condition", "congruency"], fill_value=0)
    few = set(cells.index[(cells < 19).any(axis=1)])
    expected = {"SIM005": "fell asleep (lab notes)"}
    for pid in acc.index[acc < 0.85]:
        expected.setdefault(pid, "accuracy")
    for pid in sorted(few):
        expected.setdefault(pid, "too few valid trials")
    pp = p.participants.set_index("participant")
    assert pp.loc[pp["excluded"] != "", "excluded"].to_dict() == expected
    assert expected["SIM003"] == "accuracy"
    ex = p.exclusions.set_index("reason")
    assert ex.at["participant excluded by ID: fell asleep (lab notes)", "participants_removed"] == 1
    assert ex.at["participant excluded by ID: fell asleep (lab notes)", "trials_removed"] == int(
        (test["participant"] == "SIM005").sum())
    assert set(p.test["participant"]) == set(acc.index) - set(expected)
    assert ex["trials_removed"].sum() + ex["trials_remaining"].iloc[-1] == len(t)


def test_default_plan_is_the_shorthand_of_a_rule_list(trials):
    """The shipped plan written as [[exclusions.rules]] gives the same exclusions."""
    shorthand = prepare(trials, load_plan())
    explicit = prepare(trials, rules_plan(
        {"rule": "accuracy", "min": 0.8}, {"rule": "timeouts"}, {"rule": "errors"},
        {"rule": "rt_window", "min_ms": 200, "label": "anticipation (RT < 200 ms)"},
        {"rule": "mad", "k": 3.0, "label": "slow tail: RT > median + 3 × 1.4826 × MAD "
                                           "(per participant × condition × congruency)"},
        {"rule": "min_trials", "min": 20}))
    pd.testing.assert_frame_equal(shorthand.exclusions, explicit.exclusions)
    pd.testing.assert_frame_equal(shorthand.participants, explicit.participants)
    assert shorthand.test["valid"].equals(explicit.test["valid"])
    assert shorthand.test["rt_ok"].equals(explicit.test["rt_ok"])
    assert [r.kind for r in plan_rules(load_plan())] == [
        "accuracy", "timeouts", "errors", "rt_window", "outliers", "min_trials"]


def test_untrimmed_sensitivity_drops_only_the_trim_rules(trials):
    p = prepare(trials, rules_plan({"rule": "errors"},
                                   {"rule": "rt_window", "min_ms": 250, "max_ms": 1500},
                                   {"rule": "sd", "k": 2.0}))
    test = trials[(trials["is_practice"] == 0) & (trials["timeout"] == 0) &
                  (trials["correct"] == 1)]
    window = test[(test["rt_ms"] >= 250) & (test["rt_ms"] <= 1500)]
    t = p.test
    assert keys(t[t["rt_ok"]]) == keys(window)
    assert p.trim_rule == "RT > mean + 2 × SD (per participant × condition × congruency)"


def test_timeouts_are_always_dropped_from_rt_analyses(trials):
    p = prepare(trials, rules_plan({"rule": "first_trials", "n": 1}))
    assert not p.test.loc[p.test["valid"], "rt_ms"].isna().any()
    assert p.exclusions["reason"].iloc[1] == "timeout (no response)"


@pytest.mark.parametrize("rules, tables, message", [
    ([{"rule": "sd", "k": float("nan")}], {}, r"exclusions\.rules\[1\]\.k = nan is not a finite"),
    ([{"rule": "mad", "k": float("inf")}], {}, r"exclusions\.rules\[1\]\.k = inf is not a finite"),
    ([{"rule": "sd", "k": 0}], {}, r"exclusions\.rules\[1\]\.k = 0 is out of range; it must be > 0"),
    ([{"rule": "sd"}], {}, r"exclusions\.rules\[1\]\.k is missing"),
    ([{"rule": "sd", "k": 2, "tail": "left"}], {},
     r"exclusions\.rules\[1\]\.tail = 'left' is not allowed; use one of upper, lower, both"),
    ([{"rule": "trim"}], {}, r"exclusions\.rules\[1\]\.rule = 'trim' is not allowed"),
    ([{"rule": "errors"}, {"rule": "rt_window"}], {},
     r"exclusions\.rules\[2\] \(rt_window\) needs min_ms, max_ms or both"),
    ([{"rule": "rt_window", "min_ms": 500, "max_ms": 300}], {},
     r"exclusions\.rules\[1\]\.max_ms = 300 must be > min_ms \(500\)"),
    ([{"rule": "rt_window", "max_ms": 2000, "include_max": "yes"}], {},
     r"include_max = 'yes' is a string; it must be true or false"),
    ([{"rule": "first_trials", "n": 0}], {}, r"exclusions\.rules\[1\]\.n = 0 is out of range; it must be ≥ 1"),
    ([{"rule": "participants", "ids": ["P1"]}], {}, r"exclusions\.rules\[1\]\.reason is missing"),
    ([{"rule": "participants", "ids": [], "reason": "x"}], {},
     r"exclusions\.rules\[1\]\.ids = \[\] must be a non-empty array"),
    ([{"rule": "accuracy", "min": 80}], {}, r"rules\[1\]\.min = 80 is out of range; it must be between 0 and 1"),
    ([{"rule": "min_trials", "min": 10, "per": "condition"}], {},
     r"exclusions\.rules\[1\]\.per = 'condition' must be an array"),
    ([{"rule": "errors", "k": 3}], {}, r"exclusions\.rules\[1\]\.k is unknown; rule 'errors'"),
    ([{"rule": "errors"}], {"trimming": {"method": "sd"}},
     r"plan gives both \[\[exclusions\.rules\]\] and \[trimming\]"),
    ([{"rule": "errors"}], {"trials": {"min_rt_ms": 150}},
     r"plan gives both \[\[exclusions\.rules\]\] and trials\.min_rt_ms"),
])
def test_bad_rules_name_the_key(rules, tables, message):
    with pytest.raises(PlanError, match=message):
        plan_from_dict({"exclusions": {"rules": rules}, **tables})


def test_rules_the_data_cannot_support_are_one_line_errors(trials):
    with pytest.raises(AnalysisError, match=r"names participant 'P999', who is not in the data"):
        prepare(trials, rules_plan({"rule": "participants", "ids": ["P999"], "reason": "x"}))
    with pytest.raises(AnalysisError, match=r"needs column site, which the data do not have"):
        prepare(trials, rules_plan({"rule": "sd", "k": 2, "per": ["participant", "site"]}))
