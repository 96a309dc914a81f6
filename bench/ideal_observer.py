"""How soon after its true onset a word *can* be told apart from the walking noise.

A reference for the voice-key benchmark, not a detector: an ideal observer that knows the
word's exact short-time power spectrum (from the clean recording) and the noise's mean
power spectrum (from the calibration recording) gathers, frame by frame from the true onset,
the expected log-likelihood ratio (in nats) of 'noise + this word' against 'noise alone'.
Per frame and frequency bin, with power modelled as exponential (complex Gaussian bins)
and xi = word power / mean noise power, that is the Kullback-Leibler divergence
xi - ln(1 + xi). :func:`evidence_time_s` is when the running sum reaches ``nats``.

Any voice key knows less (it does not know the word's spectrum, and real walking noise is
not stationary), so a voice key cannot be expected to place the onset much earlier than
this time after the true onset. With 5 nats (a likelihood ratio of about 150:1, about the
least that stands out of a few hundred milliseconds of noise searched for an onset), an
observer still needs longer than 20 ms for words whose first sound is faint.
"""
from __future__ import annotations

import numpy as np

FRAME_S = 0.002
MAX_S = 0.300


def _frame_power(x: np.ndarray, n: int) -> np.ndarray:
    """Power per bin of consecutive, non-overlapping Hann frames of ``n`` samples, scaled so
    that white noise of variance 1 has mean power ``n`` in every bin; shape (frames, n//2+1)."""
    frames = x[: len(x) // n * n].reshape(-1, n)
    window = np.hanning(n) * np.sqrt(8.0 / 3.0)
    spec = np.fft.rfft(frames * window, axis=1)
    return spec.real ** 2 + spec.imag ** 2


def evidence_time_s(word: np.ndarray, onset_index: int, noise: np.ndarray, rate_hz: int,
                    nats: float = 5.0, frame_s: float = FRAME_S, max_s: float = MAX_S) -> float:
    """Seconds after the true onset at which the ideal observer's evidence reaches ``nats``.

    ``word``: the clean word at the level it was mixed at (shape (n,), samples at
    ``rate_hz``), with its true onset at sample ``onset_index``. ``noise``: a noise-only
    recording of the same walking condition (shape (m,), m >= 50 frames), whose mean power
    per bin is the noise model. Frames of ``frame_s`` from the onset; all bins from one bin
    above 0 Hz up to 0.45 x ``rate_hz``. The time returned is the end of the frame that
    reaches ``nats``; ``inf`` if the word does not within ``max_s``.

    >>> rng = np.random.default_rng(0)
    >>> noise = rng.standard_normal(48000)
    >>> word = np.r_[np.zeros(4800), rng.standard_normal(4800)]      # as loud as the noise
    >>> round(1000 * evidence_time_s(word, 4800, noise, 48000), 1)   # ms
    2.0
    """
    n = max(2, int(round(frame_s * rate_hz)))
    noise_power = _frame_power(np.asarray(noise, dtype=float), n)
    if len(noise_power) < 50:
        raise ValueError(f"evidence_time_s: noise has {len(noise_power)} frames of {frame_s} s; "
                         "pass at least 50 (0.1 s at 2 ms frames)")
    freqs = np.fft.rfftfreq(n, 1.0 / rate_hz)
    used = (freqs > 0) & (freqs <= 0.45 * rate_hz)
    mean_noise = noise_power[:, used].mean(axis=0)
    seg = np.asarray(word, dtype=float)[onset_index: onset_index + int(max_s * rate_hz)]
    xi = _frame_power(seg, n)[:, used] / (mean_noise + 1e-300)
    evidence = np.cumsum((xi - np.log1p(xi)).sum(axis=1))
    hit = np.flatnonzero(evidence >= nats)
    return float((hit[0] + 1) * n / rate_hz) if hit.size else float("inf")
