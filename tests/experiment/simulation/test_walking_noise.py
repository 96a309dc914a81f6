"""Walking-noise synthesis and SNR mixing (experiment.simulation.walking_noise)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from experiment.simulation.walking_noise import (WalkingCondition, active_rms, mix_at_snr,
                                                 random_condition, walking_noise,
                                                 walking_noise_parts)

RATE = 16000


def test_same_seed_same_noise_other_seed_other_noise():
    a = walking_noise(1.0, RATE, seed=3)
    b = walking_noise(1.0, RATE, seed=3)
    c = walking_noise(1.0, RATE, seed=4)
    assert a.shape == (RATE,)
    np.testing.assert_array_equal(a, b)
    assert np.corrcoef(a, c)[0, 1] < 0.1


def test_parts_sum_to_the_noise():
    cond = random_condition(11)
    parts = walking_noise_parts(1.5, RATE, 5, cond)
    assert set(parts) == {"belt", "motor", "steps", "breaths"}
    np.testing.assert_allclose(sum(parts.values()), walking_noise(1.5, RATE, 5, cond))


@pytest.mark.parametrize("cadence", [1.6, 1.8, 2.0])
def test_footsteps_come_at_the_cadence(cadence):
    steps = walking_noise_parts(10.0, RATE, 1, WalkingCondition(cadence_hz=cadence))["steps"]
    env = np.convolve(np.abs(steps), np.ones(int(0.01 * RATE)), mode="same")
    peaks, _ = find_peaks(env, height=0.2 * env.max(), distance=int(0.3 * RATE))
    assert abs(len(peaks) - 10.0 * cadence) <= 1.5
    intervals = np.diff(peaks) / RATE
    assert abs(np.median(intervals) - 1 / cadence) < 0.03


def test_breaths_are_bursts_in_the_speech_band():
    breaths = walking_noise_parts(12.0, RATE, 2, WalkingCondition())["breaths"]
    active = np.abs(breaths) > 0
    assert 0.05 < active.mean() < 0.5                     # bursts, not continuous
    spec = np.abs(np.fft.rfft(breaths)) ** 2
    f = np.fft.rfftfreq(len(breaths), 1 / RATE)
    in_band = spec[(f > 300) & (f < 3000)].sum() / spec.sum()
    assert in_band > 0.8


def test_mix_at_snr_meets_the_definition():
    rng = np.random.default_rng(0)
    speech = np.concatenate([np.zeros(500), rng.standard_normal(3000) * 0.3, np.zeros(700)])
    noise = walking_noise(1.0, RATE, 9)
    for snr in (20.0, 10.0, 5.0, -3.0):
        mixed = mix_at_snr(speech, noise, snr, start=1000)
        added = mixed - noise
        np.testing.assert_array_equal(added[:1000], 0.0)
        measured = 20 * np.log10(active_rms(added) / np.sqrt(np.mean(noise ** 2)))
        assert measured == pytest.approx(snr, abs=1e-9)


def test_active_rms_ignores_leading_and_trailing_silence():
    x = np.concatenate([np.zeros(100), np.ones(50), np.zeros(1000)])
    assert active_rms(x) == pytest.approx(1.0)
    assert active_rms(np.zeros(10)) == 0.0


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="duration_s"):
        walking_noise(0.0, RATE, 1)
    with pytest.raises(ValueError, match="non-silent"):
        mix_at_snr(np.zeros(10), np.ones(100), 10.0)
    with pytest.raises(ValueError, match="start"):
        mix_at_snr(np.ones(10), np.ones(100), 10.0, start=100)


def test_machine_noise_puts_slap_and_a_sagging_whine_in_the_speech_band():
    from experiment.simulation.walking_noise import machine_condition
    plain_cond, cond = random_condition(21), machine_condition(21)
    assert cond.speech_whine_hz is not None and 250 <= cond.speech_whine_hz <= 1200
    plain = walking_noise_parts(6.0, RATE, 8, plain_cond)
    loud = walking_noise_parts(6.0, RATE, 8, cond)
    # the other parts are the same samples: only the motor gains the machine noise
    for part in ("belt", "steps", "breaths"):
        np.testing.assert_array_equal(plain[part], loud[part])
    extra = loud["motor"] - plain["motor"]
    f = np.fft.rfftfreq(len(extra), 1 / RATE)
    spec = np.abs(np.fft.rfft(extra)) ** 2
    assert spec[(f > 200) & (f < 5000)].sum() / spec.sum() > 0.9
    # the whine's pitch moves with the step load: its spectral peak is spread over more
    # than the +-0.3 % wobble
    near = (f > 0.9 * cond.speech_whine_hz) & (f < 1.1 * cond.speech_whine_hz)
    peak_f = f[near][np.argmax(spec[near])]
    width = f[near][spec[near] > 0.1 * spec[near].max()]
    assert width.max() - width.min() > 0.006 * peak_f
    # slaps: short cracks once per belt revolution
    env = np.convolve(np.abs(extra), np.ones(int(0.005 * RATE)), mode="same")
    peaks, _ = find_peaks(env, height=0.5 * env.max(), distance=int(0.5 * cond.slap_period_s * RATE))
    assert abs(len(peaks) - 6.0 / cond.slap_period_s) <= 1.5


def test_inhalation_and_clipping():
    from experiment.simulation.walking_noise import clip, inhalation
    b = inhalation(0.4, RATE, 3)
    assert b.shape == (int(0.4 * RATE),)
    assert np.sqrt(np.mean(b ** 2)) == pytest.approx(1.0, rel=0.05)
    np.testing.assert_array_equal(b, inhalation(0.4, RATE, 3))
    x = np.array([-3.0, -0.5, 0.0, 0.7, 2.0])
    np.testing.assert_array_equal(clip(x, 1.0), [-1.0, -0.5, 0.0, 0.7, 1.0])
    with pytest.raises(ValueError, match="full_scale"):
        clip(x, 0.0)
    with pytest.raises(ValueError, match="duration_s"):
        inhalation(0.0, RATE, 1)
