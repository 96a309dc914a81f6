"""Walking-like noise for voice-key tests and benchmarks, and mixing speech into it at a set SNR.

Pure numpy. What a head-worn microphone picks up on a treadmill, reduced to four parts:

* belt: broadband noise with a pink (1/f power) spectrum above ~40 Hz, its level modulated a
  little by the load of each step;
* motor: a hum (fundamental 45-120 Hz plus decaying harmonics, wobbling slowly in frequency)
  and a faint high whine (drive electronics, 1.5-4 kHz);
* footsteps: impacts at the cadence (~1.8 steps per second, a few per cent jitter), each a
  decaying low-frequency thump plus a short broadband click, left and right at different levels;
* breathing: bursts of band-limited noise (300-3000 Hz, with two broad resonances),
  0.25-0.8 s long, every 1.5-4 s.

Optional, off by default (:func:`machine_condition` switches them on): machine noise in the
speech band -- a belt slap (the belt seam striking the deck, a broadband 0.5-5 kHz crack
once per belt revolution) and a motor whine at 250-1200 Hz whose pitch sags under each
step's load. The bench also uses :func:`inhalation` (an audible breath placed right before
a word) and :func:`clip` (an input stage driven past full scale).

The stationary properties of one participant x walking condition (hum, whine, cadence,
levels) are a :class:`WalkingCondition`; a recording is one random realisation of it, so a
calibration recording and a trial recording of the same condition share the condition and
differ in the seed. All levels are in dB relative to the RMS of the belt noise.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# int16 digital silence: a sample below half an LSB is silent.
SILENCE_LEVEL = 0.5 / 32768.0


@dataclass(frozen=True)
class WalkingCondition:
    """Stationary properties of the noise of one participant walking on one treadmill.

    Frequencies in Hz, durations in seconds, levels in dB relative to the belt noise RMS
    (footstep and breath levels are the RMS over the event itself).
    """
    cadence_hz: float = 1.8
    cadence_jitter: float = 0.03        # SD of step interval / mean interval
    hum_hz: float = 60.0
    hum_db: float = -6.0
    whine_hz: float = 2400.0
    whine_db: float = -24.0
    step_db: float = 6.0                # RMS over the first 40 ms of an impact
    step_lr_db: float = 3.0             # left foot louder than right by this much
    step_decay_s: float = 0.03
    breath_db: float = -2.0
    breath_interval_s: tuple[float, float] = (1.5, 4.0)
    breath_duration_s: tuple[float, float] = (0.25, 0.8)
    belt_am_depth: float = 0.2          # belt level modulation by step load (fraction)
    slap_db: float | None = None        # belt slap (RMS over its 10 ms); None: no slap
    slap_period_s: float = 2.0          # one belt revolution
    speech_whine_hz: float | None = None  # motor whine in the speech band; None: none
    speech_whine_db: float = -12.0
    whine_sag: float = 0.02             # whine pitch drop at full step load (fraction)


def random_condition(seed: int) -> WalkingCondition:
    """A plausible random :class:`WalkingCondition` (different treadmill, cadence, breathing)."""
    rng = np.random.default_rng(seed)
    return WalkingCondition(
        cadence_hz=float(rng.uniform(1.6, 2.0)),
        hum_hz=float(rng.uniform(45.0, 120.0)),
        hum_db=float(rng.uniform(-12.0, -3.0)),
        whine_hz=float(rng.uniform(1500.0, 4000.0)),
        whine_db=float(rng.uniform(-30.0, -18.0)),
        step_db=float(rng.uniform(3.0, 9.0)),
        step_lr_db=float(rng.uniform(0.0, 4.0)),
        step_decay_s=float(rng.uniform(0.015, 0.05)),
        breath_db=float(rng.uniform(-6.0, 0.0)),
        belt_am_depth=float(rng.uniform(0.05, 0.3)),
    )


def machine_condition(seed: int) -> WalkingCondition:
    """:func:`random_condition` (same seed) plus belt slap and a load-dependent motor whine
    in the speech band (250-1200 Hz, -15 to -6 dB re belt; slap +0 to +10 dB re belt once
    per 1.5-3 s revolution)."""
    base = random_condition(seed)
    rng = np.random.default_rng([seed, 1])
    return replace(base, slap_db=float(rng.uniform(0.0, 10.0)),
                   slap_period_s=float(rng.uniform(1.5, 3.0)),
                   speech_whine_hz=float(rng.uniform(250.0, 1200.0)),
                   speech_whine_db=float(rng.uniform(-15.0, -6.0)),
                   whine_sag=float(rng.uniform(0.005, 0.03)))


def _shaped_noise(rng: np.random.Generator, n: int, rate_hz: int, gain_of_freq) -> np.ndarray:
    """Gaussian noise of ``n`` samples with amplitude spectrum ``gain_of_freq(f_hz)``, unit RMS."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / rate_hz)
    x = np.fft.irfft(spectrum * gain_of_freq(f), n)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-30)


