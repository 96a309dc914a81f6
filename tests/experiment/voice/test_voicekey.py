"""Speech-onset detection (experiment.voice.voicekey) on espeak-ng speech in walking-like noise.

Ground truth: the first non-zero sample of espeak-ng's output (experiment.simulation.speech).
Accuracy *targets* live in bench/voicekey.py; these tests pin down behaviour with
tolerances well inside what the detector does and well outside what a broken one does
(e.g. reporting the start of voicing, which is 20-200 ms late, or triggering on noise).
Seeds and voice variants here differ from the benchmark's dev and eval splits.
"""
from __future__ import annotations

import functools
import tomllib
import zlib

import numpy as np
import pytest

from experiment.simulation import speech as speech_synth
from experiment.simulation.speech import SpeechSynthError, place_word, synthesise
from experiment.core.stimulus_set import STIMULI_DIR
from experiment.voice.voicekey import (NoiseModel, OnsetTracker, VoiceKeyError, calibrate,
                                       detect_onset, threshold_onset)
from experiment.simulation.walking_noise import (WalkingCondition, mix_at_snr, random_condition,
                                                 walking_noise)

RATE = 22050                  # espeak-ng's own rate: no resampling in most tests
BASE_VOICE = {"en": "en-us", "de": "de", "nl": "nl"}
# initial sound of each shipped colour word that starts with a plosive (/b/, /g/) or the
# Dutch velar fricative
PLOSIVE_INITIAL = {"BLUE", "GREEN", "BLAU", "GRÜN", "GELB", "BLAUW", "GROEN", "GEEL"}


def colour_words() -> list[tuple[str, str]]:
    with open(STIMULI_DIR / "words.toml", "rb") as fh:
        table = tomllib.load(fh)
    return [(lang, word) for lang in table for word in table[lang]["colours"].values()]


WORDS = colour_words()
# Known detector failures at 30 dB (issue 15, bench/results/voicekey.md): Mandarin 红 /xʊŋ/ starts
# with a ~100 ms /x/ some 30 dB below the vowel; the voice key finds the vowel (+90 ms).
KNOWN_LATE = {("zh", "红", "f4")}


@functools.lru_cache(maxsize=None)
def word(text: str, voice: str, wpm: int, rate: int = RATE):
    """``text`` spoken as a participant says it (kana readings for kanji, see spoken_form)."""
    lang = next((lang for lang, w in WORDS if w == text), "")
    return synthesise(speech_synth.spoken_form(lang, text), voice, wpm, 50, rate)


@functools.lru_cache(maxsize=None)
def condition_noise(cond_seed: int, rate: int = RATE) -> tuple[WalkingCondition, NoiseModel, np.ndarray]:
    cond = random_condition(cond_seed)
    calib = walking_noise(3.0, rate, cond_seed + 1, cond)
    return cond, calibrate(calib, rate), calib


def trial(text: str, voice: str, wpm: int, snr_db: float, seed: int, onset_at: float = 0.7,
          rate: int = RATE, duration: float = 1.8):
    """(recording, true onset s, noise model, calibration recording) for one spoken word."""
    cond, model, calib = condition_noise(seed % 5 + 100, rate)
    speech, true_s = place_word(word(text, voice, wpm, rate), onset_at)
    noise = walking_noise(duration, rate, seed, cond)
    return mix_at_snr(speech[: len(noise)], noise, snr_db), true_s, model, calib


def voice_for(lang: str, variant: str = "") -> str:
    return BASE_VOICE.get(lang, lang) + (f"+{variant}" if variant else "")


# ---------------------------------------------------------------------------- ground truth

def test_ground_truth_is_the_first_non_silent_sample():
    w = word("green", "en-us", 175)
    i0 = int(round(w.onset_s * w.rate_hz))
    assert w.rate_hz == w.native_rate_hz == RATE
    assert np.all(w.samples[:i0] == 0.0) and w.samples[i0] != 0.0
    assert 0.0 <= w.onset_s < w.offset_s
    hi = word("green", "en-us", 175, 48000)
    assert hi.onset_s == w.onset_s                       # measured before resampling
    k = int(hi.onset_s * 48000)
    assert np.abs(hi.samples[: k - 48]).max() < 1e-3 * np.abs(hi.samples).max()


def test_place_word_puts_the_onset_where_asked():
    w = word("rot", "de", 175)
    samples, onset = place_word(w, 0.5)
    assert abs(onset - 0.5) <= 0.5 / RATE
    first = np.flatnonzero(samples)[0]
    assert first == int(round(onset * RATE))


