"""Other labs' trial tables through ``--columns mapping.toml``: real public data (von Bastian
et al. 2016), PsychoPy Builder output written by PsychoPy's own data handlers, BIDS events
files, and one-line errors for what a mapping cannot read. Expected numbers come from plain
pandas on the raw files."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.cleaning.selection import prepare
from analysis.input.mapping import MappingError, load_mapping, mapping_from_dict
from analysis.input.plan import plan_from_dict
from analysis.input.tabular import load_tables
from reference_data import CSV as VB_CSV, require_reference

REPO = Path(__file__).resolve().parents[3]

VB_MAPPING = """\
[participant]
column = "ID"
[rt]
column = "RT"
unit = "ms"
[accuracy]
column = "accuracy"
[factors.congruency]
column = "congruency"
"""
# the data owners' cleaning: correct trials, 200 ms < RT < 2000 ms
VB_PLAN = """\
[[exclusions.rules]]
rule = "errors"
[[exclusions.rules]]
rule = "rt_window"
min_ms = 200
max_ms = 2000
include_min = false
include_max = false
"""
BUILDER_MAPPING = """\
[input]
files = ["*.csv"]
require = ["trials.thisN"]     # rows of the main trial loop only
[participant]
column = "participant"
[session]
column = "session"
[rt]
column = "key_resp.rt"
unit = "s"
[accuracy]
column = "key_resp.corr"
[block]
column = "blocks.thisN"
[trial]
column = "trials.thisN"
[factors.condition]
column = "walk"
[factors.congruency]
column = "congruent"
values = { "1" = "congruent", "0" = "incongruent" }
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def vonbastian(tmp_path_factory):
    require_reference(VB_CSV, ci=os.environ.get("CI", "").lower() == "true")
    d = tmp_path_factory.mktemp("vb")
    out = d / "out"
    code = main(["--data", str(VB_CSV), "--columns", str(write(d / "m.toml", VB_MAPPING)),
                 "--plan", str(write(d / "p.toml", VB_PLAN)), "--out", str(out),
                 "--no-progress"])
    assert code == 0
    return d, out


def test_vonbastian_published_cleaning_and_interference(vonbastian):
    d, out = vonbastian
    raw = pd.read_csv(VB_CSV, sep=";")
    mapping = load_mapping(d / "m.toml")
    prepared = prepare(load_tables(VB_CSV, mapping).trials,
                       plan_from_dict({"exclusions": {"rules": [
                           {"rule": "errors"},
                           {"rule": "rt_window", "min_ms": 200, "max_ms": 2000,
                            "include_min": False, "include_max": False}]}}))
    t = prepared.test
    kept = t[t["valid"] & (t["congruency"] != "neutral")]
    assert len(kept) == 11245 and kept["participant"].nunique() == 121   # the published set
    clean = raw[(raw["accuracy"] == 1) & (raw["RT"] > 200) & (raw["RT"] < 2000)]
    m = clean.groupby(["ID", "congruency"])["RT"].mean().unstack()
    inter = pd.read_csv(out / "tables" / "interference.csv").set_index("comparison")
    for base in ("congruent", "neutral"):
        diff = m["incongruent"] - m[base]
        row = inter.loc[f"incongruent − {base}"]
        assert row["n"] == 121
        assert row["mean_ms"] == pytest.approx(diff.mean(), abs=1e-6)
        assert row["sd_ms"] == pytest.approx(diff.std(ddof=1), abs=1e-6)
    assert inter.loc["incongruent − congruent", "mean_ms"] == pytest.approx(65.0, abs=0.5)
    ex = pd.read_csv(out / "tables" / "exclusions.csv").set_index("reason")
    assert ex.at["error (wrong response)", "trials_removed"] == int((raw["accuracy"] == 0).sum())
    assert ex.at["RT ≤ 200 ms or RT ≥ 2000 ms", "trials_removed"] == int(
        ((raw["accuracy"] == 1) & ((raw["RT"] <= 200) | (raw["RT"] >= 2000))).sum())
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "SIMULATED" not in md and "LEF_stroop.csv" in md


@pytest.fixture(scope="module")
def builder(tmp_path_factory) -> Path:
    """Six participants' CSVs written by PsychoPy's ExperimentHandler (own process)."""
    folder = tmp_path_factory.mktemp("builder") / "data"
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "builder_data.py"),
                           str(folder)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder


def builder_raw(folder: Path) -> pd.DataFrame:
    frames = []
    for p in sorted(folder.glob("*.csv")):
        f = pd.read_csv(p, dtype={"participant": str, "session": str})
        frames.append(f[f["trials.thisN"].notna()])
    return pd.concat(frames, ignore_index=True)