def _belt(rng, n, rate_hz):
    def gain(f):
        f = np.maximum(f, 1.0)
        highpass = (f / 40.0) ** 4 / (1.0 + (f / 40.0) ** 4)
        lowpass = 1.0 / (1.0 + (f / 9000.0) ** 4)
        return np.sqrt(highpass * lowpass / f)        # pink: power ~ 1/f
    return _shaped_noise(rng, n, rate_hz, gain)


def _tone(rng, n, rate_hz, f0_hz, n_harmonics, wobble):
    """Sum of harmonics with slow frequency wobble (fraction of f0), unit RMS."""
    t = np.arange(n) / rate_hz
    drift = wobble * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f0_hz * (1.0 + drift)) / rate_hz
    x = sum((0.6 ** k) * np.sin((k + 1) * phase + rng.uniform(0, 2 * np.pi))
            for k in range(n_harmonics))
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-30)


def _footsteps(rng, n, rate_hz, cond: WalkingCondition):
    """(impact signal with each impact at step_db, per-sample belt load in [0, 1])."""
    out = np.zeros(n)
    load = np.zeros(n)
    period = 1.0 / cond.cadence_hz
    t = -rng.uniform(0.0, period)
    left = bool(rng.integers(2))
    tail = int(8 * cond.step_decay_s * rate_hz)
    k = np.arange(tail) / rate_hz
    while t < n / rate_hz:
        start = int(round(t * rate_hz))
        thump = np.convolve(rng.standard_normal(tail), np.hanning(int(0.004 * rate_hz) | 1),
                            mode="same")                                   # < ~250 Hz
        thump *= np.exp(-k / cond.step_decay_s)
        click_n = int(0.003 * rate_hz)
        click = np.zeros(tail)
        click[:click_n] = rng.standard_normal(click_n) * np.exp(-np.arange(click_n) / (0.0008 * rate_hz))
        event = thump / (np.sqrt(np.mean(thump[: int(0.04 * rate_hz)] ** 2)) + 1e-30)
        event += 0.5 * click / (np.sqrt(np.mean(click[:click_n] ** 2)) + 1e-30)
        level = 10 ** ((cond.step_db - (0 if left else cond.step_lr_db) + rng.normal(0, 1.5)) / 20)
        lo, hi = max(start, 0), min(start + tail, n)
        if hi > lo:
            out[lo:hi] += level * event[lo - start: hi - start]
        stance = int(0.6 * period * rate_hz)
        slo, shi = max(start, 0), min(start + stance, n)
        if shi > slo:
            load[slo:shi] = np.maximum(load[slo:shi],
                                       np.sin(np.pi * np.arange(slo - start, shi - start) / stance))
        t += period * (1.0 + cond.cadence_jitter * rng.standard_normal())
        left = not left
    return out, load


