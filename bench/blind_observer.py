"""How soon a word can be told from the noise by an observer that knows only what a voice key can.

The ideal observer (``bench.ideal_observer``) knows the spoken word's exact short-time power
spectrum, frame by frame. A voice key does not: it knows the noise (from the block's
calibration recording) and, at best, what speech sounds like in general or how *other*
talkers say the colour words. This module is that *blind* reference, in the ideal observer's
own terms, so that the two can be compared item by item:

- per 2 ms frame and frequency bin, power is exponential (complex Gaussian bins); the noise's
  mean power per bin comes from the calibration recording;
- the blind observer tests 'noise + speech of spectral shape ``template``' against 'noise
  alone', with the speech's level chosen afresh in every frame by an oracle (the level that
  gathers the most evidence in that frame: more than any voice key can know);
- its expected log-likelihood ratio per frame, when the true word power per bin over the mean
  noise power is xi and the assumed one g = a x template / noise, is
  sum over bins of (1 + xi) g / (1 + g) - ln(1 + g); with g = xi it is the ideal observer's
  xi - ln(1 + xi), and by Gibbs' inequality never more;
- :func:`blind_evidence_time_s` is when the running sum from the true onset reaches ``nats``.

Templates (:func:`speech_template`): the long-term average spectrum of words spoken by other
talkers (a generic speech spectrum), or the mean spectrum of the first 40 ms of the same
colour word spoken by other talkers (knows the word's first sound, not this talker's).

Because the oracle level is generous, the blind observer's times are a lower bound on what a
voice key that does not know the talker's word spectrum can do, under the same idealisations
as the ideal observer (stationary noise, no search over onset times, no false-alarm cost).
If even these times are above 1.25 x the ideal observer's, so is every such voice key.

The module also holds the pieces of two realisable keys built on the same frame model: a
blind detector (:func:`frame_llr`, Page's CUSUM: :func:`page_onset_s`) and a back-off from a
voice key's confirmed voicing with word templates (:func:`backoff_onset_s`).
"""
from __future__ import annotations

import numpy as np

from bench.ideal_observer import FRAME_S, MAX_S, _frame_power

LEVEL_GRID = np.geomspace(1e-4, 1e4, 97)   # oracle level: mean assumed SNR per bin
ONSET_TEMPLATE_S = 0.040


def _used_bins(n: int, rate_hz: int) -> np.ndarray:
    freqs = np.fft.rfftfreq(n, 1.0 / rate_hz)
    return (freqs > 0) & (freqs <= 0.45 * rate_hz)


def speech_template(words: list[tuple[np.ndarray, int]], rate_hz: int,
                    first_s: float | None = None, frame_s: float = FRAME_S) -> np.ndarray:
    """Mean power per bin (2 ms Hann frames, the ideal observer's bins; shape (n_bins,)) of
    ``words``: (clean samples (n,), onset sample index) pairs, each scaled to unit mean power
    first, so that every talker counts alike. ``first_s``: only the first ``first_s`` seconds
    after each onset (None: the whole word from its onset). Raises ValueError on no words."""
    if not words:
        raise ValueError("speech_template: no words given; pass at least one (samples, onset)")
    n = max(2, int(round(frame_s * rate_hz)))
    used = _used_bins(n, rate_hz)
    acc = np.zeros(int(used.sum()))
    for samples, onset in words:
        seg = np.asarray(samples, dtype=float)[onset:]
        if first_s is not None:
            seg = seg[: int(round(first_s * rate_hz))]
        p = _frame_power(seg, n)[:, used]
        if len(p) == 0 or not np.any(p):
            continue
        acc += p.mean(axis=0) / p.mean()
    if not np.any(acc):
        raise ValueError("speech_template: every word given is silent")
    return acc / len(words)