def test_builder_csv_through_a_mapping(builder, tmp_path):
    mapping = write(tmp_path / "builder.toml", BUILDER_MAPPING)
    plan = write(tmp_path / "plan.toml", """\
[conditions]
order = ["stand", "treadmill"]
[[exclusions.rules]]
rule = "errors"
[[exclusions.rules]]
rule = "first_trials"
n = 1
[[exclusions.rules]]
rule = "after_error"
[[exclusions.rules]]
rule = "rt_window"
min_ms = 200
""")
    out = tmp_path / "out"
    assert main(["--data", str(builder), "--columns", str(mapping), "--plan", str(plan),
                 "--out", str(out), "--no-progress"]) == 0
    raw = builder_raw(builder)
    assert len(raw) == 6 * 32
    rt = raw["key_resp.rt"] * 1000
    timeout = raw["key_resp.rt"].isna()
    error = raw["key_resp.corr"] == 0
    first = raw["trials.thisN"] == 0
    prev_error = error.groupby([raw["participant"], raw["blocks.thisN"]]).shift(1) == True  # noqa: E712
    keep = ~timeout & ~error & ~first & ~prev_error & (rt >= 200)
    inc = raw[keep & (raw["congruent"] == 0)]
    expected = (inc.assign(rt=rt[keep & (raw["congruent"] == 0)])
                .groupby(["walk", "participant"])["rt"].mean().groupby("walk").mean())
    desc = pd.read_csv(out / "tables" / "descriptives.csv").set_index("condition")
    assert list(desc.index) == ["stand", "treadmill"]
    for cond in ("stand", "treadmill"):
        assert desc.at[cond, "mean_rt_ms"] == pytest.approx(expected[cond], abs=1e-6)
        assert desc.at[cond, "n_trials"] == int((inc["walk"] == cond).sum())
    ex = pd.read_csv(out / "tables" / "exclusions.csv").set_index("reason")["trials_removed"]
    assert ex["timeout (no response)"] == int(timeout.sum())
    assert ex["error (wrong response)"] == int((error & ~timeout).sum())
    assert ex["first trial of each block"] == int((first & ~timeout & ~error).sum())
    assert ex["trial after an error or timeout"] == int(
        (prev_error & ~first & ~timeout & ~error).sum())
    # two blocks per condition, run in order stand, treadmill, stand, treadmill
    trials = load_tables(builder, load_mapping(mapping)).trials
    blocks = trials.drop_duplicates(["participant", "block"])
    assert blocks.groupby("participant")["condition"].agg(list).map(tuple).unique().tolist() == [
        ("stand", "treadmill", "stand", "treadmill")]
    assert (trials["condition_order"] == "stand-treadmill").all()
    assert set(trials["session"]) == {1}


