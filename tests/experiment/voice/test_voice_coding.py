"""Offline coding of vocal responses, the pure part (experiment.voice.coding): no display.

The session folders here are real files laid out as a vocal session writes them: a trials
file, per-trial WAVs in ``<stem>_audio/`` whose sample 0 is the stimulus flip, and the
recordings index with the sound card's clock (off nominal, as a real one is).
:func:`make_session` is shared with ``test_coding_tool.py``.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from experiment.voice import coding as vc
from experiment.core.datafile import CsvAppender, read_rows
from experiment.core.records import TRIAL_COLUMNS
from experiment.voice.device import INDEX_COLUMNS, onset_rt_ms

REPO = Path(__file__).resolve().parents[3]
RATE = 48000
CLOCK_RATE = 47990.4            # the sound card runs 200 ppm slow against PsychoPy's clock
STEM = "P07_stroop-walk_s1_2026-03-02_10h15.00.000"
VOICE_COLUMNS = ("accuracy_code", "audio_file", "noise_file", "voice_online_rt_ms", "voice_confidence")
COLUMNS = tuple(TRIAL_COLUMNS) + tuple(c for c in VOICE_COLUMNS if c not in TRIAL_COLUMNS)
WORDS = {"red": "RED", "green": "GREEN", "blue": "BLUE", "yellow": "YELLOW"}


@dataclass(frozen=True)
class Spec:
    """A trial to build: what was shown and where the speech starts in its WAV."""
    is_practice: int
    block: int
    trial_in_block: int
    word: str                   # colour name of the word
    ink: str
    speech_onset_s: float | None   # seconds after the flip; None: silence (no response)
    detector_error_ms: float = 0.0  # the voice key's rt_ms minus the true onset
    live_code: str = "correct"
    audio: str = "ok"           # ok | missing (WAV deleted) | unlisted (trial file names none)
    marker_s: float | None = None  # a 1 kHz beep (50 ms) before the speech, for playback tests


SPECS = (
    Spec(1, 1, 1, "red", "blue", 0.62, 7.0),
    Spec(1, 1, 2, "green", "yellow", 0.55, -3.0, marker_s=0.15),
    Spec(0, 1, 1, "blue", "red", 0.71, 0.0, live_code="wrong"),
    Spec(0, 1, 2, "yellow", "green", None, 0.0, live_code="uncoded"),
    Spec(0, 1, 3, "red", "green", 0.66, 12.0, audio="missing"),
    Spec(0, 2, 1, "green", "red", 0.58, 2.0, live_code="unclear"),
)


def speech(text: str, onset_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``text`` spoken (espeak-ng, else a voiced harmonic burst) starting exactly at ``onset_s``."""
    from experiment.simulation.speech import espeak_available, synthesise
    start = int(round(onset_s * RATE))
    if espeak_available():
        word = synthesise(text, rate_hz=RATE)
        first = int(round(word.onset_s * RATE))
        sig = word.samples[first:]
        sig = sig * (0.5 / max(np.max(np.abs(sig)), 1e-9))
    else:
        t = np.arange(int(0.35 * RATE)) / RATE
        sig = 0.3 * sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 6)) * np.hanning(len(t))
    out = np.zeros(n)
    m = min(len(sig), n - start)
    out[start:start + m] = sig[:m]
    return out


