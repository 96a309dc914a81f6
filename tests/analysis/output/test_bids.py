"""BIDS export (python -m analysis.bids), checked by the real BIDS validator.

The validator is the Deno build that PyPI ships as ``bids-validator-deno`` (installed by
``make setup`` with the dev extras). Datasets: the shipped example data, and a demo set
with hostile participant IDs, a second session, a resumed session and voice sessions whose
audio folders hold real WAV files.
"""
from __future__ import annotations

import csv
import filecmp
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import wavfile

from analysis.bids import bids_labels, events_of_run, export_bids, main
from analysis.input.codebook import TRIAL_COLUMN_NAMES, documented_columns
from analysis_data import audio_dir, read_trials, write_dataset
from bids_validation import errors_of, validate

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "example"


def _rewrite(path: Path, change) -> None:
    rows = read_trials(path)
    header = list(rows[0])
    rows = [change(dict(r)) for r in rows]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _write_wavs(trials_path: Path) -> list[str]:
    """A real WAV (int16, 48 kHz) for every audio_file the voice session's trials name."""
    folder = audio_dir(trials_path)
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted({r["audio_file"] for r in read_trials(trials_path) if r["audio_file"]})
    rng = np.random.default_rng(3)
    for name in names:
        wavfile.write(folder / name, 48000, (rng.normal(0, 300, 4800)).astype(np.int16))
    (folder / "recordings.csv").write_text("kind,file\n" + "".join(f"trial,{n}\n" for n in names),
                                           encoding="utf-8")
    return names


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    """Keyboard sessions whose IDs clash once made BIDS-safe, a second session, a resumed
    session (two runs, two clocks) and voice sessions with their recordings."""
    root = tmp_path_factory.mktemp("demo-data")
    keyboard = write_dataset(root / "kb", n_participants=2, prefix="P-", trials_per_block=12,
                             blocks_per_condition=1, practice_trials=4, seed=2)
    write_dataset(root / "kb2", n_participants=1, prefix="P_", trials_per_block=12,
                  blocks_per_condition=1, practice_trials=4, seed=3)
    # a second session of P-001
    src = keyboard[0]
    for f in sorted(src.parent.iterdir()):
        if f.is_file():
            dst = f.with_name(f.name.replace("_s1_", "_s2_"))
            shutil.copy(f, dst)
            if dst.name.endswith(("_trials.csv", "_blocks.csv")):
                _rewrite(dst, lambda r: {**r, "session": "2"})
    # P-001's first session ran in PsychoPy (its sidecar names the software)
    src.with_name(src.name.replace("_trials.csv", "_session.json")).write_text(json.dumps({
        "participant": "P-001", "session": 1, "status": "complete", "runs": [{"run": 1, "versions": {
            "python": "3.11.2", "platform": "Linux-6.1-x86_64-with-glibc2.36",
            "psychopy": "2026.2.5", "stroop-walk": "0.1.0", "git_commit": "abc1234"}}]}))
    # P-002 was resumed after its 10th trial: run 2 on a clock that restarted
    def resumed(r):
        if int(r["trial_in_session"]) > 10:
            for col in ("fixation_onset_s", "stim_onset_s"):
                r[col] = f"{float(r[col]) - 40.0:.6f}"
            r["run"] = "2"
        return r
    _rewrite(keyboard[1], resumed)
    for path in write_dataset(root / "voice", n_participants=2, prefix="V.", trials_per_block=12,
                              blocks_per_condition=1, practice_trials=4, seed=4, device="voice",
                              window_s=1.5):
        _write_wavs(path)
    return root