def test_bids_events_files_with_ids_from_the_file_name(tmp_path):
    """BIDS: sub-<label>/beh/..._events.tsv, tab-separated, n/a for missing, onsets in s."""
    rng = np.random.default_rng(5)
    data = tmp_path / "bids"
    expected = {}
    for sub in ("01", "02", "03"):
        beh = data / f"sub-{sub}" / "beh"
        beh.mkdir(parents=True)
        n = 40
        rt = np.round(rng.normal(0.65, 0.1, n), 4)
        correct = (rng.random(n) > 0.1).astype(int)
        rt_cell = [("n/a" if i == 7 else f"{r}") for i, r in enumerate(rt)]
        correct[7] = 0
        kind = np.where(np.arange(n) % 2 == 0, "congruent", "incongruent")
        onset = np.cumsum(np.full(n, 2.0))
        frame = pd.DataFrame({"onset": onset, "duration": 1.5, "trial_type": kind,
                              "response_time": rt_cell, "correct": correct})
        frame.sample(frac=1.0, random_state=1).to_csv(   # rows need not be in onset order
            beh / f"sub-{sub}_task-stroop_events.tsv", sep="\t", index=False)
        keep = (np.arange(n) != 7) & (correct == 1)
        expected[sub] = pd.Series(rt[keep] * 1000).groupby(kind[keep]).mean()
    (data / "participants.tsv").write_text("participant_id\tage\nsub-01\t23\n")
    mapping = write(tmp_path / "bids.toml", """\
[input]
files = ["*_events.tsv"]
[participant]
filename = 'sub-([A-Za-z0-9]+)_'
[rt]
column = "response_time"
unit = "s"
[accuracy]
column = "correct"
[trial]
column = "onset"
[factors.congruency]
column = "trial_type"
""")
    loaded = load_tables(data, load_mapping(mapping))
    t = loaded.trials
    assert sorted(t["participant"].unique()) == ["01", "02", "03"]
    assert (t.groupby("participant")["trial_in_block"].apply(list).map(
        lambda x: x == list(range(1, 41)))).all()
    first = t[t["trial_in_session"] == 1]
    assert (first["congruency"] == "congruent").all()   # onset order, not row order
    assert t["timeout"].sum() == 3
    prepared = prepare(t, plan_from_dict({"exclusions": {"rules": [{"rule": "errors"}]}}))
    v = prepared.test[prepared.test["valid"]]
    got = v.groupby(["participant", "congruency"])["rt_ms"].mean()
    for sub, means in expected.items():
        for level, value in means.items():
            assert got[(sub, level)] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("doc, message", [
    ({"rt": {"column": "RT", "unit": "ms"}, "accuracy": "acc"}, r"mapping lacks \[participant\]"),
    ({"participant": "ID", "rt": {"column": "RT"}, "accuracy": "acc"},
     r"mapping key rt\.unit = None is not allowed; use \"ms\" or \"s\""),
    ({"participant": "ID", "rt": {"column": "RT", "unit": "sec"}, "accuracy": "acc"},
     r"rt\.unit = 'sec' is not allowed"),
    ({"participant": "ID", "rt": {"column": "RT", "unit": "ms"}, "accuracy": "acc",
      "factors": {"rt_ms": "x"}}, r"factors\.rt_ms: a factor name must be"),
    ({"participant": "ID", "rt": {"column": "RT", "unit": "ms"},
      "accuracy": {"column": "acc", "values": {"yes": 2}}},
     r"accuracy\.values\.yes = 2 must be 1 \(correct\) or 0 \(error\)"),
    ({"participant": {"filename": "sub-[0-9]+"}, "rt": {"column": "RT", "unit": "ms"},
      "accuracy": "acc"}, r"participant\.filename = 'sub-\[0-9\]\+' needs one group"),
    ({"participant": "ID", "rt": {"column": "RT", "unit": "ms"}, "accuracy": "acc",
      "input": {"delimiter": "|"}}, r"input\.delimiter = '\|' is not allowed"),
    ({"participant": "ID", "rt": {"column": "RT", "unit": "ms"}, "accuracy": "acc",
      "colour": "ink"}, r"mapping has unknown key colour"),
])
def test_bad_mappings_name_the_key(doc, message):
    with pytest.raises(MappingError, match=message):
        mapping_from_dict(doc)


