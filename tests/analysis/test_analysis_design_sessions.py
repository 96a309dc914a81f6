"""An outside analyst's data through ``--columns``: BIDS ``_events.tsv`` files of two sessions
(session from the file name, byte-order mark, RT in ms with ``n/a`` for no response,
accuracy ``yes``/``no``, string IDs, rows not in onset order), a published-style cleaning
(participant by ID, accuracy, first 2 trials of each block, errors, the trial after an
error, RT window, 2.5 SD per participant × session × trial type) and a trial type × session
design with per-session results. Every number is recomputed here from the raw files with
plain pandas, pingouin and scipy, not with the pipeline's functions."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from analysis.__main__ import main

pytestmark = pytest.mark.slow   # ~1 min: three design mixed models per run

SUBJECTS = ("alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "mu")
KINDS = ("congruent", "neutral", "incongruent")
MAPPING = """\
[input]
files = ["*_events.tsv"]
[participant]
filename = 'sub-([A-Za-z0-9]+)_'
[session]
filename = '_ses-([0-9]+)_'
[rt]
column = "rt_msec"
unit = "ms"
[accuracy]
column = "acc"
values = { yes = 1, no = 0 }
[block]
column = "block"
[trial]
column = "onset"
[factors.trial_type]
column = "trial_type"
"""
PLAN = """\
[design]
factors = ["trial_type", "session"]
per_session = true
[design.levels]
trial_type = ["congruent", "neutral", "incongruent"]

[[contrasts.named]]
name = "Stroop effect"
trial_type = ["incongruent", "congruent"]
[[contrasts.named]]
name = "Stroop effect, session 2 vs 1"
trial_type = ["incongruent", "congruent"]
session = ["2", "1"]

[[exclusions.rules]]
rule = "participants"
ids = ["mu"]
reason = "colour blind"
[[exclusions.rules]]
rule = "accuracy"
min = 0.8
[[exclusions.rules]]
rule = "first_trials"
n = 2
[[exclusions.rules]]
rule = "errors"
[[exclusions.rules]]
rule = "after_error"
[[exclusions.rules]]
rule = "rt_window"
min_ms = 200
max_ms = 2000
[[exclusions.rules]]
rule = "sd"
k = 2.5
tail = "both"
per = ["participant", "session", "trial_type"]
"""


def write_bids(root) -> None:
    rng = np.random.default_rng(77)
    for i, sub in enumerate(SUBJECTS):
        subj = rng.normal(0, 50)
        p_error = 0.3 if sub == "eta" else 0.06          # eta: below 80 % accuracy
        for ses in (1, 2):
            d = root / f"sub-{sub}" / f"ses-{ses}" / "beh"
            d.mkdir(parents=True)
            rows, onset = [], 1.0
            for run in (1, 2):
                for t in range(24):
                    kind = KINDS[(t + run) % 3]
                    rt = (600 + subj + {"congruent": 0, "neutral": 10, "incongruent": 70}[kind]
                          - 30 * (ses == 2) + rng.normal(0, 60) + rng.exponential(130))
                    if rng.random() < 0.03:
                        rows.append((onset, kind, f"run{run}", "n/a", "no"))
                    else:
                        rows.append((onset, kind, f"run{run}", f"{rt:.1f}",
                                     "no" if rng.random() < p_error else "yes"))
                    onset += 2.5
            frame = pd.DataFrame(rows, columns=["onset", "trial_type", "block", "rt_msec",
                                                "acc"]).sample(frac=1.0, random_state=i)
            text = frame.to_csv(sep="\t", index=False, lineterminator="\n")
            (d / f"sub-{sub}_ses-{ses}_task-stroop_events.tsv").write_bytes(
                b"\xef\xbb\xbf" + text.encode("utf-8"))
    (root / "participants.tsv").write_text("participant_id\tage\nsub-alpha\t23\n")


def expected_cells(root) -> tuple[pd.DataFrame, dict[str, int]]:
    """Participant × trial type × session mean RT (ms) after the plan's rules, by hand."""
    frames = []
    for p in sorted(root.rglob("*_events.tsv")):
        f = pd.read_csv(p, sep="\t", encoding="utf-8-sig", na_values=["n/a"])
        f["participant"] = re.search(r"sub-([A-Za-z0-9]+)_", p.name).group(1)
        f["session"] = int(re.search(r"_ses-([0-9]+)_", p.name).group(1))
        frames.append(f)
    raw = pd.concat(frames, ignore_index=True).sort_values(
        ["participant", "session", "block", "onset"])
    raw["correct"] = raw["acc"] == "yes"
    raw["timeout"] = raw["rt_msec"].isna()
    raw["n_in_block"] = raw.groupby(["participant", "session", "block"]).cumcount() + 1
    raw = raw[raw["participant"] != "mu"]
    acc = raw.groupby("participant")["correct"].mean()
    d = raw[raw["participant"].isin(acc.index[acc >= 0.8])]
    error = ~d["correct"]
    after = error.groupby([d["participant"], d["session"], d["block"]]).shift(1)
    d = d[~d["timeout"] & (d["n_in_block"] > 2) & ~error & (after != True)  # noqa: E712
          & d["rt_msec"].between(200, 2000)]
    g = d.groupby(["participant", "session", "trial_type"])["rt_msec"]
    far = (d["rt_msec"] - g.transform("mean")).abs() > 2.5 * g.transform("std")
    counts = {"accuracy": int((acc < 0.8).sum()), "sd": int(far.sum()),
              "valid": int((~far).sum())}
    cells = (d[~far].groupby(["participant", "trial_type", "session"])["rt_msec"].mean()
             .rename("rt").reset_index())
    return cells, counts


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    data = root / "bids"
    write_bids(data)
    (root / "m.toml").write_text(MAPPING)
    (root / "p.toml").write_text(PLAN)
    out = root / "out"
    assert main(["--data", str(data), "--columns", str(root / "m.toml"), "--plan",
                 str(root / "p.toml"), "--out", str(out), "--no-progress"]) == 0
    return data, out


