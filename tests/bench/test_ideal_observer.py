"""The voice-key benchmark's ideal-observer reference (bench.ideal_observer)."""
import numpy as np
import pytest
from scipy.integrate import quad

from bench.ideal_observer import evidence_time_s

RATE = 48000


@pytest.fixture()
def noise():
    return np.random.default_rng(1).standard_normal(RATE)


def word_at(level_db: float, seed: int = 2, lead: int = 4800, n: int = 24000) -> np.ndarray:
    """White noise 'word' at ``level_db`` re the unit-variance noise, onset at sample ``lead``."""
    w = np.random.default_rng(seed).standard_normal(n) * 10 ** (level_db / 20)
    return np.r_[np.zeros(lead), w]


def test_mean_time_matches_the_expected_divergence(noise):
    # word power per bin = 0.1 x noise power x Exp(1): expected nats per 2 ms frame is
    # 43 bins (up to 0.45 x 48 kHz) x E[xi - ln(1 + xi)]
    a = 0.1
    per_cell = quad(lambda e: (a * e - np.log1p(a * e)) * np.exp(-e), 0, np.inf)[0]
    expected_s = 5.0 / (43 * per_cell) * 0.002
    times = [evidence_time_s(word_at(-10.0, seed), 4800, noise, RATE) for seed in range(20)]
    assert np.mean(times) == pytest.approx(expected_s, rel=0.15)


def test_louder_words_are_evident_sooner(noise):
    times = [evidence_time_s(word_at(db), 4800, noise, RATE) for db in (-30, -12, -9, -6, 0)]
    assert times[0] == float("inf")                 # not within 300 ms
    assert times == sorted(times, reverse=True)
    assert times[-1] == pytest.approx(0.002)
    assert evidence_time_s(word_at(-12), 4800, noise, RATE, nats=10) > times[1]


def test_a_faint_start_delays_the_evidence(noise):
    faint = word_at(-40.0, n=int(0.040 * RATE))
    word = np.r_[faint, np.random.default_rng(3).standard_normal(RATE // 10)]
    t = evidence_time_s(word, 4800, noise, RATE)
    assert 0.040 < t <= 0.044


def test_silence_never_becomes_evident_and_scale_does_not_matter(noise):
    assert evidence_time_s(np.zeros(RATE), 4800, noise, RATE) == float("inf")
    w = word_at(-12.0)
    assert evidence_time_s(1000 * w, 4800, 1000 * noise, RATE) == evidence_time_s(w, 4800, noise, RATE)


def test_too_little_noise_is_refused(noise):
    with pytest.raises(ValueError, match="at least 50"):
        evidence_time_s(word_at(0.0), 4800, noise[:4000], RATE)