def test_missing_espeak_gives_a_one_line_error(monkeypatch):
    monkeypatch.setattr(speech_synth, "ESPEAK", "espeak-ng-not-installed")
    with pytest.raises(SpeechSynthError) as err:
        synthesise("red")
    assert "\n" not in str(err.value) and "apt-get install espeak-ng" in str(err.value)


# ---------------------------------------------------------------------------- accuracy

@pytest.mark.parametrize("lang,text", WORDS, ids=[f"{lang}-{w}" for lang, w in WORDS])
@pytest.mark.parametrize("variant,wpm", [("", 150), ("f4", 210)])
def test_every_colour_word_in_light_walking_noise(lang, text, variant, wpm):
    seed = zlib.crc32(f"{lang}{text}{variant}".encode()) % 1000 + 7000
    x, true_s, model, _ = trial(text, voice_for(lang, variant), wpm, 30.0, seed)
    res = detect_onset(x, RATE, model)
    assert res.onset_s is not None
    if (lang, text, variant) in KNOWN_LATE:
        # still late (else this entry is stale): the faint Mandarin /x/, issue 15
        assert res.onset_s - true_s > 0.006, f"{text}: {1000 * (res.onset_s - true_s):+.1f} ms"
        pytest.xfail(f"{text} ({variant}): onset at the vowel, "
                     f"{1000 * (res.onset_s - true_s):+.0f} ms (issue 15)")
    assert abs(res.onset_s - true_s) <= 0.006, f"{text}: {1000 * (res.onset_s - true_s):+.1f} ms"
    # the voicing that confirmed it comes later for words that do not start voiced
    assert res.voicing_s >= res.onset_s - 0.002