def test_cleaning_counts_equal_plain_pandas(analysed):
    data, out = analysed
    _, counts = expected_cells(data)
    ex = pd.read_csv(out / "tables" / "exclusions.csv").set_index("reason")
    assert ex.at["participant accuracy < 0.8 (all their test trials)",
                 "participants_removed"] == counts["accuracy"] == 1
    sd = ex.loc["RT beyond mean ± 2.5 × SD (per participant × session × trial_type)"]
    assert sd["trials_removed"] == counts["sd"] > 0
    assert sd["trials_remaining"] == counts["valid"]


def _pingouin(cells: pd.DataFrame, within) -> pd.DataFrame:
    a = pg.rm_anova(data=cells, dv="rt", within=within, subject="participant",
                    correction=True, effsize="np2")
    ng2 = pg.rm_anova(data=cells, dv="rt", within=within, subject="participant",
                      effsize="ng2")["ng2"]
    return a.assign(ng2=ng2.to_numpy()).set_index("Source")


def test_pooled_and_per_session_anova_equal_pingouin(analysed):
    data, out = analysed
    cells, _ = expected_cells(data)
    ours = pd.read_csv(out / "tables" / "design_anova.csv")
    assert list(ours["sessions"].unique()) == ["all sessions", "session 1", "session 2"]
    parts = [("all sessions", cells, ["trial_type", "session"],
              {"trial_type": "trial_type", "session": "session",
               "trial_type * session": "trial_type × session"})]
    parts += [(f"session {s}", c, "trial_type", {"trial_type": "trial_type"})
              for s, c in cells.groupby("session")]
    for label, part, within, names in parts:
        ref = _pingouin(part, within)
        got = ours[ours["sessions"] == label].set_index("effect")
        assert sorted(got.index) == sorted(names.values())
        for source, effect in names.items():
            r, o = ref.loc[source], got.loc[effect]
            assert o["F"] == pytest.approx(r["F"], rel=1e-7)
            assert o["p"] == pytest.approx(r["p_unc"], rel=1e-6, abs=1e-12)
            assert o["partial_eta2"] == pytest.approx(r["np2"], rel=1e-7)
            assert o["generalized_eta2"] == pytest.approx(r["ng2"], rel=1e-7)
            if r["ddof1"] > 1:   # Greenhouse–Geisser and Mauchly for the 3-level terms
                assert o["epsilon_gg"] == pytest.approx(r["eps"], rel=1e-7)
                assert o["p_gg"] == pytest.approx(r["p_GG_corr"], rel=1e-6)
                if "W_spher" in r and not pd.isna(r["W_spher"]):
                    assert o["mauchly_w"] == pytest.approx(r["W_spher"], rel=1e-7)


def test_named_contrasts_pooled_and_per_session_equal_scipy(analysed):
    data, out = analysed
    cells, _ = expected_cells(data)
    w = cells.pivot_table(index="participant", columns=["trial_type", "session"], values="rt")
    stroop = w["incongruent"] - w["congruent"]          # participants × session
    expected = {("all sessions", "Stroop effect"): stroop.mean(axis=1),
                ("all sessions", "Stroop effect, session 2 vs 1"): stroop[2] - stroop[1],
                ("session 1", "Stroop effect"): stroop[1],
                ("session 2", "Stroop effect"): stroop[2]}
    ours = pd.read_csv(out / "tables" / "design_contrasts.csv").set_index(
        ["sessions", "contrast"])
    assert set(ours.index) == set(expected)   # a contrast over session is not per session
    for key, score in expected.items():
        t = stats.ttest_1samp(score, 0.0)
        assert ours.loc[key, "estimate_ms"] == pytest.approx(score.mean(), rel=1e-8)
        assert ours.loc[key, "t"] == pytest.approx(t.statistic, rel=1e-7)
        assert ours.loc[key, "p"] == pytest.approx(t.pvalue, rel=1e-6)
    cm = pd.read_csv(out / "tables" / "design_lmm_cell_means.csv")
    assert set(cm["sessions"]) == {"all sessions", "session 1", "session 2"}
