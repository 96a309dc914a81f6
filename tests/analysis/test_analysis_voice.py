"""Vocal responses in the analysis: voice trial files, coder files in the session's audio
folder, the coder merge, the unclear/uncoded exclusions and the whole pipeline on voice data.

Sessions are written on disk in the codebook's format (data/README.md) by
``analysis_data.write_dataset(device="voice")``; coder files by ``write_coder_file``. The
analysis needs no audio, so there are no WAVs.
"""
from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.cleaning.selection import prepare
from analysis.input.loader import DataError, load_trials
from analysis.input.plan import Plan, PlanError, VoicePlan, load_plan, plan_from_dict
from analysis_data import coder_row, read_trials, write_coder_file, write_dataset

REPO = Path(__file__).resolve().parents[2]
UNCLEAR = "voice trial coded unclear (left out of RT and accuracy analyses)"
UNCODED = ("voice trial with speech but no accuracy code, uncoded (left out of RT and "
           "accuracy analyses)")


def _session(root: Path, **kw) -> Path:
    args = dict(n_participants=1, trials_per_block=12, blocks_per_condition=1,
                practice_trials=4, seed=5, device="voice", window_s=1.0)
    args.update(kw)
    return write_dataset(root, **args)[0]


def _key(row) -> tuple[int, int, int]:
    return int(row["is_practice"]), int(row["block"]), int(row["trial_in_block"])


def _loaded_row(t: pd.DataFrame, row) -> pd.Series:
    sel = t[(t["is_practice"] == int(row["is_practice"])) & (t["block"] == int(row["block"]))
            & (t["trial_in_block"] == int(row["trial_in_block"]))]
    assert len(sel) == 1
    return sel.iloc[0]


