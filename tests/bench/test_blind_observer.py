"""The voice-key benchmark's blind reference (bench.blind_observer)."""
import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from bench.blind_observer import (backoff_onset_s, blind_evidence_time_s, frame_evidence,
                                  frame_llr, page_onset_s, page_statistic, speech_template)
from bench.ideal_observer import evidence_time_s

RATE = 48000


@pytest.fixture()
def noise():
    return np.random.default_rng(1).standard_normal(RATE)


def band_word(level_db: float, band_hz: tuple[float, float], seed: int = 2, lead: int = 4800,
              n: int = 24000) -> np.ndarray:
    """Noise in ``band_hz`` at ``level_db`` re the unit-variance noise, onset at ``lead``."""
    sos = butter(6, band_hz, btype="bandpass", fs=RATE, output="sos")
    w = sosfilt(sos, np.random.default_rng(seed).standard_normal(n + 4800))[4800:]
    return np.r_[np.zeros(lead), w / w.std() * 10 ** (level_db / 20)]


def template_of(word: np.ndarray, onset: int = 4800) -> np.ndarray:
    return speech_template([(word, onset)], RATE)


def test_the_closer_the_template_the_sooner_and_never_sooner_than_the_ideal(noise):
    # a 1-4 kHz 'word' 10 dB below the noise: the ideal observer knows its every frame, the
    # blind ones its band from another talker, a flat spectrum, or the wrong band
    w = band_word(-10.0, (1000, 4000))
    ideal = evidence_time_s(w, 4800, noise, RATE, 10.0)
    same_band = blind_evidence_time_s(w, 4800, noise, RATE,
                                      template_of(band_word(-10.0, (1000, 4000), seed=9)))
    flat = blind_evidence_time_s(w, 4800, noise, RATE, np.ones(43))
    wrong = blind_evidence_time_s(w, 4800, noise, RATE,
                                  template_of(band_word(-10.0, (6000, 12000))))
    assert 0.0 < ideal <= same_band < flat < wrong
    assert same_band <= 2 * ideal


def test_per_frame_evidence_never_exceeds_the_ideal_observers():
    rng = np.random.default_rng(4)
    xi = rng.exponential(2.0, size=(50, 43)) * rng.uniform(0, 1, size=(1, 43))
    kl = (xi - np.log1p(xi)).sum(axis=1)
    for shape in (np.ones(43), rng.uniform(0.1, 3, 43), xi.mean(axis=0)):
        ev = frame_evidence(xi, shape)
        assert np.all(ev >= 0.0) and np.all(ev <= kl + 1e-9)
    assert frame_evidence(np.zeros((3, 43)), np.ones(43)) == pytest.approx(0.0)


def test_page_statistic_is_the_cusum_recursion():
    llr = np.random.default_rng(5).normal(-0.3, 1.0, 400)
    s, start = page_statistic(llr)
    ref, run, starts = 0.0, 0, []
    expected = []
    for t, v in enumerate(llr):
        if ref + v <= 0.0:
            ref, run = 0.0, t + 1
        else:
            ref += v
        expected.append(ref)
        starts.append(run)
    assert s == pytest.approx(expected)
    assert list(start) == starts


def test_the_blind_detector_finds_a_loud_onset_and_not_the_noise(noise):
    w = band_word(0.0, (300, 3000), lead=24000)
    x = np.r_[noise, noise[:4800]][: len(w)] + w
    tmpl = template_of(band_word(0.0, (300, 3000), seed=7))
    onset = page_onset_s(frame_llr(x, noise, RATE, tmpl, 1.0), threshold=30.0)
    assert onset == pytest.approx(24000 / RATE, abs=0.0021)
    assert page_onset_s(frame_llr(noise, noise, RATE, tmpl, 1.0), threshold=30.0) is None


def test_bad_input_gives_a_one_line_error(noise):
    with pytest.raises(ValueError, match="no words given"):
        speech_template([], RATE)
    with pytest.raises(ValueError, match="template has 5 bins"):
        blind_evidence_time_s(band_word(0, (300, 3000)), 4800, noise, RATE, np.ones(5))
    with pytest.raises(ValueError, match="at least 50"):
        blind_evidence_time_s(band_word(0, (300, 3000)), 4800, noise[:480], RATE, np.ones(43))


def test_backoff_finds_the_start_of_the_stretch_the_template_explains():
    llr = np.full((2, 500), -3.0)
    llr[1, 200:260] = 2.0            # the word's first sound, 120 ms before the voicing
    llr[1, 260:] = 50.0              # voicing from frame 260 (0.52 s)
    llr[0, 100] = 1e4                # a footstep: one very loud frame, capped
    assert backoff_onset_s(llr, 0.52, drift=1.0, cap=5.0) == pytest.approx(0.400)
    # a drift above the first sound's evidence leaves it out
    assert backoff_onset_s(llr, 0.52, drift=2.5, cap=5.0) == pytest.approx(0.520)
    # uncapped, the footstep 200 ms earlier wins
    assert backoff_onset_s(llr, 0.52, drift=1.0, cap=1e9) == pytest.approx(0.200)
    assert backoff_onset_s(llr, None, drift=1.0, cap=5.0) is None
    # the search is limited to window_s before the voicing
    assert backoff_onset_s(llr, 0.52, drift=1.0, cap=1e9, window_s=0.1) == pytest.approx(0.420)
