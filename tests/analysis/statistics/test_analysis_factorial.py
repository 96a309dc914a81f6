"""Declared designs: factorial rm-ANOVA (vs pingouin and pinned afex output), named
contrasts (vs plain pandas), the design LMM (Satterthwaite df vs a closed form), and the
[design] / [[contrasts.named]] plan tables."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.input.design import (Design, DesignError, DesignPlan, NamedContrast,
                                   check_declared_levels, resolve_design)
from analysis.statistics.factorial import factorial_rm_anova, named_contrast_tests
from analysis.statistics.factorial_lmm import fit_factorial_lmm, lmm_anova_table, lmm_contrast_table
from analysis.statistics.models import NotIdentifiable
from analysis.input.plan import PlanError, plan_from_dict

CONDS = ("stand", "forward", "backward")
CONG = ("congruent", "incongruent")


def cell_means_3x2() -> pd.DataFrame:
    """14 participants × 3 conditions × 2 congruency levels, one mean per cell (ms)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(14):
        off = rng.normal(0, 50)
        for a in CONDS:
            for b in CONG:
                rows.append({"participant": f"P{i}", "condition": a, "congruency": b,
                             "rt_ms": 600 + off + {"stand": 0, "forward": 30, "backward": 10}[a]
                             + (60 if b == "incongruent" else 0)
                             + rng.normal(0, 25 + 10 * (a == "backward"))})
    return pd.DataFrame(rows)


def cell_means_3x2x2() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(10):
        off = rng.normal(0, 40)
        for a in ("a1", "a2", "a3"):
            for b in ("b1", "b2"):
                for c in ("c1", "c2"):
                    mu = 600 + off + {"a1": 0, "a2": 25, "a3": 10}[a] + (40 if b == "b2" else 0) \
                        + (15 if (c == "c2" and a == "a2") else 0)
                    rows.append({"participant": f"P{i}", "a": a, "b": b, "c": c,
                                 "rt_ms": mu + rng.normal(0, 20 + 10 * (a == "a3"))})
    return pd.DataFrame(rows)


DESIGN_3x2 = Design(("condition", "congruency"), (CONDS, CONG))


def test_two_factors_equal_pingouin():
    import pingouin as pg
    d = cell_means_3x2()
    ours = factorial_rm_anova(d, DESIGN_3x2).set_index("effect")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pg.rm_anova(d, dv="rt_ms", within=["condition", "congruency"],
                          subject="participant", effsize="ng2", correction=True)
        ref_np2 = pg.rm_anova(d, dv="rt_ms", within=["condition", "congruency"],
                              subject="participant", effsize="np2")
    for (_, r), (_, r2) in zip(ref.iterrows(), ref_np2.iterrows()):
        o = ours.loc[r["Source"].replace(" * ", " × ")]
        assert o["F"] == pytest.approx(r["F"], rel=1e-10)
        assert o["df1"] == r["ddof1"] and o["df2"] == r["ddof2"]
        assert o["p"] == pytest.approx(r["p_unc"], rel=1e-8)
        assert o["generalized_eta2"] == pytest.approx(r["ng2"], rel=1e-10)
        assert o["partial_eta2"] == pytest.approx(r2["np2"], rel=1e-10)
        assert o["epsilon_gg"] == pytest.approx(r["eps"], rel=1e-10)
        assert o["p_gg"] == pytest.approx(r.get("p_GG_corr", r["p_unc"]), rel=1e-8)


def test_two_factors_equal_afex_huynh_feldt():
    """afex 1.2-1 aov_ez on the same cell means (summary(): GG and HF corrections)."""
    a = factorial_rm_anova(cell_means_3x2(), DESIGN_3x2).set_index("effect")
    assert a.at["condition", "epsilon_hf"] == pytest.approx(1.07256279, abs=1e-7)
    assert a.at["condition", "p_hf"] == pytest.approx(0.00028438411, rel=1e-6)  # HF > 1 → 1
    assert a.at["condition × congruency", "epsilon_hf"] == pytest.approx(0.99920233, abs=1e-7)
    assert a.at["condition × congruency", "p_hf"] == pytest.approx(0.27481945037, rel=1e-7)
    assert a.at["condition", "mauchly_w"] == pytest.approx(0.91958, abs=1e-5)
    assert a.at["congruency", "F"] == pytest.approx(126.20012, rel=1e-6)


