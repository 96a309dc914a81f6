"""Exclusions, trimming, within-subject CIs, DTE, rm-ANOVA and the accuracy model."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.statistics.accuracy import accuracy_gee
from analysis.statistics.anova import paired_contrasts, rm_anova_table
from analysis.cleaning.selection import AnalysisError, choose_conditions, prepare
from analysis.cleaning.exclusion import outliers, trial_mask
from analysis.statistics.descriptives import cousineau_morey, dte_tables
from analysis.statistics.effects import add_position, interference_scores
from analysis.input.loader import load_trials
from analysis.input.plan import Plan, plan_from_dict
from analysis.input.rules import Outliers, RtWindow
from analysis_data import write_dataset

LENIENT = plan_from_dict({"participants": {"min_valid_trials": 5}})


def test_cousineau_morey_by_hand():
    wide = pd.DataFrame({"a": [500.0, 600, 700, 650], "b": [540.0, 610, 760, 700],
                         "c": [530.0, 650, 720, 690]})
    cm = cousineau_morey(wide)
    y = wide.to_numpy()
    norm = y - y.mean(axis=1, keepdims=True) + y.mean()
    n, c = y.shape
    half = stats.t.ppf(0.975, n - 1) * norm.std(axis=0, ddof=1) / math.sqrt(n) \
        * math.sqrt(c / (c - 1))
    assert np.allclose(cm["mean"], y.mean(axis=0))
    assert np.allclose(cm["ci_high"] - cm["mean"], half)
    # between-subject spread is removed: narrower than the ordinary CI
    ordinary = stats.t.ppf(0.975, n - 1) * y.std(axis=0, ddof=1) / math.sqrt(n)
    assert (half < ordinary).all()


def test_slow_tail_rules():
    rt = pd.Series([400.0, 410, 420, 430, 440, 450, 2000, 500, 505, 510, 3000])
    cell = pd.DataFrame({"cell": ["a"] * 7 + ["b"] * 4})
    everyone = pd.Series(True, index=rt.index)
    mad = outliers(rt, cell, everyone, Outliers("mad", k=3, per=("cell",)))
    med, m = 430.0, np.median(np.abs(rt[:7] - 430))
    assert 2000 > med + 3 * 1.4826 * m
    assert mad.tolist() == [False] * 6 + [True] + [False] * 3 + [True]
    frame = pd.DataFrame({"rt_ms": rt, "timeout": 0, "correct": 1})
    fixed = trial_mask(RtWindow(max_ms=1500, trim=True), frame, everyone, frozenset())
    assert fixed.sum() == 2
    sd = outliers(rt, cell, everyone, Outliers("sd", k=2, per=("cell",)))
    assert sd.sum() == 1 and sd[6]   # 3000 ms in a 4-trial cell inflates its own SD


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats") / "data"
    write_dataset(root, n_participants=6, trials_per_block=20, blocks_per_condition=2,
                  practice_trials=4, seed=21,
                  congruency_mix={"incongruent": 0.5, "congruent": 0.5})
    return load_trials(root)


def test_exclusions_count_every_trial_and_participant(loaded):
    t = loaded.trials.copy()
    # participant 2 answers badly; participant 3 never walked backward
    bad = t["participant"] == "SIM002"
    t.loc[bad & (t.index % 3 != 0), "correct"] = 0
    t = t[~((t["participant"] == "SIM003") & (t["condition"] == "backward"))]
    prep = prepare(t, LENIENT)
    ex = prep.exclusions
    assert ex["trials_remaining"].iloc[-1] == len(
        prep.test[prep.test["valid"] & prep.test["primary"]])
    assert ex["trials_removed"].sum() + ex["trials_remaining"].iloc[-1] == len(t)
    removed_by_c = ex[[c for c in ex.columns if c.startswith("removed_")]].sum().sum()
    assert removed_by_c == ex["trials_removed"].sum()
    pp = prep.participants.set_index("participant")
    assert pp.at["SIM002", "excluded"] == "accuracy"
    assert pp.at["SIM003", "excluded"] == "too few valid trials"
    assert "backward 0" in pp.at["SIM003", "detail"]
    assert ex["participants_removed"].sum() == 2
    assert ex["participants_remaining"].iloc[-1] == 4
    assert set(prep.test["participant"]) == {"SIM001", "SIM004", "SIM005", "SIM006"}
    assert prep.conditions == ("stand", "forward", "backward") and prep.reference == "stand"
    v = prep.test
    assert (v.loc[v["valid"], "rt_ms"] >= 200).all() and (v.loc[v["valid"], "correct"] == 1).all()
    assert (v["valid"] <= v["rt_ok"]).all()


def test_reference_choice_and_unlisted_conditions(loaded):
    t = loaded.trials[loaded.trials["condition"] != "stand"]
    conds, ref, note = choose_conditions(t, Plan())
    assert conds == ("forward", "backward") and ref == "forward" and "no standing" in note
    # a condition the plan does not list follows the listed ones (the lab's own names)
    conds, _, note = choose_conditions(loaded.trials, plan_from_dict({"conditions": {
        "order": ["forward", "stand"]}}))
    assert conds == ("forward", "stand", "backward") and "(backward) follow" in note
    with pytest.raises(AnalysisError, match="conditions.reference = 'stand' but the data"):
        choose_conditions(t, plan_from_dict({"conditions": {"reference": "stand"}}))


def test_dte_sign_and_values():
    test = pd.DataFrame({"participant": ["p1"] * 4 + ["p2"] * 4,
                         "condition": ["stand", "stand", "forward", "forward"] * 2,
                         "rt_ms": [600.0, 600, 660, 660, 800, 800, 760, 760],
                         "valid": True})
    per, summary = dte_tables(test, ("stand", "forward"), "stand")
    assert per.set_index("participant")["dte_pct"].to_dict() == pytest.approx(
        {"p1": 10.0, "p2": -5.0})
    assert summary.iloc[0]["mean_dte_pct"] == pytest.approx(2.5)
    assert summary.iloc[0]["n_slower"] == 1
    assert "positive = slower" in summary.iloc[0]["sign_convention"]


def test_rm_anova_and_dz(loaded):
    rng = np.random.default_rng(1)
    wide = pd.DataFrame({"stand": rng.normal(700, 60, 15)})
    wide["forward"] = wide["stand"] + rng.normal(40, 20, 15)
    wide["backward"] = wide["stand"] + rng.normal(20, 30, 15)
    a = rm_anova_table(wide).iloc[0]
    assert a["df1"] == 2 and a["df2"] == 28 and 0 < a["epsilon_gg"] <= 1
    assert a["p_gg"] >= a["p"] - 1e-12 and 0 < a["partial_eta2"] < 1
    pc = paired_contrasts(wide, [("forward", "stand")])
    t = stats.ttest_rel(wide["forward"], wide["stand"])
    assert pc.iloc[0]["t"] == pytest.approx(t.statistic)
    assert pc.iloc[0]["p"] == pytest.approx(t.pvalue)
    assert pc.iloc[0]["cohen_dz"] == pytest.approx(t.statistic / math.sqrt(15))


def test_accuracy_gee(loaded):
    prep = prepare(loaded.trials, LENIENT)
    primary = prep.test[prep.test["primary"]]
    table, omni = accuracy_gee(primary, prep.conditions, prep.reference)
    assert list(table["term"])[1:3] == ["forward vs stand", "backward vs stand"]
    assert table["term"].iloc[3].startswith("condition, omnibus Wald χ²(2)")
    assert table["p"].iloc[3] == pytest.approx(omni["p"])
    assert (table["or_ci_low"].iloc[:3] < table["odds_ratio"].iloc[:3]).all()
    assert omni["df"] == 2 and 0 <= omni["p"] <= 1
    perfect = primary.assign(correct=1)
    table, omni = accuracy_gee(perfect, prep.conditions, prep.reference)
    assert table.empty and "not estimable" in omni["note"]


def test_interference_scores_and_positions(loaded):
    prep = prepare(loaded.trials, LENIENT)
    assert len(prep.participants) == 6 and (prep.participants["excluded"] == "").all()
    valid = prep.test[prep.test["valid"]]
    scores = interference_scores(valid, prep.conditions, "congruent")
    assert list(scores.columns) == ["stand", "forward", "backward"] and len(scores) == 6
    one = valid[(valid["participant"] == "SIM001") & (valid["condition"] == "forward")]
    expected = (one.loc[one["congruency"] == "incongruent", "rt_ms"].mean()
                - one.loc[one["congruency"] == "congruent", "rt_ms"].mean())
    assert scores.at["SIM001", "forward"] == pytest.approx(expected)
    pos = add_position(valid)
    first = pos[pos["participant"] == "SIM001"].sort_values("trial_in_session")
    assert first["position"].iloc[0] == 1 and first["position"].iloc[-1] == 3
    assert pos.groupby(["participant", "condition"], observed=True)["position"].nunique().max() == 1