@pytest.mark.parametrize("table, mapping_extra, message", [
    ("ID;RT;acc;cong\n1;500;1;congruent\n", "",
     r"data\.csv: no column 'congruency' \(mapping factors\.congruency\); its columns: ID, RT"),
    ("ID;RT;acc;congruency\n1;500;1;congruent\n1;fast;1;congruent\n", "",
     r"data\.csv: row 2: column 'RT' \(rt\) = 'fast' is not a number"),
    ("ID;RT;acc;congruency\n1;500;yes;congruent\n", "",
     r"data\.csv: row 1: column 'acc' \(accuracy\) = 'yes' is not mapped; add it to "
     r"\[accuracy\] values"),
    ("ID;RT;acc;congruency\n1;500;1;congruent\n1;510;1;incongruent\n2;480;1;neutral\n",
     'values = { congruent = "congruent", incongruent = "incongruent" }',
     r"data\.csv: row 3: column 'congruency' \(factors\.congruency\) = 'neutral' is not mapped"),
    ("ID;RT;acc;congruency\n1;500;1;congruent\n;510;1;congruent\n", "",
     r"data\.csv: row 2: column 'ID' \(participant\) = '' is empty"),
    ("ID;RT;acc;congruency\n1;NA;1;congruent\n", "",
     r"row 1: column 'acc' \(accuracy\) = '1' says correct but the RT is missing"),
    ("ID;RT;acc;congruency\n1;-5;1;congruent\n", "",
     r"row 1: column 'RT' \(rt\) = '-5' must be > 0"),
    # a first row longer than the header (pandas would shift it one column left)
    ("ID;RT;acc;congruency\n1;500;1;congruent;9\n", "",
     r"data\.csv: row 1 has more fields than the header \(line 1\) has columns"),
    # the RT unit wrong: seconds declared as ms, ms declared as s
    ("ID;RT;acc;congruency\n1;0.612;1;congruent\n1;0.705;1;incongruent\n1;NA;0;congruent\n",
     "", r"data\.csv: row 1: column 'RT' \(rt\) = '0\.612' reads as 0\.612 ms with rt\.unit = "
     r"\"ms\" \(the file's median RT: 0\.658 ms\); if the column holds seconds, set rt\.unit = "
     r"\"s\""),
    ("ID;RT;acc;congruency\n1;0.61;1;congruent\n1;700;1;incongruent\n", "SECONDS",
     r"data\.csv: row 2: column 'RT' \(rt\) = '700' is over 60 s with rt\.unit = \"s\"; if "
     r"the column holds milliseconds, set rt\.unit = \"ms\""),
])
def test_unreadable_values_are_one_line_errors_naming_file_column_and_value(
        tmp_path, capsys, table, mapping_extra, message):
    data = write(tmp_path / "data.csv", table)
    before = data.read_bytes()
    text = VB_MAPPING.replace('"accuracy"', '"acc"')
    if mapping_extra == "SECONDS":
        text, mapping_extra = text.replace('unit = "ms"', 'unit = "s"'), ""
    mapping = write(tmp_path / "m.toml", text + mapping_extra + "\n")
    code = main(["--data", str(data), "--columns", str(mapping), "--out",
                 str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err
    import re
    assert re.search(message, err), err
    assert data.read_bytes() == before and not (tmp_path / "out").exists()


def test_one_participant_session_in_two_files_is_an_error(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write(folder / "a.csv", "ID,RT,accuracy,congruency\n1,500,1,congruent\n")
    write(folder / "b.csv", "ID,RT,accuracy,congruency\n1,520,1,incongruent\n")
    with pytest.raises(Exception, match=r"participant '1' session 1 is in a\.csv and b\.csv"):
        load_tables(folder, mapping_from_dict({"participant": "ID",
                                               "rt": {"column": "RT", "unit": "ms"},
                                               "accuracy": "accuracy",
                                               "factors": {"congruency": "congruency"}}))


def test_skip_bad_files_leaves_out_a_bad_table_and_counts_it(builder, tmp_path, capsys):
    """``--skip-bad-files`` with ``--columns``: a table with a bad cell is left out (and named in
    the report), the others are analysed; without the flag the same folder is a one-line error."""
    data = tmp_path / "data"
    data.mkdir()
    files = sorted(builder.glob("*.csv"))
    for p in files:
        (data / p.name).write_bytes(p.read_bytes())
    bad = data / files[0].name
    raw = pd.read_csv(bad, dtype=str)
    raw.loc[raw["trials.thisN"].notna().idxmax(), "key_resp.rt"] = "fast"
    raw.to_csv(bad, index=False)
    mapping = write(tmp_path / "builder.toml", BUILDER_MAPPING)
    plan = write(tmp_path / "plan.toml", '[conditions]\norder = ["stand", "treadmill"]\n'
                 '[[exclusions.rules]]\nrule = "errors"\n')
    args = ["--data", str(data), "--columns", str(mapping), "--plan", str(plan), "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "strict")]) == 2
    err = capsys.readouterr().err.strip()
    assert bad.name in err and "\n" not in err
    assert not (tmp_path / "strict").exists()
    out = tmp_path / "lenient"
    assert main(args + ["--out", str(out), "--skip-bad-files"]) == 0
    loaded = load_tables(data, load_mapping(mapping), skip_bad=True)
    assert [s.path for s in loaded.skipped] == [bad.name]
    assert len(loaded.participants) == len(files) - 1
    assert bad.name in (out / "report.md").read_text()


def test_a_level_the_plan_does_not_declare_is_an_error_even_on_an_excluded_trial(tmp_path,
                                                                               capsys):
    """[design.levels] is the vocabulary of a mapped factor: a cell outside it stops the run
    with one line naming file, row, column and value, also when its trial would be excluded
    (here an error trial, which an RT analysis never sees)."""
    data = tmp_path / "d"
    data.mkdir()
    write(data / "p1.tsv", "pid\tlatency\tok\tlang\tcong\n"
          "p-1\t612\t1\tEnglish\tc\np-1\t640\t1\tGerman\ti\np-1\t700\t0\tFrench\tc\n")
    mapping = write(tmp_path / "m.toml", """\
[participant]
column = "pid"
[rt]
column = "latency"
unit = "ms"
[accuracy]
column = "ok"
[factors.language]
column = "lang"
[factors.congruency]
column = "cong"
values = { c = "congruent", i = "incongruent" }
""")
    plan = write(tmp_path / "p.toml", """\
[design]
factors = ["congruency", "language"]
[design.levels]
language = ["English", "German"]
[[exclusions.rules]]
rule = "errors"
""")
    code = main(["--data", str(data), "--columns", str(mapping), "--plan", str(plan),
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err == (f"error: {data / 'p1.tsv'}: row 3: column 'lang' (factors.language) = "
                   f"'French' is not a level of plan key design.levels.language (English, "
                   f"German); add it to the plan, or map it with [factors.language] values")
    # the same data without the stray cell are analysed (the check is not a false alarm)
    write(data / "p1.tsv", "pid\tlatency\tok\tlang\tcong\n"
          "p-1\t612\t1\tEnglish\tc\np-1\t640\t1\tGerman\ti\np-1\t700\t0\tGerman\tc\n")
    trials = load_tables(data, load_mapping(mapping),
                         levels={"language": ("English", "German")}).trials
    assert list(trials["language"]) == ["English", "German", "German"]
    assert list(trials["source_row"]) == [1, 2, 3]


def test_builder_csv_two_by_two_design_equals_pingouin(builder, tmp_path):
    """PsychoPy Builder output (written by PsychoPy's own ExperimentHandler) analysed as a
    2 × 2 within design (walk × congruency) after a published-style rule list: the factorial
    rm-ANOVA and the named "Stroop effect" against plain pandas + pingouin + scipy."""
    import pingouin as pg
    from scipy import stats
    mapping = write(tmp_path / "builder.toml", BUILDER_MAPPING)
    plan = write(tmp_path / "plan.toml", """\
[conditions]
order = ["stand", "treadmill"]
[design]
factors = ["condition", "congruency"]
[design.levels]
congruency = ["congruent", "incongruent"]
[[contrasts.named]]
name = "Stroop effect"
congruency = ["incongruent", "congruent"]
[[exclusions.rules]]
rule = "accuracy"
min = 0.8
[[exclusions.rules]]
rule = "first_trials"
n = 1
[[exclusions.rules]]
rule = "errors"
[[exclusions.rules]]
rule = "rt_window"
min_ms = 200
max_ms = 2000
[[exclusions.rules]]
rule = "sd"
k = 2.5
tail = "both"
per = ["participant", "condition", "congruency"]
""")
    out = tmp_path / "out"
    assert main(["--data", str(builder), "--columns", str(mapping), "--plan", str(plan),
                 "--out", str(out), "--no-progress"]) == 0
    raw = builder_raw(builder)
    raw["rt"] = raw["key_resp.rt"] * 1000
    acc = raw.groupby("participant")["key_resp.corr"].mean()      # timeouts: corr 0
    d = raw[raw["participant"].isin(acc.index[acc >= 0.8])]
    d = d[d["key_resp.rt"].notna() & (d["trials.thisN"] > 0) & (d["key_resp.corr"] == 1)
          & d["rt"].between(200, 2000)]
    d = d.assign(congruency=d["congruent"].map({1: "congruent", 0: "incongruent"}))
    g = d.groupby(["participant", "walk", "congruency"])["rt"]
    d = d[~((d["rt"] - g.transform("mean")).abs() > 2.5 * g.transform("std"))]
    cells = d.groupby(["participant", "walk", "congruency"])["rt"].mean().reset_index()
    ref = pg.rm_anova(data=cells, dv="rt", within=["walk", "congruency"],
                      subject="participant", effsize="np2").set_index("Source")
    ng2 = pg.rm_anova(data=cells, dv="rt", within=["walk", "congruency"],
                      subject="participant", effsize="ng2").set_index("Source")["ng2"]
    ours = pd.read_csv(out / "tables" / "design_anova.csv").set_index("effect")
    for source, effect in (("walk", "condition"), ("congruency", "congruency"),
                           ("walk * congruency", "condition × congruency")):
        assert ours.at[effect, "F"] == pytest.approx(ref.at[source, "F"], rel=1e-7)
        assert ours.at[effect, "p"] == pytest.approx(ref.at[source, "p_unc"], rel=1e-6)
        assert ours.at[effect, "partial_eta2"] == pytest.approx(ref.at[source, "np2"], rel=1e-7)
        assert ours.at[effect, "generalized_eta2"] == pytest.approx(ng2[source], rel=1e-7)
        assert ours.at[effect, "n_participants"] == cells["participant"].nunique()
    w = cells.pivot_table(index="participant", columns=["congruency", "walk"], values="rt")
    score = (w["incongruent"] - w["congruent"]).mean(axis=1)
    t = stats.ttest_1samp(score, 0.0)
    con = pd.read_csv(out / "tables" / "design_contrasts.csv").set_index("contrast")
    assert con.at["Stroop effect", "estimate_ms"] == pytest.approx(score.mean(), rel=1e-8)
    assert con.at["Stroop effect", "t"] == pytest.approx(t.statistic, rel=1e-7)