def test_three_factors_equal_afex():
    """afex 1.2-1 aov_ez(within = c("a", "b", "c")): F, pes, ges, GG and HF per effect."""
    afex = {  # effect: F, pes, ges, GG eps, HF eps
        "a": (26.04605, 0.7431949977, 0.06822496354, 0.9323390405, 1.1665052396),
        "b": (73.21572, 0.8905318892, 0.16489194732, None, None),
        "c": (8.56262, 0.4875481307, 0.01352935817, None, None),
        "a × b": (0.04546, 0.0050259175, 0.00023115675, 0.8159365717, 0.9716669998),
        "a × c": (5.09990, 0.3616976318, 0.01765882546, 0.8807273144, 1.0785693456),
        "b × c": (0.06449, 0.0071142094, 0.00009228030, None, None),
        "a × b × c": (1.20080, 0.1177158460, 0.00386491711, 0.6269318940, 0.6802512628),
    }
    design = Design(("a", "b", "c"), (("a1", "a2", "a3"), ("b1", "b2"), ("c1", "c2")))
    ours = factorial_rm_anova(cell_means_3x2x2(), design).set_index("effect")
    assert list(ours.index) == list(afex)
    for effect, (F, pes, ges, gg, hf) in afex.items():
        o = ours.loc[effect]
        assert o["F"] == pytest.approx(F, rel=1e-4, abs=1e-5)
        assert o["partial_eta2"] == pytest.approx(pes, rel=1e-8)
        assert o["generalized_eta2"] == pytest.approx(ges, rel=1e-7)
        if gg is not None:
            assert o["epsilon_gg"] == pytest.approx(gg, rel=1e-8)
            assert o["epsilon_hf"] == pytest.approx(hf, rel=1e-8)
    assert ours.at["a × b × c", "p_gg"] == pytest.approx(0.3108632816, rel=1e-7)
    assert ours.at["a × c", "p_hf"] == pytest.approx(0.01758887660, rel=1e-7)


def test_incomplete_participants_are_left_out_and_single_levels_refused():
    d = cell_means_3x2()
    d = d[~((d["participant"] == "P0") & (d["condition"] == "backward"))]
    assert factorial_rm_anova(d, DESIGN_3x2)["n_participants"].eq(13).all()
    with pytest.raises(ValueError, match="single level"):
        factorial_rm_anova(d, Design(("condition",), (("stand",),)))


STROOP = NamedContrast("Stroop", (("congruency", (("incongruent", 1.0), ("congruent", -1.0))),))
BW_FW_INTERFERENCE = NamedContrast("bw-fw interference", (
    ("condition", (("backward", 1.0), ("forward", -1.0))),
    ("congruency", (("incongruent", 1.0), ("congruent", -1.0)))))


def test_named_contrasts_equal_plain_pandas():
    d = cell_means_3x2()
    out = named_contrast_tests(d, DESIGN_3x2, [STROOP, BW_FW_INTERFERENCE]).set_index("contrast")
    w = d.pivot_table(index="participant", columns=["condition", "congruency"], values="rt_ms")
    stroop = ((w.xs("incongruent", level=1, axis=1) - w.xs("congruent", level=1, axis=1))
              .mean(axis=1))
    inter = ((w[("backward", "incongruent")] - w[("backward", "congruent")])
             - (w[("forward", "incongruent")] - w[("forward", "congruent")]))
    from scipy import stats
    for name, scores in (("Stroop", stroop), ("bw-fw interference", inter)):
        t = stats.ttest_1samp(scores, 0)
        assert out.at[name, "estimate_ms"] == pytest.approx(scores.mean())
        assert out.at[name, "t"] == pytest.approx(t.statistic)
        assert out.at[name, "p"] == pytest.approx(t.pvalue)
        assert out.at[name, "df"] == 13
        assert out.at[name, "cohen_dz"] == pytest.approx(scores.mean() / scores.std(ddof=1))
    assert (out["p_adj"] >= out["p"]).all()