def _breath_burst(rng, m: int, rate_hz: int) -> np.ndarray:
    """One breath of ``m`` samples: noise in 300-3000 Hz with two random broad resonances,
    a rise-and-fall envelope; RMS 1 over the burst."""
    f1, f2 = rng.uniform(400, 900), rng.uniform(1200, 2600)

    def gain(f):
        band = 1.0 / (1.0 + (300.0 / np.maximum(f, 1.0)) ** 4) / (1.0 + (f / 3000.0) ** 4)
        res = 1.0 + 2.0 * np.exp(-((f - f1) / 250.0) ** 2) + 1.5 * np.exp(-((f - f2) / 400.0) ** 2)
        return np.sqrt(band) * res
    burst = _shaped_noise(rng, m, rate_hz, gain)
    env = np.sin(np.pi * np.arange(m) / m) ** 1.5
    burst *= env / np.sqrt(np.mean(env ** 2))
    return burst


def _machine(rng, n, rate_hz, cond: WalkingCondition, load: np.ndarray) -> np.ndarray:
    """Belt slap and speech-band motor whine (see :class:`WalkingCondition`), in belt units."""
    out = np.zeros(n)
    if cond.speech_whine_hz is not None:
        t = np.arange(n) / rate_hz
        f0 = cond.speech_whine_hz * (1.0 - cond.whine_sag * load
                                     + 0.003 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.3)))
        phase = 2 * np.pi * np.cumsum(f0) / rate_hz
        whine = sum(0.5 ** k * np.sin((k + 1) * phase + rng.uniform(0, 2 * np.pi)) for k in range(3))
        out += whine / np.sqrt(np.mean(whine ** 2)) * 10 ** (cond.speech_whine_db / 20)
    if cond.slap_db is not None:
        m = int(0.010 * rate_hz)

        def crack(f):
            return 1.0 / (1.0 + (500.0 / np.maximum(f, 1.0)) ** 4) / (1.0 + (f / 5000.0) ** 4)
        t = rng.uniform(0.0, cond.slap_period_s)
        while t < n / rate_hz:
            start = int(round(t * rate_hz))
            burst = _shaped_noise(rng, m, rate_hz, crack) * np.exp(-np.arange(m) / (0.002 * rate_hz))
            burst /= np.sqrt(np.mean(burst ** 2)) + 1e-30
            hi = min(start + m, n)
            out[start:hi] += 10 ** ((cond.slap_db + rng.normal(0, 1.0)) / 20) * burst[: hi - start]
            t += cond.slap_period_s * (1.0 + 0.01 * rng.standard_normal())
    return out


def _breaths(rng, n, rate_hz, cond: WalkingCondition):
    out = np.zeros(n)
    t = rng.uniform(-cond.breath_interval_s[1], 0.0)
    while t < n / rate_hz:
        dur = rng.uniform(*cond.breath_duration_s)
        m = int(dur * rate_hz)
        burst = _breath_burst(rng, m, rate_hz)
        level = 10 ** ((cond.breath_db + rng.normal(0, 2.0)) / 20)
        start = int(round(t * rate_hz))
        lo, hi = max(start, 0), min(start + m, n)
        if hi > lo:
            out[lo:hi] += level * burst[lo - start: hi - start]
        t += dur + rng.uniform(*cond.breath_interval_s)
    return out


def walking_noise_parts(duration_s: float, rate_hz: int, seed: int,
                        condition: WalkingCondition = WalkingCondition()) -> dict[str, np.ndarray]:
    """The parts of :func:`walking_noise` (same seed, same samples): 'belt', 'motor', 'steps',
    'breaths', each float64 of shape (round(duration_s * rate_hz),); they sum to walking_noise."""
    if duration_s <= 0 or rate_hz < 8000:
        raise ValueError(f"walking_noise: duration_s={duration_s!r} must be > 0 and "
                         f"rate_hz={rate_hz!r} at least 8000")
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * rate_hz))
    steps, load = _footsteps(rng, n, rate_hz, condition)
    belt = _belt(rng, n, rate_hz) * (1.0 + condition.belt_am_depth * (load - 0.5))
    hum = _tone(rng, n, rate_hz, condition.hum_hz, 6, 0.004) * 10 ** (condition.hum_db / 20)
    whine = _tone(rng, n, rate_hz, condition.whine_hz, 1, 0.002) * 10 ** (condition.whine_db / 20)
    breaths = _breaths(rng, n, rate_hz, condition)
    # its own stream, so that the other parts do not change when machine noise is switched on
    machine = _machine(np.random.default_rng([seed, 2]), n, rate_hz, condition, load)
    return {"belt": 0.01 * belt, "motor": 0.01 * (hum + whine + machine), "steps": 0.01 * steps,
            "breaths": 0.01 * breaths}