@pytest.fixture(scope="module")
def demo_export(demo_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bids") / "dataset"
    export_bids(demo_data, out)
    return out


def test_example_data_export_is_valid_bids(tmp_path):
    if not (EXAMPLE / "simulated-24").is_dir():
        pytest.skip("data/example/simulated-24 missing")
    out = tmp_path / "bids"
    assert main(["--data", str(EXAMPLE), "--out", str(out), "--author", "Example Lab",
                 "--license", "CC0"]) == 0
    issues = validate(out)
    assert errors_of(issues) == []
    assert len(list(out.glob("sub-*/beh/*_beh.tsv"))) == 24
    # the warnings left are the ones a lab fills in (institution, Cognitive Atlas id, ...)
    codes = Counter(i["code"] for i in issues)
    assert set(codes) <= {"SIDECAR_KEY_RECOMMENDED", "JSON_KEY_RECOMMENDED", "TOO_FEW_AUTHORS"}


def test_demo_export_is_valid_bids(demo_export):
    assert errors_of(validate(demo_export)) == []


def test_hostile_ids_get_distinct_labels_and_the_mapping_is_written(demo_export):
    mapping = pd.read_csv(demo_export / "sourcedata" / "participant_labels.tsv", sep="\t")
    assert dict(zip(mapping["stroopwalk_participant"], mapping["participant_id"])) == {
        "P-001": "sub-P001", "P-002": "sub-P002", "P_001": "sub-P001dup2",
        "V.001": "sub-V001", "V.002": "sub-V002"}
    participants = pd.read_csv(demo_export / "participants.tsv", sep="\t")
    assert sorted(participants["participant_id"]) == sorted(mapping["participant_id"])
    assert dict(zip(participants["participant_id"], participants["n_sessions"]))["sub-P001"] == 2


def test_bids_labels_are_letters_and_digits_and_unique():
    ids = ["a-1", "A_1", "a1", "", "ü", "x", "P 7"]
    labels = bids_labels(ids)
    assert all(l.isalnum() and l.isascii() for l in labels.values())
    assert len({l.lower() for l in labels.values()}) == len(set(ids))
    assert labels["P 7"] == "P7"


def test_sessions_and_runs_get_their_entities(demo_export):
    p1 = demo_export / "sub-P001"
    assert (p1 / "ses-1" / "beh" / "sub-P001_ses-1_task-stroopwalk_beh.tsv").is_file()
    assert (p1 / "ses-2" / "beh" / "sub-P001_ses-2_task-stroopwalk_beh.tsv").is_file()
    beh = demo_export / "sub-P002" / "ses-1" / "beh"
    runs = sorted(p.name for p in beh.glob("*_events.tsv"))
    assert runs == ["sub-P002_ses-1_task-stroopwalk_run-1_events.tsv",
                    "sub-P002_ses-1_task-stroopwalk_run-2_events.tsv"]
    run2 = pd.read_csv(beh / runs[1], sep="\t")
    assert run2["onset"].min() == 0.0  # each run on its own clock


def test_beh_file_holds_the_trial_file_values(demo_data, demo_export):
    src = next((demo_data / "voice").rglob("V.001_*_trials.csv"))
    original = pd.read_csv(src, dtype=str, keep_default_na=False)
    beh = pd.read_csv(next(demo_export.rglob("sub-V001*_beh.tsv")), sep="\t", dtype=str,
                      keep_default_na=False)
    assert list(beh.columns) == list(TRIAL_COLUMN_NAMES) + ["speed_actual_kmh"]
    for col in ("word", "ink", "congruency", "response", "accuracy_code", "audio_file"):
        assert beh[col].replace("n/a", "").tolist() == original[col].tolist()
    for col in ("rt_ms", "stim_onset_s"):
        a = pd.to_numeric(beh[col].replace("n/a", ""), errors="coerce")
        b = pd.to_numeric(original[col], errors="coerce")
        assert np.allclose(a, b, equal_nan=True, rtol=0, atol=1e-9)
    assert not (beh == "").any().any()  # BIDS: missing is n/a


def test_events_onsets_are_seconds_from_the_first_fixation(demo_data, demo_export):
    src = next((demo_data / "kb").rglob("P-001_*_s1_*_trials.csv"))
    t = pd.read_csv(src)
    ev = pd.read_csv(next(demo_export.rglob("sub-P001_ses-1_*_events.tsv")), sep="\t")
    zero = t["fixation_onset_s"].min()
    words = ev[ev["trial_type"] == "word"].set_index("trial_in_session")
    assert np.allclose(words["onset"], (t.set_index("trial_in_session")["stim_onset_s"] - zero)
                       .loc[words.index], atol=1e-6)
    resp = ev[ev["trial_type"] == "response"].set_index("trial_in_session")
    rt = t.set_index("trial_in_session")["rt_ms"].loc[resp.index] / 1000
    assert np.allclose(resp["response_time"], rt, atol=1e-6)
    assert np.allclose(resp["onset"] - words.loc[resp.index, "onset"], rt, atol=2e-6)
    assert len(resp) == int(t["rt_ms"].notna().sum())
    assert (ev["onset"].diff().dropna() >= 0).all()
    assert set(ev["trial_type"]) == {"fixation", "word", "response"}


def test_voice_sessions_carry_their_recordings(demo_data, demo_export):
    src = next((demo_data / "voice").rglob("V.002_*_trials.csv"))
    beh = next(demo_export.rglob("sub-V002*_beh.tsv")).parent
    copied = next(beh.glob("*_task-stroopwalk_audio"))
    assert filecmp.dircmp(audio_dir(src), copied).diff_files == []
    assert sorted(p.name for p in copied.iterdir()) == sorted(p.name for p in audio_dir(src).iterdir())
    ev = pd.read_csv(next(beh.glob("*_events.tsv")), sep="\t", keep_default_na=False)
    named = [f for f in ev["audio_file"] if f != "n/a"]
    assert named and all((beh / f).is_file() for f in named)
    assert "_task-stroopwalk_audio" in (demo_export / ".bidsignore").read_text()


def test_stimulus_software_comes_from_the_session_sidecar(demo_export):
    events = json.loads(next(demo_export.rglob("sub-P001_ses-1_*_events.json")).read_text())
    assert events["StimulusPresentation"]["SoftwareName"] == "PsychoPy"
    assert events["StimulusPresentation"]["SoftwareVersion"] == "2026.2.5"
    beh = json.loads(next(demo_export.rglob("sub-P001_ses-1_*_beh.json")).read_text())
    assert beh["StroopWalkSession"]["runs"][0]["versions"]["git_commit"] == "abc1234"


def test_sidecars_carry_the_codebook(demo_export):
    beh = json.loads((demo_export / "task-stroopwalk_beh.json").read_text())
    doc = {c.name: c for c in documented_columns("## `_trials.csv`")}
    assert set(TRIAL_COLUMN_NAMES) <= set(beh)
    assert beh["rt_ms"]["Units"] == "ms" and beh["stim_onset_s"]["Units"] == "s"
    assert beh["speed_set_kmh"]["Units"] == "km/h"
    assert beh["rt_ms"]["Description"].startswith(doc["rt_ms"].meaning[:40])
    assert set(beh["congruency"]["Levels"]) == {"congruent", "incongruent", "neutral"}
    assert beh["correct"]["Levels"] == {"0": "no", "1": "yes"}
    session = json.loads(next(demo_export.rglob("sub-P001_ses-2_*_beh.json")).read_text())
    assert session["Blocks"] and {"speed_actual_kmh", "accuracy"} <= set(session["Blocks"][0])


def test_export_is_byte_identical_for_the_same_input(demo_data, demo_export, tmp_path):
    again = tmp_path / "again"
    export_bids(demo_data, again)
    files = sorted(p.relative_to(demo_export) for p in demo_export.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((demo_export / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_existing_folder_is_refused_and_left_alone(demo_data, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["--data", str(demo_data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not an empty folder" in err and "\n" not in err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "keep me"


def test_bad_data_exits_2_and_leaves_nothing(demo_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(demo_data / "kb", data)
    _rewrite(next(data.rglob("P-001_*_trials.csv")), lambda r: {**r, "ink": "purple"})
    out = tmp_path / "bids"
    assert main(["--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "purple" in err and "\n" not in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_events_of_a_run_without_onsets_is_empty():
    t = pd.DataFrame({"fixation_onset_s": [np.nan], "stim_onset_s": [np.nan]})
    assert events_of_run(t, None).empty