def trial_level(n: int = 16, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        off, slope = rng.normal(0, 0.1), rng.normal(0, 0.04, 3)
        for j, a in enumerate(CONDS):
            for b in CONG:
                mu = 6.4 + off + slope[j] + [0, 0.05, 0.02][j] + (0.08 if b == "incongruent" else 0)
                for _ in range(20):
                    rows.append({"participant": f"P{i:02d}", "condition": a, "congruency": b,
                                 "rt_ms": float(np.exp(mu + rng.normal(0, 0.2)))})
    return pd.DataFrame(rows)


def test_design_lmm_balanced_intercept_df_is_the_split_plot_df():
    """Random intercept, balanced cells: the Satterthwaite df of every within-participant
    term is the classical residual df n − p − (participants − 1) (here 1920 − 6 − 15)."""
    d = trial_level()
    fit = fit_factorial_lmm(d, DESIGN_3x2, structures=("intercept",))
    assert fit.chain.structure == "intercept"
    a = lmm_anova_table(fit)
    assert a["df2"].to_numpy() == pytest.approx([1899.0] * 3, abs=0.05)
    assert a["method"].str.startswith("Satterthwaite").all()
    c = lmm_contrast_table(fit, [STROOP, BW_FW_INTERFERENCE]).set_index("contrast")
    # the Stroop contrast (1 df) is the congruency term: t² = F
    assert c.at["Stroop", "t"] ** 2 == pytest.approx(a.set_index("term").at["congruency", "F"])
    assert c.at["Stroop", "ratio"] == pytest.approx(math.exp(c.at["Stroop", "estimate_log"]))


def test_design_lmm_is_not_fitted_when_a_cell_is_empty_or_one_participant():
    d = trial_level(n=6)
    hole = d[~((d["condition"] == "backward") & (d["congruency"] == "congruent"))]
    with pytest.raises(NotIdentifiable, match="condition = backward, congruency = congruent "
                                              "has no valid trials"):
        fit_factorial_lmm(hole, DESIGN_3x2)
    with pytest.raises(NotIdentifiable, match="one participant"):
        fit_factorial_lmm(d[d["participant"] == "P00"], DESIGN_3x2)
    fit = fit_factorial_lmm(d, DESIGN_3x2)   # 6 participants: 21 slope parameters skipped
    assert "slopes: not fitted, 21 random-effect parameters but only 6 participants" \
        in fit.chain.reason


def test_resolve_design_orders_and_errors():
    d = trial_level(n=2)
    design = resolve_design(d, DesignPlan(factors=("congruency", "condition")),
                            {"condition": CONDS})
    assert design.levels == (CONG, CONDS)
    plan = DesignPlan(factors=("condition",), levels=(("condition", ("stand", "forward")),))
    with pytest.raises(DesignError, match="condition = 'backward', which plan key "
                                          "design.levels.condition does not list"):
        resolve_design(d, plan)
    with pytest.raises(DesignError, match="'language', which is not a column"):
        resolve_design(d, DesignPlan(factors=("language",)))
    w = Design(("condition", "congruency"), (CONDS, CONG)).cell_weights(BW_FW_INTERFERENCE)
    assert list(w) == [0, 0, 1, -1, -1, 1]     # cells: (stand,c) (stand,i) (fwd,c) (fwd,i) …


def test_declared_levels_are_checked_on_every_test_trial_with_file_and_row():
    """A stroop-walk trial file's row is its trial_in_session; a mapped table's, source_row."""
    d = pd.DataFrame({"participant": "P1", "condition": ["stand", "forward", "backward"],
                      "source_file": "P1/P1_trials.csv", "trial_in_session": [5, 6, 7]})
    plan = DesignPlan(factors=("condition",), levels=(("condition", ("stand", "forward")),))
    with pytest.raises(DesignError, match=r"^P1/P1_trials\.csv: row 7: condition = 'backward' "
                                          r"is not a level of plan key design\.levels\.condition "
                                          r"\(stand, forward\)"):
        check_declared_levels(d, plan)
    with pytest.raises(DesignError, match=r"row 3: condition = 'backward'"):
        check_declared_levels(d.assign(source_row=[1, 2, 3]), plan)
    check_declared_levels(d[d["condition"] != "backward"], plan)   # listed levels pass
    check_declared_levels(d, DesignPlan(factors=("condition",)))    # no order declared


@pytest.mark.parametrize("doc, message", [
    ({"design": {"factors": []}}, r"design\.factors = \[\] must be a non-empty array"),
    ({"design": {"factors": ["condition", "condition"]}}, r"repeats a factor"),
    ({"design": {"factors": ["rt_ms"]}}, r"rt_ms is not a factor"),
    ({"design": {"levels": {"congruency": ["congruent", "incongruent"]}}},
     r"design\.levels\.congruency: congruency is not in design\.factors"),
    ({"design": {"per_session": "yes"}}, r"design\.per_session = 'yes' must be true or false"),
    ({"design": {"order": 1}}, r"design\.order is unknown; \[design\] allows factors"),
    ({"contrasts": {"named": [{"condition": ["backward", "forward"]}]}},
     r"contrasts\.named\[1\]\.name = None must be a one-line string"),
    ({"contrasts": {"named": [{"name": "x", "condition": {"backward": 1, "forward": 1}}]}},
     r"contrasts\.named\[1\]\.condition = .*weights must sum to 0"),
    ({"contrasts": {"named": [{"name": "x", "condition": ["backward"]}]}},
     r"must be a pair of two different levels"),
    ({"contrasts": {"named": [{"name": "x"}]}}, r"gives no factor"),
    ({"contrasts": {"named": [{"name": "x", "condition": ["a", "b"]},
                              {"name": "x", "condition": ["a", "b"]}]}}, r"repeats a contrast"),
])
def test_design_plan_errors_name_key_and_value(doc, message):
    with pytest.raises(PlanError, match=message):
        plan_from_dict(doc)


def test_design_plan_reads_factors_levels_and_contrasts():
    plan = plan_from_dict({
        "design": {"factors": ["condition", "congruency"], "per_session": True,
                   "levels": {"congruency": ["congruent", "incongruent"]}},
        "contrasts": {"named": [
            {"name": "walking vs standing", "condition": {"forward": 0.5, "backward": 0.5,
                                                          "stand": -1}},
            {"name": "bw-fw interference", "condition": ["backward", "forward"],
             "congruency": ["incongruent", "congruent"]}]}})
    assert plan.design.factors == ("condition", "congruency") and plan.design.per_session
    assert plan.design.level_order("congruency") == CONG
    assert not plan.design.is_study_default
    named = plan.contrasts.named
    assert named[1].factor_weights() == {"condition": {"backward": 1.0, "forward": -1.0},
                                         "congruency": {"incongruent": 1.0, "congruent": -1.0}}
    assert plan_from_dict({}).design.is_study_default