def _rewrite(path: Path, change) -> None:
    """Apply ``change(rows)`` (list of dicts, edited in place) to a CSV file."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    change(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


# ------------------------------------------------------------------ voice trial files
def test_voice_session_without_coder_keeps_the_detection(tmp_path):
    path = _session(tmp_path / "d")
    loaded = load_trials(tmp_path / "d")
    t = loaded.trials
    rows = read_trials(path)
    assert (t["response_device"] == "voice").all()
    assert (t["rt_source"] == "voice-detected").all()
    assert set(t["accuracy_code"]) <= {"correct", "wrong", "uncoded"}
    # the loader keeps the file's values: rt_ms and correct as written
    written = np.array([float(r["rt_ms"]) if r["rt_ms"] else np.nan for r in rows])
    assert np.allclose(t["rt_ms"].to_numpy(), written, equal_nan=True)
    assert t["timeout"].sum() > 0, "the fixture should hold timeouts (window 1 s)"
    [v] = loaded.voice
    assert (v.coder, v.hand_corrected, v.voice_trials) == ("", 0, len(rows))
    assert "not hand-coded" in v.status
    assert [f.kind for f in loaded.files] == ["trials", "blocks"]


def test_keyboard_and_voice_sessions_mix(tmp_path):
    write_dataset(tmp_path / "d", n_participants=2, trials_per_block=8,
                  blocks_per_condition=1, prefix="K")
    write_dataset(tmp_path / "d", n_participants=2, trials_per_block=8,
                  blocks_per_condition=1, prefix="V", device="voice")
    loaded = load_trials(tmp_path / "d")
    t = loaded.trials
    assert set(t.loc[t["participant"].str.startswith("K"), "accuracy_code"]) == {"auto"}
    assert set(t.loc[t["participant"].str.startswith("V"), "response_device"]) == {"voice"}
    assert [v.participant for v in loaded.voice] == ["V001", "V002"]


@pytest.mark.parametrize("device, column, value, expected", [
    ("voice", "accuracy_code", "auto", r"accuracy_code = auto on a voice trial"),
    ("voice", "rt_source", "keyboard", r"rt_source of a voice trial must be voice-detected"),
    ("voice", "accuracy_code", "maybe",
     r"accuracy_code = 'maybe' is not one of auto, correct, wrong, unclear, uncoded"),
    ("voice", "response_device", "microphone",
     r"response_device = 'microphone' is not one of keyboard, buttons, voice"),
    ("voice", "voice_confidence", "1.5", r"voice_confidence = '1\.5' is above 1"),
    ("keyboard", "accuracy_code", "correct",
     r"accuracy_code is not auto on a keyboard or button trial"),
    ("keyboard", "rt_source", "voice-detected", r"rt_source is voice-… but response_device"),
])
def test_bad_voice_cells_name_file_and_row(tmp_path, device, column, value, expected):
    path = _session(tmp_path / "d", device=device)

    def change(rows):
        rows[4][column] = value
    _rewrite(path, change)
    with pytest.raises(DataError, match=rf"row 5: {expected}") as e:
        load_trials(tmp_path / "d")
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_voice_correct_and_response_must_follow_the_code(tmp_path):
    path = _session(tmp_path / "d")
    rows = read_trials(path)
    i = next(k for k, r in enumerate(rows) if r["accuracy_code"] == "wrong" or
             (r["accuracy_code"] == "correct" and r["timeout"] == "0"))

    def flip_correct(rs):
        rs[i]["correct"] = "0" if rs[i]["correct"] == "1" else "1"
    _rewrite(path, flip_correct)
    with pytest.raises(DataError, match=rf"row {i + 1}: correct of a voice trial must be 1 "
                                        rf"exactly when accuracy_code = correct"):
        load_trials(tmp_path / "d")
    _rewrite(path, flip_correct)                      # back to the original

    def key_name(rs):
        rs[i]["response"] = "j"
    _rewrite(path, key_name)
    with pytest.raises(DataError, match=rf"row {i + 1}: response of a voice trial must be "
                                        rf"'voice'"):
        load_trials(tmp_path / "d")


def test_file_without_the_voice_columns_is_from_an_older_version(tmp_path):
    path = _session(tmp_path / "d", device="keyboard")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.drop(columns=["accuracy_code", "audio_file", "noise_file", "voice_online_rt_ms",
                     "voice_confidence"]).to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(DataError, match=r"lacks column accuracy_code .*: written by an older "
                                        r"stroop-walk") as e:
        load_trials(tmp_path / "d")
    assert str(path) in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------ the coder merge
def test_coder_codes_replace_detection_and_last_row_wins(tmp_path):
    path = _session(tmp_path / "d")
    rows = read_trials(path)
    spoken = [r for r in rows if r["timeout"] == "0" and r["is_practice"] == "0"]
    silent = [r for r in rows if r["timeout"] == "1"]
    assert len(spoken) >= 4 and silent
    a, b, c, d = spoken[:4]
    s = silent[0]
    ra, rc = float(a["rt_ms"]), float(c["rt_ms"])
    coder_rows = [
        coder_row(a, "AB", "wrong", ra - 80.0),            # superseded below
        coder_row(b, "AB", "correct", None),                # no speech after all
        coder_row(c, "AB", "correct", rc + 12.5),           # onset moved later
        coder_row(a, "AB", "correct", ra - 30.0),           # last row for a: wins
        coder_row(d, "AB", "unclear", float(d["rt_ms"])),   # onset confirmed, unclear
        coder_row(s, "AB", "correct", 812.25),              # speech the voice key missed
    ]
    write_coder_file(path, "AB", coder_rows)
    loaded = load_trials(tmp_path / "d")
    t = loaded.trials

    la = _loaded_row(t, a)
    assert (la["rt_source"], la["accuracy_code"], la["correct"], la["timeout"],
            la["response"]) == ("voice-corrected", "correct", 1, 0, "voice")
    assert la["rt_ms"] == pytest.approx(ra - 30.0)
    lb = _loaded_row(t, b)
    assert (lb["correct"], lb["timeout"], lb["response"]) == (0, 1, "")
    assert math.isnan(lb["rt_ms"])
    lc = _loaded_row(t, c)
    assert lc["rt_ms"] == pytest.approx(rc + 12.5) and lc["correct"] == 1
    ld = _loaded_row(t, d)
    assert (ld["accuracy_code"], ld["correct"], ld["timeout"]) == ("unclear", 0, 0)
    ls = _loaded_row(t, s)
    assert (ls["rt_ms"], ls["correct"], ls["timeout"], ls["response"]) == (812.25, 1, 0, "voice")
    # every other voice trial keeps the detection
    coded = {_key(r) for r in coder_rows}
    rest = t[[k not in coded for k in zip(t["is_practice"], t["block"], t["trial_in_block"])]]
    assert (rest["rt_source"] == "voice-detected").all() and len(rest) == len(rows) - 5
    assert (t["rt_source"] == "voice-corrected").sum() == 5

    [v] = loaded.voice
    assert (v.coder, v.hand_corrected) == ("AB", 5)
    # moved (last rows): a (30), b (cleared), c (12.5), s (added); d unmoved
    assert v.onsets_moved == 4
    assert v.mean_abs_shift_ms == pytest.approx((30.0 + 12.5) / 2, abs=1e-3)
    assert v.median_abs_shift_ms == pytest.approx((30.0 + 12.5) / 2, abs=1e-3)
    assert (v.speech_added, v.speech_removed) == (1, 1)
    coding = [f for f in loaded.files if f.kind == "coding"]
    assert [f.path for f in coding] == [
        (path.parent.relative_to(tmp_path / "d") / f"{path.name[:-11]}_audio" /
         "coding_AB.csv").as_posix()]
    assert coding[0].n_rows == 6


def test_coding_against_another_detection_is_noted(tmp_path):
    path = _session(tmp_path / "d")
    r = next(x for x in read_trials(path) if x["timeout"] == "0")
    row = coder_row(r, "AB", "correct", float(r["rt_ms"]) + 5)
    row["detected_rt_ms"] = f"{float(r['rt_ms']) + 40:.3f}"
    write_coder_file(path, "AB", [row])
    loaded = load_trials(tmp_path / "d")
    assert any("coding_AB.csv: 1 coded trial(s) have a detected_rt_ms that is not the trial "
               "file's rt_ms" in n for n in loaded.notes)
    assert _loaded_row(loaded.trials, r)["rt_ms"] == pytest.approx(float(r["rt_ms"]) + 5)


def test_unclear_and_uncoded_voice_trials_leave_rt_and_accuracy(tmp_path):
    paths = write_dataset(tmp_path / "d", n_participants=3, trials_per_block=20,
                          blocks_per_condition=1, practice_trials=4, seed=11, device="voice",
                          unclear_rate=0.1, uncoded_rate=0.08, window_s=1.2)
    # a coder codes one uncoded trial with speech as correct: it stays in
    rows = read_trials(paths[0])
    rescued = next(r for r in rows if r["accuracy_code"] == "uncoded" and r["timeout"] == "0"
                   and r["is_practice"] == "0")
    write_coder_file(paths[0], "X", [coder_row(rescued, "X", "correct", float(rescued["rt_ms"]))])
    files = [r for p in paths for r in read_trials(p) if r["is_practice"] == "0"]
    n_unclear = sum(r["accuracy_code"] == "unclear" for r in files)
    n_uncoded = sum(r["accuracy_code"] == "uncoded" and r["timeout"] == "0" for r in files) - 1
    n_silent_uncoded = sum(r["accuracy_code"] == "uncoded" and r["timeout"] == "1"
                           for r in files)
    assert n_unclear and n_uncoded and n_silent_uncoded

    loaded = load_trials(tmp_path / "d")
    plan = plan_from_dict({"participants": {"min_valid_trials": 1, "min_accuracy": 0.0}})
    prep = prepare(loaded.trials, plan)
    ex = prep.exclusions.set_index("reason")
    assert list(prep.exclusions["reason"][:3]) == ["practice trials", UNCLEAR, UNCODED]
    assert ex.at[UNCLEAR, "trials_removed"] == n_unclear
    assert ex.at[UNCODED, "trials_removed"] == n_uncoded
    per_cond = ex.loc[UNCLEAR, [c for c in ex.columns if c.startswith("removed_")]].sum()
    assert per_cond == n_unclear
    test = prep.test
    assert not (test["accuracy_code"] == "unclear").any()
    assert not ((test["accuracy_code"] == "uncoded") & (test["timeout"] == 0)).any()
    # an uncoded trial without speech is a timeout, counted as one
    assert ((test["accuracy_code"] == "uncoded") & (test["timeout"] == 1)).sum() == \
        n_silent_uncoded
    assert ex.at["timeout (no response)", "trials_removed"] == \
        sum(r["timeout"] == "1" for r in files)
    # participant accuracy is over the remaining test trials
    pp = prep.participants.set_index("participant")
    for pid, g in test.groupby("participant"):
        assert pp.at[pid, "n_test_trials"] == len(g)
        assert pp.at[pid, "accuracy"] == pytest.approx(g["correct"].mean())
    # the rescued trial is in, voice-corrected
    assert (test["rt_source"] == "voice-corrected").sum() == 1

    # exclude_codes = []: no voice lines; unclear and uncoded trials count as errors
    keep = plan_from_dict({"participants": {"min_valid_trials": 1, "min_accuracy": 0.0},
                           "voice": {"exclude_codes": []}})
    prep2 = prepare(loaded.trials, keep)
    assert UNCLEAR not in set(prep2.exclusions["reason"])
    assert len(prep2.test) == len(files)
    err = prep2.exclusions.set_index("reason").at["error (wrong response)", "trials_removed"]
    assert err == ex.at["error (wrong response)", "trials_removed"] + n_unclear + n_uncoded
    only_unclear = plan_from_dict({"voice": {"exclude_codes": ["unclear"]}})
    reasons = set(prepare(loaded.trials, only_unclear).exclusions["reason"])
    assert UNCLEAR in reasons and UNCODED not in reasons


def test_keyboard_data_have_no_voice_lines(tmp_path):
    write_dataset(tmp_path / "d", n_participants=2, trials_per_block=8, blocks_per_condition=1)
    loaded = load_trials(tmp_path / "d")
    prep = prepare(loaded.trials, Plan())
    assert not any("voice" in r for r in prep.exclusions["reason"])
    assert loaded.voice == []


# ------------------------------------------------------------------ choosing the coder
def _two_coders(root: Path) -> Path:
    path = _session(root)
    rows = read_trials(path)
    r = next(x for x in rows if x["timeout"] == "0")
    write_coder_file(path, "A", [coder_row(r, "A", "correct", float(r["rt_ms"]) + 10)])
    write_coder_file(path, "B-2", [coder_row(r, "B-2", "wrong", float(r["rt_ms"]) + 20)])
    return path


def test_several_coders_and_none_named_is_an_error(tmp_path):
    path = _two_coders(tmp_path / "d")
    for skip in (False, True):
        with pytest.raises(DataError, match=r"coder files of several coders \(A, B-2\) for "
                                            r"session .*_trials\.csv; set plan key voice\.coder"
                           ) as e:
            load_trials(tmp_path / "d", skip_bad=skip)
        assert "\n" not in str(e.value) and path.name in str(e.value)


def test_named_coder_is_used_and_a_missing_one_is_reported(tmp_path):
    _two_coders(tmp_path / "d")
    t = load_trials(tmp_path / "d", coder="B-2").trials
    assert set(t.loc[t["rt_source"] == "voice-corrected", "accuracy_code"]) == {"wrong"}
    loaded = load_trials(tmp_path / "d", coder="C")
    assert (loaded.trials["rt_source"] == "voice-detected").all()
    [v] = loaded.voice
    assert v.coder == "" and "no coding_C.csv" in v.status and "A, B-2" in v.status
    assert any("no coding_C.csv" in n and "keep the detected onsets" in n for n in loaded.notes)


def test_plan_voice_table(tmp_path):
    assert Plan().voice == VoicePlan(coder="", exclude_codes=("unclear", "uncoded"))
    assert load_plan().voice == Plan().voice
    p = tmp_path / "plan.toml"
    p.write_text('[voice]\ncoder = "AB"\nexclude_codes = ["uncoded"]\n')
    assert load_plan(p).voice == VoicePlan(coder="AB", exclude_codes=("uncoded",))
    for doc, message in [
        ({"voice": {"coder": "a b"}}, r"voice\.coder = 'a b' is not allowed"),
        ({"voice": {"exclude_codes": ["wrong"]}},
         r"voice\.exclude_codes = 'wrong' is not allowed; use one of unclear, uncoded"),
        ({"voice": {"exclude_codes": "unclear"}}, r"voice\.exclude_codes = 'unclear' must be "
                                                  r"an array"),
        ({"voice": {"coders": "A"}}, r"voice\.coders is unknown"),
    ]:
        with pytest.raises(PlanError, match=message):
            plan_from_dict(doc)


# ------------------------------------------------------------------ bad coder files
@pytest.mark.parametrize("column, value, expected", [
    ("code", "maybe", r"row 2: code = 'maybe' is not one of correct, wrong, unclear"),
    ("onset_ms", "soon", r"row 2: onset_ms = 'soon' is not a number"),
    ("onset_ms", "0", r"row 2: onset_ms = 0 must be > 0 ms"),
    ("onset_moved", "2", r"row 2: onset_moved = '2' is above 1"),
    ("coder", "Z", r"row 2: coder = 'Z' but the file is coding_AB\.csv"),
    ("block", "9", r"row 2: \(is_practice 0 block 9 trial_in_block \d+\) matches no voice "
                   r"trial of .*_trials\.csv"),
    ("trial_in_session", "999", r"row 2: trial_in_session = 999 but trial"),
    ("audio_file", "other.wav", r"row 2: audio_file = 'other\.wav' but trial .* recorded "),
    ("timestamp", "", r"row 2: timestamp = '' is empty"),
])
def test_bad_coder_file_names_file_row_column_and_value(tmp_path, column, value, expected):
    path = _session(tmp_path / "d")
    rows = [r for r in read_trials(path) if r["is_practice"] == "0" and r["timeout"] == "0"]
    cf = write_coder_file(path, "AB", [coder_row(r, "AB", "correct", float(r["rt_ms"]))
                                       for r in rows[:3]])

    def change(rs):
        rs[1][column] = value
    _rewrite(cf, change)
    with pytest.raises(DataError, match=expected) as e:
        load_trials(tmp_path / "d")
    assert str(cf) in str(e.value) and "\n" not in str(e.value)


def test_skip_bad_files_leaves_a_session_with_a_bad_coder_file_out(tmp_path):
    paths = write_dataset(tmp_path / "d", n_participants=2, trials_per_block=8,
                          blocks_per_condition=1, device="voice")
    r = next(x for x in read_trials(paths[1]) if x["timeout"] == "0")
    row = coder_row(r, "AB", "correct", float(r["rt_ms"]))
    row["code"] = "perhaps"
    write_coder_file(paths[1], "AB", [row])
    loaded = load_trials(tmp_path / "d", skip_bad=True)
    assert loaded.participants == ["SIM001"]
    [s] = loaded.skipped
    assert s.path.endswith(paths[1].name) and "coding_AB.csv: row 1: code = 'perhaps'" in s.reason
    assert [v.participant for v in loaded.voice] == ["SIM001"]


def test_badly_named_coder_file(tmp_path):
    path = _session(tmp_path / "d")
    write_coder_file(path, "a b", [])
    with pytest.raises(DataError, match=r"coding_a b\.csv: the coder ID in the file name"):
        load_trials(tmp_path / "d")


def test_bad_coder_file_through_the_cli_exits_2_with_one_line(tmp_path):
    path = _session(tmp_path / "d")
    r = next(x for x in read_trials(path) if x["timeout"] == "0")
    row = coder_row(r, "AB", "correct", float(r["rt_ms"]))
    row["code"] = "ok"
    cf = write_coder_file(path, "AB", [coder_row(r, "AB", "wrong", 500.0), row])
    proc = subprocess.run([sys.executable, "-m", "analysis", "--data", str(tmp_path / "d"),
                           "--out", str(tmp_path / "out"), "--no-progress"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in proc.stderr
    assert f"{cf}: row 2: code = 'ok' is not one of correct, wrong, unclear" in err
    assert not (tmp_path / "out").exists()

    _two_coders(tmp_path / "e")
    proc = subprocess.run([sys.executable, "-m", "analysis", "--data", str(tmp_path / "e"),
                           "--out", str(tmp_path / "out"), "--no-progress"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "voice.coder" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ the whole pipeline
@pytest.fixture(scope="module")
def voice_run(tmp_path_factory):
    """6 voice participants, congruent and incongruent trials, every session hand-coded by
    coder 'AB' (a quarter of the trials, some onsets moved); the pipeline run once."""
    base = tmp_path_factory.mktemp("voice")
    data = base / "data"
    paths = write_dataset(data, n_participants=6, trials_per_block=24, blocks_per_condition=1,
                          congruency_mix={"incongruent": 0.5, "congruent": 0.5},
                          practice_trials=4, seed=21, device="voice", unclear_rate=0.04,
                          uncoded_rate=0.03, condition_sd_s=0.02)
    rng = np.random.default_rng(3)
    for p in paths:
        rows = [r for r in read_trials(p) if r["timeout"] == "0"][::4]
        write_coder_file(p, "AB", [
            coder_row(r, "AB", "unclear" if k % 9 == 8 else
                      ("correct" if r["accuracy_code"] in ("correct", "uncoded") else "wrong"),
                      float(r["rt_ms"]) + (float(rng.normal(0, 20)) if k % 3 == 0 else 0.0))
            for k, r in enumerate(rows)])
    plan = base / "plan.toml"
    plan.write_text("[participants]\nmin_valid_trials = 5\n")
    out = base / "out"
    assert main(["--data", str(data), "--out", str(out), "--plan", str(plan),
                 "--no-progress"]) == 0
    return data, out


def test_all_voice_pipeline_writes_every_table_and_the_coding_report(voice_run):
    data, out = voice_run
    tables = {p.stem for p in (out / "tables").glob("*.csv")}
    assert {"exclusions", "participants", "voice_coding", "descriptives", "lmm_contrasts",
            "rm_anova", "accuracy_model", "interference", "dte_summary",
            "order_effects"} <= tables
    vc = pd.read_csv(out / "tables" / "voice_coding.csv")
    assert len(vc) == 6 and (vc["coder"] == "AB").all()
    for p, row in zip(sorted(data.rglob("*_trials.csv")), vc.itertuples()):
        coded = pd.read_csv(next(p.parent.glob("*_audio")) / "coding_AB.csv")
        assert row.hand_corrected == len(coded)
        assert row.onsets_moved == int(coded["onset_moved"].sum())
        moved = coded[coded["onset_moved"] == 1]
        shift = (moved["onset_ms"] - moved["detected_rt_ms"]).abs()
        assert row.mean_abs_shift_ms == pytest.approx(shift.mean(), abs=2e-3)
        assert row.median_abs_shift_ms == pytest.approx(shift.median(), abs=2e-3)
        trial = pd.read_csv(p, keep_default_na=False).set_index("audio_file")
        final = trial["accuracy_code"].copy()
        final[coded["audio_file"]] = coded["code"].to_numpy()   # one row per coded trial
        for code in ("correct", "wrong", "unclear", "uncoded"):
            assert getattr(row, f"code_{code}") == int((final == code).sum())
    ex = pd.read_csv(out / "tables" / "exclusions.csv")
    assert UNCLEAR in set(ex["reason"]) and UNCODED in set(ex["reason"])
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "RT sources of the" in md and "voice-corrected" in md and "voice-detected" in md
    assert "Voice trials: hand coding" in md and "Vocal responses in 6 session(s)" in md
    assert md.count("coding_AB.csv") >= 6          # provenance rows of the coder files
    for f in (out / "figures").glob("*.png"):
        assert f.stat().st_size > 0


def test_voice_with_agreeing_codes_gives_the_keyboard_statistics(tmp_path):
    """The same draws written as keyboard and as voice sessions (no unclear or uncoded
    responses): every statistical table is byte-identical; only the exclusions table gains
    the (empty) voice lines and there is a voice_coding table."""
    outs = {}
    for device in ("keyboard", "voice"):
        data = tmp_path / device
        write_dataset(data, n_participants=6, trials_per_block=16, blocks_per_condition=1,
                      congruency_mix={"incongruent": 0.5, "neutral": 0.5}, practice_trials=4,
                      seed=4, device=device, simulated=0, prefix="P")
        plan = tmp_path / "plan.toml"
        plan.write_text("[participants]\nmin_valid_trials = 5\n")
        outs[device] = tmp_path / f"out-{device}"
        assert main(["--data", str(data), "--out", str(outs[device]), "--plan", str(plan),
                     "--no-progress"]) == 0
    kb = {p.name: p.read_bytes() for p in (outs["keyboard"] / "tables").iterdir()}
    vo = {p.name: p.read_bytes() for p in (outs["voice"] / "tables").iterdir()}
    assert set(vo) - set(kb) == {"voice_coding.csv", "voice_coding.md", "voice_coding.tex"}
    differ = sorted(n for n in kb if kb[n] != vo[n])
    assert differ == ["exclusions.csv", "exclusions.md", "exclusions.tex"]
    ekb = pd.read_csv(outs["keyboard"] / "tables" / "exclusions.csv")
    evo = pd.read_csv(outs["voice"] / "tables" / "exclusions.csv")
    assert list(evo["reason"]) == [ekb["reason"][0], UNCLEAR, UNCODED] + list(ekb["reason"][1:])
    assert (evo.loc[evo["reason"].isin([UNCLEAR, UNCODED]), "trials_removed"] == 0).all()
    pd.testing.assert_frame_equal(evo[~evo["reason"].isin([UNCLEAR, UNCODED])]
                                  .reset_index(drop=True), ekb)
    md = (outs["keyboard"] / "report.md").read_text(encoding="utf-8")
    assert "RT sources of the" in md and "keyboard" in md and "Vocal responses" not in md