def test_all_colour_words_in_walking_noise_at_10_db():
    errors, thr_errors = [], []
    for i, (lang, text) in enumerate(WORDS * 3):
        variant, wpm = [("", 170), ("m5", 140), ("f5", 220)][i // len(WORDS)]
        x, true_s, model, calib = trial(text, voice_for(lang, variant), wpm, 10.0, 8000 + i,
                                        onset_at=0.5 + 0.02 * (i % 10))
        res = detect_onset(x, RATE, model)
        assert res.onset_s is not None, f"{text} ({variant}) missed at 10 dB"
        errors.append(abs(res.onset_s - true_s))
        t = threshold_onset(x, RATE, noise=calib)
        thr_errors.append(np.inf if t is None else abs(t - true_s))
    errors = np.array(errors) * 1000
    assert np.median(errors) <= 8.0
    assert np.mean(errors <= 20.0) >= 0.7
    assert np.median(errors) < np.median(np.array(thr_errors) * 1000) / 4


def test_plosive_initial_words_beat_the_threshold_key():
    ours, key = [], []
    for i, (lang, text) in enumerate(w for w in WORDS if w[1] in PLOSIVE_INITIAL):
        for variant in ("", "m6"):
            x, true_s, model, calib = trial(text, voice_for(lang, variant), 170, 20.0, 9000 + i)
            ours.append(detect_onset(x, RATE, model).onset_s - true_s)
            t = threshold_onset(x, RATE, noise=calib)
            key.append(np.inf if t is None else t - true_s)
    ours, key = np.array(ours) * 1000, np.array(key) * 1000
    assert np.median(np.abs(ours)) <= 3.0
    # the threshold key waits for the loud vowel after the weak burst / pre-voicing
    assert np.median(key) >= 15.0
    assert np.mean(np.abs(ours)) < np.mean(np.abs(key)) / 3


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_works_at_other_sample_rates(rate):
    for i, (lang, text) in enumerate([("en", "BLUE"), ("de", "ROT"), ("nl", "GEEL")]):
        x, true_s, model, _ = trial(text, voice_for(lang), 170, 25.0, 9500 + i, rate=rate)
        res = detect_onset(x, rate, model)
        assert abs(res.onset_s - true_s) <= 0.006, f"{text} at {rate} Hz"


def test_gain_does_not_matter():
    x, true_s, _, calib = trial("GREEN", "en-gb", 170, 15.0, 9600)
    a = detect_onset(x, RATE, calibrate(calib, RATE)).onset_s
    b = detect_onset(x * 50.0, RATE, calibrate(calib * 50.0, RATE)).onset_s
    assert a == pytest.approx(b, abs=1e-3)


def test_without_calibration_in_steady_noise():
    rng = np.random.default_rng(4)
    speech, true_s = place_word(word("yellow", "en-us", 170), 0.6)
    noise = np.convolve(rng.standard_normal(int(1.5 * RATE)), [1.0, 0.6], mode="same") * 0.01
    x = mix_at_snr(speech[: len(noise)], noise, 20.0)
    res = detect_onset(x, RATE)                       # first 200 ms taken as the noise
    assert abs(res.onset_s - true_s) <= 0.006


@pytest.mark.parametrize("snr_db", [5.0, 10.0, 20.0])
def test_snr_estimate_follows_the_mixing_snr(snr_db):
    """The estimated SNR is within a few dB of the mixing SNR (active speech RMS vs the whole
    noise's RMS), for the en, de and nl words; no onset, no SNR."""
    errors = []
    # en, de, nl: the languages this bound was set on. The other word lists are the voice-key
    # benchmark's (bench/voicekey.py); at 5 dB, ROJO and ROSSO (trilled /r/) came out 3.7
    # and 4.0 dB above the mixing SNR, within the benchmark's documented spread.
    for i, (lang, text) in enumerate([w for w in WORDS if w[0] in BASE_VOICE][::2]):
        x, _, model, _ = trial(text, voice_for(lang), 170, snr_db, 9700 + i)
        errors.append(detect_onset(x, RATE, model).snr_db - snr_db)
    assert -1.0 <= np.median(errors) <= 1.5, errors
    assert max(np.abs(errors)) <= 3.5, errors
    cond, model, _ = condition_noise(100)
    assert detect_onset(walking_noise(1.5, RATE, 9800, cond), RATE, model).snr_db is None


# ---------------------------------------------------------------------------- false alarms

def test_an_affricate_before_its_gap_starts_the_word():
    # Korean 초록 /tɕʰo/: a loud affricate, weak aspiration, then the vowel some 150-200 ms
    # later; the band back-off from the voicing stops in the aspiration (issue 15). Before
    # the burst step every one of these was placed at the vowel (130-190 ms late); it now
    # finds most of them (not all: a weaker affricate does not rise by 4 spreads in 2 bands)
    errors = []
    for wpm in (140, 170, 200):
        for seed in (1, 2, 3):
            x, true_s, model, _ = trial("초록", voice_for("ko"), wpm, 10.0, 9100 + seed, rate=48000)
            res = detect_onset(x, 48000, model)
            assert res.voicing_s - true_s > 0.120          # the vowel is far from the onset
            errors.append(res.onset_s - true_s)
    errors = np.array(errors)
    assert np.sum(np.abs(errors) <= 0.020) >= 5, np.round(1000 * errors)
    assert np.all(errors > -0.020), np.round(1000 * errors)   # never before the word


@pytest.mark.parametrize("text,lang", [("AZUL", "es"), ("ROJO", "es"), ("青", "ja")])
def test_a_slap_before_the_word_is_not_its_start(text, lang):
    # a 40 ms noise burst (a belt slap) 150 ms before the word, then only walking noise:
    # abrupt and held like a burst, but the bands fall back to the background before the word
    x, true_s, model, _ = trial(text, voice_for(lang), 170, 10.0, 9101)
    k, n = int((true_s - 0.150) * RATE), int(0.040 * RATE)
    slap = np.random.default_rng(1).standard_normal(n) * np.exp(-np.arange(n) / (0.015 * RATE))
    x = x.copy()
    x[k:k + n] += 3.0 * np.std(x[:k]) * slap
    res = detect_onset(x, RATE, model)
    assert abs(res.onset_s - true_s) <= 0.006, f"{1000 * (res.onset_s - true_s):+.1f} ms"


def test_walking_noise_alone_is_not_speech():
    for seed in range(10):
        cond = random_condition(500 + seed)
        calib = walking_noise(3.0, RATE, 600 + seed, cond)
        noise = walking_noise(2.5, RATE, 700 + seed, cond)
        assert detect_onset(noise, RATE, calibrate(calib, RATE)).onset_s is None, seed


def test_loud_breaths_footsteps_and_hum_are_not_speech():
    # far louder than the calibration noise: breaths +10 dB, steps +15 dB, hum +6 dB
    calm = WalkingCondition(breath_db=-6.0, step_db=3.0, hum_hz=110.0, hum_db=-6.0)
    loud = WalkingCondition(breath_db=4.0, step_db=18.0, hum_hz=110.0, hum_db=0.0,
                            breath_interval_s=(0.3, 0.6))
    calib = walking_noise(3.0, RATE, 1, calm)
    model = calibrate(calib, RATE)
    for seed in range(4):
        noise = walking_noise(2.5, RATE, 10 + seed, loud)
        assert detect_onset(noise, RATE, model).onset_s is None, seed


# ---------------------------------------------------------------------------- online use

def test_online_tracker_agrees_with_the_offline_detection():
    for i, (lang, text) in enumerate([("en", "RED"), ("de", "GELB"), ("nl", "BLAUW")]):
        x, true_s, model, _ = trial(text, voice_for(lang, "m2"), 180, 15.0, 9700 + i)
        offline = detect_onset(x, RATE, model).onset_s
        tracker = OnsetTracker(RATE, model)
        chunk = int(0.010 * RATE)
        for k in range(0, len(x), chunk):
            if tracker.feed(x[k: k + chunk]) is not None:
                break
        assert tracker.onset_s == pytest.approx(offline, abs=0.001)
        # decided soon after the word started, well before the recording ends
        assert 0.0 < tracker.decided_at_s - true_s < 0.3
        assert tracker.feed(np.zeros(chunk)) == tracker.onset_s   # stays decided


def test_online_tracker_stays_silent_on_noise():
    _, model, _ = condition_noise(101)
    tracker = OnsetTracker(RATE, model)
    noise = walking_noise(2.0, RATE, 31, condition_noise(101)[0])
    for k in range(0, len(noise), 441):
        assert tracker.feed(noise[k: k + 441]) is None


# ---------------------------------------------------------------------------- traces and errors

def test_result_traces_for_plotting():
    x, true_s, model, _ = trial("ROOD", "nl", 170, 15.0, 9800)
    res = detect_onset(x, RATE, model)
    assert res.times_s.shape == res.evidence.shape == res.voicing.shape
    assert 0.0 < res.confidence <= 1.0
    before = res.times_s < true_s - 0.05
    during = (res.times_s > true_s + 0.05) & (res.times_s < true_s + 0.25)
    assert res.voicing[during].max() > 1.0 > res.voicing[before].max()
    assert np.median(res.evidence[during]) > np.median(res.evidence[before]) + 2


def test_threshold_key_is_a_plain_threshold():
    x = np.zeros(RATE)
    x[11025:] = 0.5 * np.sin(2 * np.pi * 200 * np.arange(RATE - 11025) / RATE)
    t = threshold_onset(x, RATE, threshold=0.01)
    assert 0.5 <= t < 0.5 + 0.002
    assert threshold_onset(x, RATE, threshold=1.0) is None


@pytest.mark.parametrize("call,match", [
    (lambda: detect_onset(np.zeros((2, 4000)), RATE), "mono"),
    (lambda: detect_onset(np.zeros(4000), 8000), "16000"),
    (lambda: detect_onset(np.zeros(100), RATE), "at least"),
    (lambda: detect_onset(np.full(4000, np.nan), RATE), "NaN"),
    (lambda: calibrate(np.zeros(RATE // 2), RATE), "at least 1.0 s"),
    (lambda: detect_onset(np.zeros(RATE), 48000, condition_noise(100)[1]), "calibrate at"),
])
def test_bad_input_gives_a_one_line_error(call, match):
    with pytest.raises(VoiceKeyError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------- a second voice

def experimenter(text: str, voice: str, level_db: float, noise: np.ndarray, start: int) -> np.ndarray:
    """``noise`` plus a distant talker saying ``text``, ``level_db`` re the noise RMS."""
    w = word(text, voice, 160)
    loud = w.samples[int(w.onset_s * RATE):]
    rms = np.sqrt(np.mean(noise ** 2))
    out = noise.copy()
    seg = loud[: len(noise) - start] * rms * 10 ** (level_db / 20) / np.sqrt(np.mean(loud ** 2))
    out[start: start + len(seg)] += seg
    return out


def test_a_distant_second_voice_before_the_word_is_not_the_response():
    """The experimenter speaks 13 dB below the noise (a metre from a head-worn microphone),
    then the participant answers at 10 dB SNR: the onset is the participant's."""
    for i, (lang, text, other) in enumerate([("en", "BLUE", "en-gb+m5"), ("de", "ROT", "de+f5"),
                                             ("nl", "GEEL", "nl+m6")]):
        x, true_s, model, _ = trial(text, voice_for(lang), 170, 10.0, 9900 + i, onset_at=1.0)
        x = experimenter("next one", other, -13.0, x, int(0.15 * RATE))
        res = detect_onset(x, RATE, model)
        # the participant's word, not the experimenter's phrase 0.3-0.9 s earlier (GEEL's
        # faint /ɣ/ is found some 60 ms late at 10 dB, as without a second voice)
        assert res.onset_s is not None and -0.02 <= res.onset_s - true_s <= 0.1, text


def test_a_distant_second_voice_alone_is_not_a_response():
    """8 dB below the noise the experimenter's voice is periodic enough to pass the voicing
    threshold (a detector without the peak rule fires on all three), but far weaker than a
    participant's word at 5 dB SNR."""
    cond, model, _ = condition_noise(102)
    for seed, other in enumerate(("en-gb+m5", "de+f5", "nl+m6")):
        noise = walking_noise(2.5, RATE, 9950 + seed, cond)
        x = experimenter("okay, keep walking", other, -8.0, noise, int(0.3 * RATE))
        assert detect_onset(x, RATE, model).onset_s is None, other