def frame_evidence(xi: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Expected log-likelihood ratio (nats) per frame, shape (n_frames,), of the blind observer
    whose speech model is ``shape`` (assumed speech power per bin over the mean noise power,
    up to a level it picks per frame from LEVEL_GRID, or 0), when the true word power per bin
    over the mean noise power is ``xi`` (shape (n_frames, n_bins))."""
    s = np.asarray(shape, dtype=float)
    s = s / s.mean()
    g = LEVEL_GRID[:, None] * s[None, :]                        # (levels, bins)
    gain = g / (1.0 + g)
    cost = np.log1p(g).sum(axis=1)                              # (levels,)
    ev = (1.0 + xi) @ gain.T - cost[None, :]                    # (frames, levels)
    return np.maximum(ev.max(axis=1), 0.0)


def blind_evidence_time_s(word: np.ndarray, onset_index: int, noise: np.ndarray, rate_hz: int,
                          template: np.ndarray, nats: float = 10.0, frame_s: float = FRAME_S,
                          max_s: float = MAX_S) -> float:
    """Seconds after the true onset at which the blind observer's evidence reaches ``nats``.

    Arguments as :func:`bench.ideal_observer.evidence_time_s`, plus ``template``: the speech
    power per bin the observer assumes (:func:`speech_template`, shape (n_bins,)). Returns
    the end of the frame that reaches ``nats``; ``inf`` if not within ``max_s``.
    """
    n = max(2, int(round(frame_s * rate_hz)))
    noise_power = _frame_power(np.asarray(noise, dtype=float), n)
    if len(noise_power) < 50:
        raise ValueError(f"blind_evidence_time_s: noise has {len(noise_power)} frames of "
                         f"{frame_s} s; pass at least 50 (0.1 s at 2 ms frames)")
    used = _used_bins(n, rate_hz)
    if len(template) != int(used.sum()):
        raise ValueError(f"blind_evidence_time_s: template has {len(template)} bins, the "
                         f"{frame_s} s frames at {rate_hz} Hz have {int(used.sum())}; build it "
                         "with speech_template at the same rate")
    mean_noise = noise_power[:, used].mean(axis=0) + 1e-300
    seg = np.asarray(word, dtype=float)[onset_index: onset_index + int(max_s * rate_hz)]
    xi = _frame_power(seg, n)[:, used] / mean_noise
    evidence = np.cumsum(frame_evidence(xi, np.asarray(template) / mean_noise))
    hit = np.flatnonzero(evidence >= nats)
    return float((hit[0] + 1) * n / rate_hz) if hit.size else float("inf")


# ---------------------------------------------------------------------------- a blind detector

def frame_llr(x: np.ndarray, noise: np.ndarray, rate_hz: int, template: np.ndarray,
              level: float, frame_s: float = FRAME_S) -> np.ndarray:
    """Log-likelihood ratio (nats) of each 2 ms frame of the recording ``x`` (shape (n,)),
    'noise + speech of ``template``'s shape at mean SNR per bin ``level``' against 'noise
    alone', the noise's mean power per bin from ``noise``: sum over bins of
    y g / (1 + g) - ln(1 + g), y = frame power / mean noise power; shape (n // frame,).
    This is the noise-whitened detector a voice key without the talker's spectrum can run."""
    n = max(2, int(round(frame_s * rate_hz)))
    used = _used_bins(n, rate_hz)
    mean_noise = _frame_power(np.asarray(noise, dtype=float), n)[:, used].mean(axis=0) + 1e-300
    s = np.asarray(template, dtype=float) / mean_noise
    g = level * s / s.mean()
    y = _frame_power(np.asarray(x, dtype=float), n)[:, used] / mean_noise
    return y @ (g / (1.0 + g)) - np.log1p(g).sum()


def page_statistic(llr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(CUSUM S_t = max(0, S_(t-1) + llr_t) with S_(-1) = 0, index of the frame its current run
    started at), both shape (n_frames,): Page's test on the frame log-likelihood ratios."""
    x = np.concatenate([[0.0], np.cumsum(llr)])
    low = np.minimum.accumulate(x)
    is_low = x <= low
    last_low = np.maximum.accumulate(np.where(is_low, np.arange(len(x)), 0))
    return (x - low)[1:], last_low[1:]


def page_onset_s(llr: np.ndarray, threshold: float, frame_s: float = FRAME_S) -> float | None:
    """Onset (s from the first frame) by Page's test: the start of the run whose CUSUM first
    reaches ``threshold`` (nats); None if it never does."""
    s, start = page_statistic(llr)
    hit = np.flatnonzero(s >= threshold)
    return None if hit.size == 0 else float(start[hit[0]] * frame_s)


# ------------------------------------------------ a word-template back-off from the voicing

def backoff_onset_s(llrs: np.ndarray, voicing_s: float | None, drift: float, cap: float,
                    window_s: float = 0.4, frame_s: float = FRAME_S) -> float | None:
    """Onset (s from the first frame) found by searching back from a voice key's confirmed
    voicing with word-onset templates; None when ``voicing_s`` is None (nothing detected).

    ``llrs``: :func:`frame_llr` of the recording for each word the participant may say (the
    onset template of each colour word of the session's language), shape (n_words, n_frames).
    The onset is the frame t0 in the ``window_s`` before the voicing frame T that, over the
    words, maximises sum_(t = t0..T) (min(llr_t, cap) - drift): the start of the stretch the
    templates explain best, each frame counting at most ``cap`` nats (so that one loud frame,
    a footstep, does not decide) and paying ``drift`` nats (the evidence a frame must bring
    to be taken as speech)."""
    if voicing_s is None:
        return None
    llrs = np.atleast_2d(np.asarray(llrs, dtype=float))
    last = min(int(voicing_s / frame_s), llrs.shape[1] - 1)
    first = max(0, last - int(round(window_s / frame_s)))
    gain = np.minimum(llrs[:, first:last + 1], cap) - drift
    from_start = np.cumsum(gain[:, ::-1], axis=1)[:, ::-1]   # sum from each t0 to T
    _, start = np.unravel_index(int(np.argmax(from_start)), from_start.shape)
    return float((first + start) * frame_s)