def make_session(folder: Path, specs=SPECS, seed: int = 3, keyboard_rows: int = 0,
                 index: bool = True, window_s: float = 1.5) -> dict:
    """Write a vocal session into ``folder`` (a participant folder); returns the facts per trial.

    Returns {key: dict(spec, audio_file, start_s, audio_start_s, true_ms, rt_ms (as written),
    wav (float samples))}.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{STEM}_session.json").write_text("{}\n")
    adir = folder / f"{STEM}_audio"
    adir.mkdir(exist_ok=True)
    facts = {}
    idx = CsvAppender(adir / "recordings.csv", INDEX_COLUMNS) if index else None
    noise_name = f"{STEM}_noise_p0_b01.wav"
    wavfile.write(adir / noise_name, RATE, (rng.normal(0, 0.002, RATE) * 32767).astype(np.int16))
    rows = []
    for n, s in enumerate(specs, start=1):
        start_s = 1000.0 + 3.0 * n
        audio_start_s = round(start_s + 0.31 / RATE, 6)  # sample 0 within half a sample of the flip
        # (rounded as CsvAppender writes it: 1 us)
        n_samples = int(window_s * CLOCK_RATE)
        x = rng.normal(0, 0.002, n_samples)
        true_ms = None
        if s.speech_onset_s is not None:
            k = int(round(s.speech_onset_s * CLOCK_RATE))
            x += speech(s.ink, k / RATE, n_samples, rng)
            true_ms = onset_rt_ms(k / RATE, audio_start_s, CLOCK_RATE, RATE, start_s)
        if s.marker_s is not None:
            k0 = int(round(s.marker_s * CLOCK_RATE))
            t = np.arange(int(0.05 * RATE)) / RATE
            x[k0:k0 + len(t)] += 0.4 * np.sin(2 * np.pi * 1000 * t)
        pcm = np.clip(np.round(x * 32767), -32767, 32767).astype(np.int16)
        name = f"{STEM}_p{s.is_practice}_b{s.block:02d}_t{s.trial_in_block:03d}.wav"
        wavfile.write(adir / name, RATE, pcm)
        rt = None if true_ms is None else round(true_ms + s.detector_error_ms, 6)
        conf = None if rt is None else round(float(rng.uniform(0.5, 1.0)), 3)
        snr = None if rt is None else round(float(rng.uniform(3.0, 25.0)), 1)
        key = dict(is_practice=s.is_practice, block=s.block, trial_in_block=s.trial_in_block,
                   trial_in_session=n)
        if idx is not None:
            row = {c: "" for c in INDEX_COLUMNS}
            row.update(kind="trial", file=name, **key, start_s=start_s, end_s=start_s + window_s,
                       audio_start_s=audio_start_s, audio_rate_hz=RATE, audio_clock_rate_hz=CLOCK_RATE,
                       n_samples=n_samples, noise_file=noise_name, rt_ms=rt, confidence=conf,
                       snr_db=snr)
            idx.append(row)
        if s.audio == "missing":
            (adir / name).unlink()
        cells = {c: "" for c in COLUMNS}
        cells.update(participant="P07", session=1, run=1, experiment="stroop-walk",
                     date="2026-03-02_10h15.00.000", simulated=0, seed=1, condition_order="stand-forward",
                     **key, condition="stand" if s.block == 1 else "forward", block_in_condition=1,
                     speed_set_kmh=0.0, word=WORDS[s.word], word_colour=s.word, ink=s.ink,
                     congruency="congruent" if s.word == s.ink else "incongruent",
                     prev_congruency="", correct_response=s.ink, response="voice" if rt else "",
                     rt_ms=rt, correct=int(s.live_code == "correct"), timeout=int(rt is None),
                     rt_source="voice-detected", response_device="voice", fixation_onset_s=start_s - 0.5,
                     stim_onset_s=start_s, iti_s=0.7, dropped_frames=0,
                     timestamp="2026-03-02T10:16:00", accuracy_code=s.live_code,
                     audio_file="" if s.audio == "unlisted" else name, noise_file=noise_name,
                     voice_online_rt_ms=None if rt is None else round(rt + 40.0, 3),
                     voice_confidence=conf)
        rows.append(cells)
        facts[(s.is_practice, s.block, s.trial_in_block)] = dict(
            spec=s, audio_file=name, start_s=start_s, audio_start_s=audio_start_s, true_ms=true_ms,
            rt_ms=rt, wav=pcm.astype(np.float64) / 32768.0, n=n,
            snr_db=snr if idx is not None and s.audio != "unlisted" else None)
    for i in range(keyboard_rows):
        cells = {c: "" for c in COLUMNS}
        cells.update(participant="P07", session=1, is_practice=0, block=9, trial_in_block=i + 1,
                     trial_in_session=100 + i, word="RED", ink="blue", rt_ms=512.0,
                     response_device="keyboard", accuracy_code="auto")
        rows.append(cells)
    if idx is not None:
        idx.close()
    with CsvAppender(folder / f"{STEM}_trials.csv", COLUMNS) as out:
        for cells in rows:
            out.append(cells)
    return facts


@pytest.fixture
def session(tmp_path):
    folder = tmp_path / "P07"
    return folder, make_session(folder)


# ------------------------------------------------------------------ coder IDs and paths
@pytest.mark.parametrize("coder", ["AB", "rater_2", "jd-01", "X"])
def test_valid_coder_ids_pass(coder):
    assert vc.check_coder(coder) == coder


@pytest.mark.parametrize("coder", ["", "a b", "ab/cd", "../x", "é", "ab.c", "a\nb"])
def test_bad_coder_ids_are_one_line_errors(coder):
    with pytest.raises(vc.CodingError) as err:
        vc.check_coder(coder)
    assert "letters, digits" in str(err.value) and "\n" not in str(err.value)


def test_coding_path_from_folder_trials_file_or_audio_folder(session):
    folder, _ = session
    expected = folder / f"{STEM}_audio" / "coding_AB.csv"
    assert vc.coding_path(folder, "AB") == expected
    assert vc.coding_path(folder / f"{STEM}_trials.csv", "AB") == expected
    assert vc.coding_path(folder / f"{STEM}_audio", "AB") == expected
    with pytest.raises(vc.CodingError, match="not allowed"):
        vc.coding_path(folder, "A B")


def _keyboard_session(folder: Path, stem: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with CsvAppender(folder / f"{stem}_trials.csv", COLUMNS) as out:
        cells = {c: "" for c in COLUMNS}
        cells.update(is_practice=0, block=1, trial_in_block=1, trial_in_session=1, word="RED",
                     ink="blue", rt_ms=500.0, response_device="keyboard")
        out.append(cells)


@pytest.mark.parametrize("case, message", [
    ("nothing", "no such file or folder"),
    ("empty", "not a stroop-walk session folder"),
    ("keyboard", "no voice trials"),
    ("two", "holds 2 vocal sessions"),
    ("csv", "not a trials file"),
])
def test_wrong_places_are_one_line_errors(tmp_path, case, message):
    target = tmp_path / "P01"
    if case == "empty":
        target.mkdir()
    elif case == "keyboard":
        _keyboard_session(target, "P01_stroop-walk_s1_x")
    elif case == "two":
        make_session(target)
        src = target / f"{STEM}_trials.csv"
        (target / "P01_stroop-walk_s2_y_trials.csv").write_bytes(src.read_bytes())
    elif case == "csv":
        make_session(target)
        target = target / f"{STEM}_audio" / "recordings.csv"
    with pytest.raises(vc.CodingError) as err:
        vc.load_session(target, "AB")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_keyboard_trials_file_given_directly_has_no_voice_trials(tmp_path):
    _keyboard_session(tmp_path, "P01_stroop-walk_s1_x")
    with pytest.raises(vc.CodingError, match="no voice trials"):
        vc.load_session(tmp_path / "P01_stroop-walk_s1_x_trials.csv", "AB")


# ------------------------------------------------------------------ loading the trials
def test_load_session_gives_the_voice_trials_with_their_facts(tmp_path):
    folder = tmp_path / "P07"
    facts = make_session(folder, keyboard_rows=2)
    s = vc.load_session(folder, "AB")
    assert [t.key for t in s.trials] == [k for k in facts]        # trial-file order, voice only
    assert s.n_keyboard_rows == 2 and s.coder_path == folder / f"{STEM}_audio" / "coding_AB.csv"
    for t in s.trials:
        f = facts[t.key]
        spec = f["spec"]
        assert (t.word, t.ink, t.word_colour) == (WORDS[spec.word], spec.ink, spec.word)
        assert t.correct_response == spec.ink and t.live_code == spec.live_code
        assert t.audio_file == f["audio_file"] and t.trial_in_session == f["n"]
        assert t.detected_rt_ms == f["rt_ms"] and t.snr_db == f["snr_db"]
        assert t.timing.exact and t.timing.clock_rate_hz == CLOCK_RATE and t.timing.rate_hz == RATE
        assert t.timing.offset_s == pytest.approx(f["audio_start_s"] - f["start_s"], abs=1e-9)
        assert 0 < t.timing.offset_s < 0.5 / RATE
        assert t.codes == ()
        if spec.audio == "missing":
            assert t.problem == f"audio file missing: {f['audio_file']}"
            with pytest.raises(vc.CodingError, match="missing"):
                vc.load_audio(t)
        else:
            assert t.problem is None
            x, timing = vc.load_audio(t)
            assert np.array_equal(x, f["wav"]) and timing == t.timing


def test_a_voice_trial_without_audio_file_is_shown_with_its_problem(tmp_path):
    specs = (Spec(0, 1, 1, "red", "blue", 0.5, audio="unlisted"),)
    make_session(tmp_path / "P07", specs)
    (t,) = vc.load_session(tmp_path / "P07", "AB").trials
    assert t.audio_file == "" and t.audio_path is None and t.timing is None
    assert t.problem == "no audio file recorded for this trial"
    rec = t.record("AB", "unclear", t.detected_rt_ms)
    assert rec.audio_file == "" and rec.onset_moved == 0      # as the trial file says


def test_without_an_index_the_nominal_rate_is_used(tmp_path):
    facts = make_session(tmp_path / "P07", SPECS[:1], index=False)
    (t,) = vc.load_session(tmp_path / "P07", "AB").trials
    assert t.timing is None
    x, timing = vc.load_audio(t)
    assert timing == vc.AudioTiming(RATE, float(RATE), 0.0, exact=False)
    assert vc.ms_from_index(RATE, timing) == 1000.0
    assert len(x) == len(facts[t.key]["wav"])


def test_a_trial_saved_twice_keeps_its_last_row(tmp_path):
    folder = tmp_path / "P07"
    make_session(folder, SPECS[:2])
    trials = folder / f"{STEM}_trials.csv"
    rows = read_rows(trials)
    again = dict(rows[0], rt_ms="700.5", trial_in_session="3")
    with CsvAppender(trials, COLUMNS) as out:
        out.append(again)
    s = vc.load_session(folder, "AB")
    assert [t.key for t in s.trials] == [(1, 1, 2), (1, 1, 1)]
    assert s.trials[-1].detected_rt_ms == 700.5 and s.trials[-1].trial_in_session == 3


# ------------------------------------------------------------------ ms <-> samples
def test_ms_and_sample_index_agree_with_the_voice_device(session):
    folder, facts = session
    s = vc.load_session(folder, "AB")
    for t in s.trials:
        f = facts[t.key]
        for k in (0, 1, 12345, 60000):
            expected = onset_rt_ms(k / RATE, f["audio_start_s"], CLOCK_RATE, RATE, f["start_s"])
            assert vc.ms_from_index(k, t.timing) == pytest.approx(expected, abs=1e-9)
            assert vc.index_from_ms(expected, t.timing) == k
        if f["true_ms"] is not None:   # the true onset sample, back from its ms
            assert vc.index_from_ms(f["true_ms"], t.timing) == int(round(f["spec"].speech_onset_s * CLOCK_RATE))


def test_sample_index_rounds_to_the_nearest_sample():
    timing = vc.AudioTiming(RATE, 48000.0, 0.0)
    assert vc.index_from_ms(1000 / 48000 * 10.49, timing) == 10
    assert vc.index_from_ms(1000 / 48000 * 10.51, timing) == 11
    assert vc.index_from_ms(-5.0, timing) == -240


# ------------------------------------------------------------------ the coder file
def test_onsets_stay_after_the_flip_and_inside_the_recording(session):
    folder, _ = session
    t = vc.load_session(folder, "AB").trials[0]
    x, timing = vc.load_audio(t)
    end = timing.ms_of_index(len(x))
    assert vc.clamp_onset_ms(-20.0, len(x), timing) == vc.MIN_ONSET_MS
    assert vc.clamp_onset_ms(612.25, len(x), timing) == 612.25
    assert vc.clamp_onset_ms(end + 50, len(x), timing) == end
    for bad in (0.0, -3.0):
        with pytest.raises(ValueError, match="> 0 ms"):
            t.record("AB", "correct", bad)


def test_coder_columns_are_the_ones_the_analysis_reads():
    from analysis.input.codebook import CODER_COLUMN_NAMES, CODER_FILE_PREFIX, CODER_ID_PATTERN
    assert vc.CODER_COLUMNS == CODER_COLUMN_NAMES
    assert vc.CODER_PREFIX == CODER_FILE_PREFIX and vc.CODER_ID.pattern == CODER_ID_PATTERN


def test_coder_file_columns_are_the_contract():
    assert vc.CODER_COLUMNS == ("coder", "is_practice", "block", "trial_in_block", "trial_in_session",
                                "audio_file", "code", "onset_ms", "detected_rt_ms", "onset_moved",
                                "timestamp")


def test_records_are_appended_fsynced_and_the_last_row_wins(session):
    folder, facts = session
    s = vc.load_session(folder, "AB")
    t0, t1 = s.trials[0], s.trials[1]
    f = vc.CoderFile(s.coder_path, "AB")
    assert not s.coder_path.exists()                    # nothing written until the first code
    f.append(t0.record("AB", "correct", t0.detected_rt_ms + 5))
    f.append(t1.record("AB", "wrong", None))
    f.append(t0.record("AB", "unclear", t0.detected_rt_ms))
    f.close()
    with open(s.coder_path, newline="", encoding="utf-8") as fh:
        raw = list(csv.reader(fh))
    assert tuple(raw[0]) == vc.CODER_COLUMNS and len(raw) == 4
    first = dict(zip(raw[0], raw[1]))
    assert first["coder"] == "AB" and first["audio_file"] == t0.audio_file
    assert first["onset_ms"] == f"{t0.detected_rt_ms + 5:.3f}" and first["onset_moved"] == "1"
    assert float(first["detected_rt_ms"]) == t0.detected_rt_ms and first["code"] == "correct"
    from datetime import datetime
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    second = dict(zip(raw[0], raw[2]))
    assert second["onset_ms"] == "" and second["onset_moved"] == "1" and second["code"] == "wrong"
    latest = vc.latest_codes(vc.read_codes(s.coder_path))
    assert latest[t0.key].code == "unclear" and latest[t0.key].onset_moved == 0
    assert latest[t1.key].onset_ms is None
    again = vc.load_session(folder, "AB")               # earlier codes travel with the trials
    assert [r.code for r in again.trials[0].codes] == ["correct", "unclear"]
    assert vc.load_session(folder, "CD").trials[0].codes == ()   # another coder's file


@pytest.mark.parametrize("onset, detected, moved", [
    (612.3456, 612.3456, 0), (612.3456, 612.3458, 0), (612.3456, 612.3449, 1),
    (None, None, 0), (None, 600.0, 1), (600.0, None, 1), (601.0, 600.0, 1)])
def test_onset_moved_compares_what_is_written(onset, detected, moved):
    assert vc.onset_moved(onset, detected) == moved


def test_a_torn_last_row_is_dropped_and_the_file_goes_on(session):
    folder, _ = session
    s = vc.load_session(folder, "AB")
    f = vc.CoderFile(s.coder_path, "AB")
    f.append(s.trials[0].record("AB", "correct", 600.0))
    f.close()
    with open(s.coder_path, "a", encoding="utf-8") as fh:
        fh.write("AB,1,1,2,2,x.wav,corr")                   # power loss mid-row
    assert len(vc.read_codes(s.coder_path)) == 1
    f = vc.CoderFile(s.coder_path, "AB")
    f.append(s.trials[1].record("AB", "wrong", 610.0))
    f.close()
    codes = vc.read_codes(s.coder_path)
    assert [c.code for c in codes] == ["correct", "wrong"]


def test_a_foreign_file_in_the_coder_files_place_is_an_error_and_kept(session):
    folder, _ = session
    path = vc.coding_path(folder, "AB")
    path.write_text("something,else\n1,2\n")
    with pytest.raises(vc.CodingError, match="columns"):
        vc.load_session(folder, "AB")
    assert path.read_text() == "something,else\n1,2\n"


def test_a_malformed_coder_row_names_its_line(session):
    folder, _ = session
    path = vc.coding_path(folder, "AB")
    path.write_text(",".join(vc.CODER_COLUMNS) + "\nAB,0,1,1,3,f.wav,maybe,1.000,,0,t\n")
    with pytest.raises(vc.CodingError, match="line 2"):
        vc.read_codes(path)


# ------------------------------------------------------------------ where to go next
def test_resume_and_next_follow_the_uncoded_trials(session):
    folder, _ = session
    s = vc.load_session(folder, "AB")
    trials = s.trials
    latest = {}
    assert vc.start_index(trials, latest, all_trials=False) == 0
    rec = lambda i: trials[i].record("AB", "correct", 500.0)
    latest = vc.latest_codes([rec(0), rec(1), rec(3)])
    assert vc.start_index(trials, latest, all_trials=False) == 2
    assert vc.start_index(trials, latest, all_trials=True) == 0
    assert vc.uncoded(trials, latest) == [2, 4, 5]
    assert vc.next_index(trials, latest, 2, all_trials=False) == 4
    assert vc.next_index(trials, latest, 5, all_trials=False) == 2     # wraps to the earlier gap
    assert vc.next_index(trials, latest, 2, all_trials=True) == 3
    assert vc.next_index(trials, latest, 5, all_trials=True) is None
    done = vc.latest_codes(rec(i) for i in range(len(trials)))
    assert vc.start_index(trials, done, all_trials=False) is None
    assert vc.next_index(trials, done, 1, all_trials=False) is None


# ------------------------------------------------------------------ waveform display
def _brute_envelope(x, n, start, stop):
    out = np.zeros((n, 2))
    w = (stop - start) / n
    for j in range(n):
        lo = int(np.floor(start + j * w))
        hi = max(lo + 1, int(np.floor(start + (j + 1) * w)))
        vals = [x[i] if 0 <= i < len(x) else 0.0 for i in range(lo, hi)]
        out[j] = (min(vals), max(vals))
    return out


@pytest.mark.parametrize("n, start, stop", [
    (100, 0, None), (7, 0, None), (64, 123.4, 900.2), (300, 450.0, 520.0),   # < 1 sample per column
    (50, -200.0, 300.0), (40, 950.0, 1400.0), (10, -50.0, -10.0)])          # partly/all outside
def test_envelope_is_min_and_max_per_column(n, start, stop):
    x = np.random.default_rng(1).normal(0, 0.3, 1000)
    env = vc.envelope(x, n, start, stop)
    assert env.shape == (n, 2)
    assert np.array_equal(env, _brute_envelope(x, n, start, len(x) if stop is None else stop))
    assert np.all(env[:, 0] <= env[:, 1])


def test_envelope_shows_where_the_speech_is(session):
    folder, facts = session
    t = vc.load_session(folder, "AB").trials[2]
    x, timing = vc.load_audio(t)
    view = vc.full_view(len(x), timing)
    env = vc.view_envelope(x, timing, view, 1000)
    loud = np.flatnonzero(env[:, 1] - env[:, 0] > 0.1)
    first_ms = view.lo_ms + loud[0] / 1000 * view.span_ms
    assert abs(first_ms - facts[t.key]["true_ms"]) < 1.5 * view.span_ms / 1000 + 30


def test_bad_envelope_arguments_raise():
    with pytest.raises(ValueError):
        vc.envelope(np.zeros(10), 0)
    with pytest.raises(ValueError):
        vc.envelope(np.zeros(10), 5, 5.0, 5.0)


def test_zoom_view_is_centred_or_kept_inside_the_recording():
    timing = vc.AudioTiming(RATE, 48000.0, 0.0)
    n = int(1.5 * RATE)
    assert vc.zoom_view(600.0, n, timing) == vc.View(450.0, 750.0)
    assert vc.zoom_view(40.0, n, timing) == vc.View(0.0, 300.0)
    assert vc.zoom_view(1490.0, n, timing) == vc.View(1200.0, 1500.0)
    assert vc.zoom_view(100.0, int(0.2 * RATE), timing) == vc.View(-50.0, 250.0)   # short file


def test_view_maps_ms_to_pixels_and_back():
    view = vc.View(400.0, 700.0)
    assert view.x_of(550.0, -500, 1000) == 0.0
    assert view.ms_of(view.x_of(612.25, -500, 1000), -500, 1000) == pytest.approx(612.25)


@pytest.mark.parametrize("lo, hi, step", [(0, 1500, 200), (450, 750, 50), (0.0, 20.0, 5.0)])
def test_ticks_are_round_and_inside(lo, hi, step):
    ticks = vc.tick_times_ms(vc.View(lo, hi), max_ticks=10)
    assert 2 <= len(ticks) <= 10 and ticks[0] >= lo and ticks[-1] <= hi
    assert np.allclose(np.diff(ticks), step)


def test_stimulus_look_reads_the_inks_and_the_sessions_background(session):
    folder, _ = session
    files = vc.locate_session(folder)
    rgb, background, font = vc.stimulus_look(files)
    assert rgb["blue"] == (40, 90, 255) and background == (0, 0, 0)
    files.config.write_text('[display]\nbackground = [128, 128, 128]\nfont = "DejaVu Sans"\n')
    assert vc.stimulus_look(files)[1:] == ((128, 128, 128), "DejaVu Sans")


# ------------------------------------------------------------------ the command line (no window)
def run_tool(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiment.coding_tool", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def test_bad_coder_id_exits_with_one_line_and_writes_nothing(session, coder="a b"):
    folder, _ = session
    before = sorted(p.name for p in (folder / f"{STEM}_audio").iterdir())
    proc = run_tool(folder, "--coder", coder)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "coder ID" in proc.stderr
    assert sorted(p.name for p in (folder / f"{STEM}_audio").iterdir()) == before


def test_wrong_folder_exits_with_one_line(tmp_path):
    proc = run_tool(tmp_path, "--coder", "AB")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a stroop-walk session folder" in proc.stderr


def test_no_display_is_a_one_line_error(session):
    folder, _ = session
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = run_tool(folder, "--coder", "AB", env=env)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no X display" in proc.stderr
    assert not vc.coding_path(folder, "AB").exists()


def test_a_damaged_recordings_index_is_a_one_line_error(session):
    folder, _ = session
    index = folder / f"{STEM}_audio" / "recordings.csv"
    text = index.read_text().replace(str(CLOCK_RATE), "fast", 1)
    index.write_text(text)
    with pytest.raises(vc.CodingError) as err:
        vc.load_session(folder, "AB")
    assert "recordings.csv" in str(err.value) and "\n" not in str(err.value)