def walking_noise(duration_s: float, rate_hz: int, seed: int,
                  condition: WalkingCondition = WalkingCondition()) -> np.ndarray:
    """One realisation of walking noise: float64 array, shape (round(duration_s * rate_hz),).

    Deterministic for (duration_s, rate_hz, seed, condition). Scaled so that the belt noise
    has an RMS of about 0.01 (-40 dBFS); the total RMS is higher by the motor, steps and
    breaths. :func:`walking_noise_parts` gives the parts separately.
    """
    parts = walking_noise_parts(duration_s, rate_hz, seed, condition)
    return parts["belt"] + parts["motor"] + parts["steps"] + parts["breaths"]


def inhalation(duration_s: float, rate_hz: int, seed: int) -> np.ndarray:
    """An audible breath of ``duration_s`` s: float64, shape (round(duration_s * rate_hz),),
    RMS about 1 over the whole burst (scale it to the level wanted). Same sound as the breaths of
    :func:`walking_noise`."""
    if duration_s <= 0 or rate_hz < 8000:
        raise ValueError(f"inhalation: duration_s={duration_s!r} must be > 0 and "
                         f"rate_hz={rate_hz!r} at least 8000")
    return _breath_burst(np.random.default_rng(seed), int(round(duration_s * rate_hz)), rate_hz)


def clip(x: np.ndarray, full_scale: float) -> np.ndarray:
    """``x`` as an input stage with full scale ``full_scale`` records it: samples beyond
    +-full_scale are flattened to it (hard clipping). Returns a new float64 array."""
    if not full_scale > 0:
        raise ValueError(f"clip: full_scale={full_scale!r} must be > 0")
    return np.clip(np.asarray(x, dtype=float), -full_scale, full_scale)


def active_rms(speech: np.ndarray) -> float:
    """RMS of ``speech`` between its first and last sample above digital silence (0 if silent)."""
    loud = np.flatnonzero(np.abs(speech) > SILENCE_LEVEL)
    if loud.size == 0:
        return 0.0
    seg = np.asarray(speech[loud[0]: loud[-1] + 1], dtype=float)
    return float(np.sqrt(np.mean(seg ** 2)))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, start: int = 0) -> np.ndarray:
    """``noise`` with ``speech`` added from sample ``start`` on, scaled to the given SNR.

    SNR (dB) = 20 log10(speech active RMS / noise RMS), where the speech active RMS is the RMS
    of the clean speech between its first and last sample above digital silence
    (:func:`active_rms`) and the noise RMS is over the whole ``noise`` array (footsteps,
    breaths and all). Speech running past the end of ``noise`` is cut. Returns a new float64
    array with the shape of ``noise``; the noise is not scaled.
    """
    noise = np.asarray(noise, dtype=float)
    s_rms = active_rms(speech)
    n_rms = float(np.sqrt(np.mean(noise ** 2)))
    if s_rms == 0.0 or n_rms == 0.0:
        raise ValueError("mix_at_snr: speech and noise must both contain non-silent samples")
    if not 0 <= start < len(noise):
        raise ValueError(f"mix_at_snr: start={start} is outside the noise (0..{len(noise) - 1})")
    gain = n_rms * 10 ** (snr_db / 20) / s_rms
    out = noise.copy()
    seg = np.asarray(speech, dtype=float)[: len(noise) - start]
    out[start: start + len(seg)] += gain * seg
    return out
