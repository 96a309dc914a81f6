"""Speech-onset detection (voice key) for vocal responses recorded while walking.

Pure numpy/scipy, no PsychoPy. Two detectors:

* :func:`detect_onset` -- the stroop-walk voice key. Calibrated on a noise-only recording of
  the same walking condition (:func:`calibrate`), it works in five steps:

  1. **Voicing confirms speech.** In 40 ms frames the spectrum is whitened by the noise's
     mean spectrum (so the treadmill's hum and whine become white) and its autocorrelation
     in 300-3000 Hz is searched for a speaking pitch (70-400 Hz). The periodic power, in
     units of the noise's power in that band, must stay above a threshold (at least 1, and
     3x the largest value the calibration noise reached) for 40 ms. Footsteps, breaths and
     belt noise are not periodic, so they do not start a response. A voiced stretch is the
     talker's only if it peaks at twice that threshold or more and at a tenth or more of
     the recording's strongest stretch: another voice in the room (the experimenter's, a
     metre or more from a head-worn microphone) is weaker, also when it comes first.
  2. **Voiced back-off.** From there the pitch is tracked back in time (25 ms windows,
     2 ms steps, correlation at the current pitch period on the whitened 80-1500 Hz
     signal) while the signal stays periodic: pre-voicing of /b/, /r/, /j/ is found this
     way, and breaths and footsteps, being aperiodic, stop it.
  3. **Spectral back-off, band by band,** for what precedes voicing (plosive bursts,
     fricatives: 20-200 ms). The whitened spectrum (8 ms frames, 1 ms apart) is split into
     11 log-spaced bands from 200 Hz to 8 kHz (lower down, footstep thumps and motor hum
     dominate). In each band the level above the local background (a low percentile of the
     preceding half second, in units of the band's spread in the calibration noise) is
     followed back with a backward CUSUM, so that short dips inside the word do not end it
     and short blips before it do not extend it (at most 300 ms back). The estimate is the
     time by which two bands have started: one band alone may be carried back by a breath
     or a footstep; a word rises in several.
  4. **Edge check.** If, between 40 ms before that estimate and the voicing, the bands
     rise abruptly (median of the next 10 ms vs the 30 ms before: two bands by >= 4 noise
     spreads, or all bands together by >= 20), the earliest rise at least 0.7x as strong as
     the strongest one is the onset: what precedes it (an inhalation, a footstep) is not
     the word, and a plosive burst cut off from the vowel by a short gap is.
  4b. **Burst before a gap.** An aspirated affricate or a burst (Korean 초록 /tɕʰ/,
     Mandarin 黄 /x/) can be followed by weak aspiration or a closure up to ~200 ms
     before the vowel, which stops the back-off. Up to 220 ms before the onset so far, an
     abrupt rise of two bands by >= 4 noise spreads that holds for 15 ms
     is taken as the onset if the rising bands do not fall back to the background (20 ms
     mean >= 0.4 spreads) on the way to the onset: an inhalation swells slowly, a
     footstep's click does not hold, and after a belt slap the bands fall back.
  5. **Refinement** to 1 ms: the change point (generalised likelihood ratio, exponential
     power per frequency bin, 4 ms frames) within +-10 ms of that estimate.

* :func:`threshold_onset` -- a plain amplitude-threshold voice key (rectified amplitude
  smoothed over 5 ms crossing a fixed level 1.3x the loudest calibration noise),
  the baseline that classic hardware and software voice keys implement.

All times are seconds from the first sample of the recording; sample rates in Hz; audio
is a float array of shape (n,) at any scale (the calibration must go through the same gain).

Online use: :class:`OnsetTracker` accepts audio chunk by chunk and reports the onset as
soon as voicing has been confirmed (about 60-220 ms after the onset), so a session may
end a trial early. The authoritative RT is :func:`detect_onset` on the whole saved recording.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.ndimage import median_filter, uniform_filter1d
from scipy.signal import butter, lfilter, sosfiltfilt

# Coarse analysis (voicing): long enough frames to see two pitch periods.
COARSE_WIN_S = 0.040
COARSE_HOP_S = 0.004
VOICE_BAND_HZ = (300.0, 3000.0)
PITCH_RANGE_HZ = (70.0, 400.0)
# Fine analysis (where the word starts).
FINE_WIN_S = 0.008
FINE_HOP_S = 0.001
REFINE_WIN_S = 0.004
SPECTRAL_BAND_HZ = (200.0, 8000.0)   # back-off bands
REFINE_BAND_HZ = (300.0, 8000.0)     # change-point refinement
MIN_RATE_HZ = 16000
SNR_GAP_S = 0.100   # voiceless stretches inside a word (a closure, a medial consonant)


class VoiceKeyError(ValueError):
    """Unusable input (wrong shape, rate or length); the message says what to fix."""


@dataclass(frozen=True)
class VoiceKeyParams:
    """Tuning of :func:`detect_onset`, chosen on the benchmark's 'dev' split only.

    Durations in seconds, levels in dB. Voicing: harmonicity (0-1) above
    ``harmonicity_floor`` counts as periodic; speech is confirmed by ``voiced_run_s`` of
    frames, ``voiced_fill`` of them with periodic power >= max(``voiced_min_power``,
    ``voiced_noise_factor`` x the calibration noise's largest run value), in units of the
    noise's mean voice-band power; the talker's voicing is the first voiced stretch that
    peaks at >= ``voiced_min_peak`` x that threshold and >= ``voiced_rel_peak`` x the
    strongest stretch's peak (a second, distant voice is weaker). Back-off: ``n_bands`` log-spaced bands in
    SPECTRAL_BAND_HZ; the background is the ``background_percentile`` of each band over
    ``background_s`` = (from, to) before the voicing; band z-scores (units: the band's
    spread in the calibration noise) are clipped to ``z_clip`` and smoothed over
    ``z_smooth_s``; the backward CUSUM has ``drift`` and ``limit`` (z units); a band counts
    when its mean z from its start to the voicing is >= ``presence``; the onset estimate is
    the start of the ``bands_needed``-th earliest band. Voiced back-off (``voiced_backoff``):
    ``track_win_s`` windows every ``track_hop_s`` on the whitened (LPC order ``lpc_order``)
    signal in ``track_band_hz``, continuing while the correlation at a lag within
    ``track_lag_tol`` of the last is >= ``track_min_corr`` (``track_gap`` misses allowed).
    Edge check (:func:`_word_edge`), searched from ``edge_lookback_s`` before the band
    estimate to the voicing: ``edge_bands`` bands rising by >= ``edge_z`` (z units; None
    disables the check) or all rises (each clipped to 0-10) summing to >= ``edge_sum``,
    from the median of ``edge_pre_s`` to that of the following ``edge_post_s``; the
    earliest rise >= ``edge_keep`` x the strongest wins. Burst before a gap
    (:func:`_burst_before`): up to ``burst_gap_s`` before that onset (None disables it), an
    abrupt rise of ``burst_bands`` bands by >= ``burst_z`` whose rising bands stay at a
    median >= ``burst_hold_z`` for ``burst_hold_s``, at least ``burst_min_s`` before the
    onset, and whose mean over ``burst_gap_win_s`` never falls below ``burst_gap_z`` from
    there to the onset, is the word's first sound (a burst or affricate before the gap).
    Refinement:
    within +-``refine_range_s``, background from ``refine_pre_s`` before, at most
    ``refine_post_s`` after, power ratios capped at ``refine_cap``.
    """
    harmonicity_floor: float = 0.3
    voiced_min_power: float = 1.0
    voiced_noise_factor: float = 3.0
    voiced_run_s: float = 0.040
    voiced_fill: float = 0.8
    voiced_min_peak: float = 2.0
    voiced_rel_peak: float = 0.1
    n_bands: int = 11
    smooth_s: float = 0.004
    background_percentile: float = 20.0
    background_s: tuple[float, float] = (0.70, 0.15)
    z_clip: tuple[float, float] = (-2.0, 5.0)
    z_smooth_s: float = 0.005
    drift: float = 2.0
    limit: float = 15.0
    presence: float = 1.5
    bands_needed: int = 2
    max_backoff_s: float = 0.300
    voiced_backoff: bool = True
    track_win_s: float = 0.025
    track_hop_s: float = 0.002
    track_band_hz: tuple[float, float] = (80.0, 1500.0)
    track_min_corr: float = 0.4
    track_lag_tol: float = 0.12
    track_gap: int = 1
    lpc_order: int = 24
    edge_z: float | None = 4.0
    edge_bands: int = 2
    edge_sum: float | None = 20.0
    edge_lookback_s: float = 0.040
    edge_keep: float = 0.7
    edge_post_s: float = 0.010
    edge_pre_s: float = 0.030
    burst_gap_s: float | None = 0.220
    burst_z: float = 4.0
    burst_bands: int = 2
    burst_hold_s: float = 0.015
    burst_hold_z: float = 2.0
    burst_min_s: float = 0.010
    burst_gap_z: float = 0.4
    burst_gap_win_s: float = 0.020
    refine_range_s: float = 0.010
    refine_pre_s: float = 0.050
    refine_post_s: float = 0.030
    refine_cap: float = 10.0


@dataclass(frozen=True)
class NoiseModel:
    """What :func:`calibrate` learnt from a noise-only recording, for one sample rate.

    ``coarse_psd``: mean power per bin of the 40 ms frames, shape (n_coarse_bins,);
    ``voice_power_ref``: the noise's median voice-band power (the voicing score's unit);
    ``voiced_noise_max``: the largest voiced-run score in the noise; ``fine_psd``: mean
    power per bin of the 8 ms frames within SPECTRAL_BAND_HZ, shape (n_fine_bins,);
    ``band_background_db``/``band_scale_db``: per band, the noise's background level (dB re
    fine_psd) and its spread ((84th - 16th percentile) / 2), shapes (n_bands,);
    ``whitener``: the noise's LPC inverse filter, shape (lpc_order + 1,);
    ``mean_square``: the recording's mean squared sample (its power, in the audio's units
    squared), the reference of :attr:`OnsetResult.snr_db`.
    """
    rate_hz: int
    duration_s: float
    coarse_psd: np.ndarray
    voice_power_ref: float
    voiced_noise_max: float
    fine_psd: np.ndarray
    band_background_db: np.ndarray
    band_scale_db: np.ndarray
    whitener: np.ndarray
    mean_square: float
    params: VoiceKeyParams = field(default_factory=VoiceKeyParams)

    def voiced_threshold(self) -> float:
        """Voiced-run score (units of noise voice-band power) that confirms speech."""
        p = self.params
        return max(p.voiced_min_power, p.voiced_noise_factor * self.voiced_noise_max)


@dataclass(frozen=True)
class OnsetResult:
    """Result of :func:`detect_onset`.

    ``onset_s``: speech onset in seconds from sample 0, or None (no speech found).
    ``voicing_s``: where confirmed voicing starts (s), or None. ``region_s``: the
    frame-level onset estimate before refinement (s), or None. ``confidence``: 0-1,
    1 - 1 / (voiced-run score / voicing threshold): 0 at the threshold, 0.5 at twice it,
    0.9 at ten times.
    Traces for plotting, one value per 1 ms frame: ``times_s`` (frame centres, shape
    (n_frames,)), ``evidence`` (second-highest band z-score above the background; ~0 in
    noise) and ``voicing`` (voiced score / voicing threshold; > 1 is voiced). ``band``: the
    frequency band that placed the onset (index into :func:`band_edges_hz`), None if none
    did (onset at the start of voicing) or no onset. ``snr_db``: the word's signal-to-noise
    ratio in dB, None if no onset: the power of the recording from the onset to the end of
    the last voiced stretch (gaps up to SNR_GAP_S), minus the calibration noise's power,
    over the calibration noise's power. Below about 15 dB, onsets of words that begin with
    a faint sound deserve a hand check (see the benchmark's ideal-observer reference).
    """
    onset_s: float | None
    voicing_s: float | None
    region_s: float | None
    confidence: float
    times_s: np.ndarray
    evidence: np.ndarray
    voicing: np.ndarray
    band: int | None = None
    snr_db: float | None = None


# ---------------------------------------------------------------------------- features

def _check_audio(samples, rate_hz, what: str, min_s: float) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise VoiceKeyError(f"{what}: expected mono audio of shape (n,), got shape {x.shape}; "
                            "pass one channel")
    if int(rate_hz) != rate_hz or rate_hz < MIN_RATE_HZ:
        raise VoiceKeyError(f"{what}: rate_hz={rate_hz!r}; record at {MIN_RATE_HZ} Hz or more")
    if len(x) < min_s * rate_hz:
        raise VoiceKeyError(f"{what}: {len(x) / rate_hz:.3f} s of audio; need at least {min_s} s")
    if not np.all(np.isfinite(x)):
        raise VoiceKeyError(f"{what}: contains NaN or infinite samples")
    return x


def _power(x: np.ndarray, rate_hz: int, win_s: float, hop_s: float):
    """(power (n_frames, n_bins), freqs_hz (n_bins,), frame centres s (n_frames,)).

    Hann-windowed frames of ``win_s`` every ``hop_s``; frame i covers samples
    [i*hop, i*hop + win). FFT length: the power of two >= 2 x window.
    """
    win = int(round(win_s * rate_hz))
    hop = max(1, int(round(hop_s * rate_hz)))
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    if len(x) < win:
        return np.zeros((0, nfft // 2 + 1)), np.fft.rfftfreq(nfft, 1.0 / rate_hz), np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    spec = np.fft.rfft(frames * np.hanning(win), nfft, axis=1)
    p = spec.real ** 2 + spec.imag ** 2
    centres = (np.arange(len(frames)) * hop + win / 2) / rate_hz
    return p, np.fft.rfftfreq(nfft, 1.0 / rate_hz), centres


def _periodicity(p: np.ndarray, freqs: np.ndarray, psd: np.ndarray, rate_hz: int, win: int):
    """(harmonicity 0-1, voice-band power, best lag in samples), each shape (n_frames,).

    Harmonicity: peak of the normalised autocorrelation (corrected for the window) at lags
    of a speaking pitch, from the noise-whitened power spectrum (power / mean noise power
    per bin) in VOICE_BAND_HZ: stationary noise, tones included, becomes white there.
    """
    band = (freqs >= VOICE_BAND_HZ[0]) & (freqs < VOICE_BAND_HZ[1])
    white = np.where(band, p / (psd + 1e-300), 0.0)
    nfft = 2 * (p.shape[1] - 1)
    r = np.fft.irfft(white, nfft, axis=1)
    wr = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(win), nfft)) ** 2, nfft)
    lo = int(rate_hz / PITCH_RANGE_HZ[1])
    hi = min(int(rate_hz / PITCH_RANGE_HZ[0]), win // 2)
    norm = r[:, lo:hi] / (r[:, :1] + 1e-300) / (wr[lo:hi] / wr[0])
    return (np.clip(norm.max(axis=1), 0.0, 1.0), r[:, 0] / max(int(band.sum()), 1),
            lo + norm.argmax(axis=1))


def _voiced_score(h: np.ndarray, power: np.ndarray, params: VoiceKeyParams) -> np.ndarray:
    """Periodic power per frame: ``power`` x the harmonicity above ``harmonicity_floor``
    (what aperiodic sounds reach by chance), rescaled to 0-1."""
    b = params.harmonicity_floor
    return power * np.clip((h - b) / (1.0 - b), 0.0, 1.0)


def _run_score(v: np.ndarray, run: int, fill: float) -> np.ndarray:
    """For each start i, the value that a ``fill`` fraction of v[i:i+run] reach; (n-run+1,)."""
    if len(v) < run:
        return np.zeros(0)
    k = min(run - 1, max(0, run - int(np.ceil(fill * run))))
    return np.partition(np.lib.stride_tricks.sliding_window_view(v, run), k, axis=1)[:, k]


def _coarse(x: np.ndarray, rate_hz: int, coarse_psd: np.ndarray, ref: float,
            params: VoiceKeyParams):
    """(frame centres s, voiced score, best lag (samples) per frame, voiced-run score per
    run start)."""
    p, f, t = _power(x, rate_hz, COARSE_WIN_S, COARSE_HOP_S)
    h, power, lag = _periodicity(p, f, coarse_psd, rate_hz, int(round(COARSE_WIN_S * rate_hz)))
    score = _voiced_score(h, power / ref, params)
    run = _run_score(score, max(1, int(round(params.voiced_run_s / COARSE_HOP_S))),
                     params.voiced_fill)
    return t, score, lag, run


def band_edges_hz(params: VoiceKeyParams, rate_hz: int) -> np.ndarray:
    """Edges (Hz) of the back-off bands at ``rate_hz``, shape (n_bands + 1,)."""
    hi = min(SPECTRAL_BAND_HZ[1], 0.45 * rate_hz)
    return np.geomspace(SPECTRAL_BAND_HZ[0], hi, params.n_bands + 1)


def _band_levels(x: np.ndarray, rate_hz: int, psd: np.ndarray | None, params: VoiceKeyParams):
    """(frame centres s (n,), band levels dB (n, n_bands), fine psd (n_fine_bins,)).

    Band level: the mean over the band's bins of 10 log10(power / psd) (8 ms frames, 1 ms
    apart, smoothed over ``smooth_s``); with ``psd`` None the recording's own mean power
    per bin is the reference (and is returned).
    """
    p, f, t = _power(x, rate_hz, FINE_WIN_S, FINE_HOP_S)
    edges = band_edges_hz(params, rate_hz)
    inband = (f >= edges[0]) & (f < edges[-1])
    if psd is None:
        psd = p[:, inband].mean(axis=0)
    level = 10 * np.log10(p[:, inband] / (psd + 1e-300) + 1e-12)
    fb = f[inband]
    cols = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (fb >= lo) & (fb < hi)
        cols.append(level[:, m].mean(axis=1) if m.any() else np.zeros(len(level)))
    bands = np.stack(cols, axis=1) if len(level) else np.zeros((0, params.n_bands))
    smooth = _fine_frames(params.smooth_s)
    if smooth > 1 and len(bands):
        bands = uniform_filter1d(bands, smooth, axis=0, mode="nearest")
    return t, bands, psd


def _z_scores(bands: np.ndarray, background: np.ndarray, scale: np.ndarray,
              params: VoiceKeyParams) -> np.ndarray:
    """Band levels (dB, shape (n, n_bands)) as z-scores above ``background`` in units of
    ``scale`` (both shape (n_bands,)), clipped to ``z_clip`` and smoothed over ``z_smooth_s``."""
    z = np.clip((bands - background) / scale, *params.z_clip)
    smooth = _fine_frames(params.z_smooth_s)
    return uniform_filter1d(z, smooth, axis=0, mode="nearest") if smooth > 1 and len(z) else z


def _lpc_whitener(x: np.ndarray, order: int) -> np.ndarray:
    """LPC inverse filter [1, -a1, ..., -ap] of ``x`` (flattens the noise's spectrum)."""
    n = len(x)
    r = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * n)) ** 2)[: order + 1] / n
    r[0] = r[0] * (1.0 + 1e-6) + 1e-300
    return np.concatenate([[1.0], -solve_toeplitz(r[:order], r[1:])])


# ---------------------------------------------------------------------------- calibration

def calibrate(noise: np.ndarray, rate_hz: int, params: VoiceKeyParams = VoiceKeyParams()) -> NoiseModel:
    """A :class:`NoiseModel` from a noise-only recording (>= 1 s; 3-5 s of walking is best).

    The recording should contain what the trials will contain apart from speech --
    treadmill, footsteps, breathing -- through the same microphone and gain.
    """
    x = _check_audio(noise, rate_hz, "calibrate: noise", 1.0)
    p, f, _ = _power(x, rate_hz, COARSE_WIN_S, COARSE_HOP_S)
    coarse_psd = p.mean(axis=0)
    h, power, _ = _periodicity(p, f, coarse_psd, rate_hz, int(round(COARSE_WIN_S * rate_hz)))
    ref = float(np.median(power)) or 1e-300
    run = _run_score(_voiced_score(h, power / ref, params),
                     max(1, int(round(params.voiced_run_s / COARSE_HOP_S))), params.voiced_fill)
    _, bands, fine_psd = _band_levels(x, rate_hz, None, params)
    lo, hi = np.percentile(bands, [16.0, 84.0], axis=0)
    return NoiseModel(
        rate_hz=int(rate_hz), duration_s=len(x) / rate_hz,
        coarse_psd=coarse_psd, voice_power_ref=ref,
        voiced_noise_max=float(run.max()) if run.size else 0.0,
        fine_psd=fine_psd,
        band_background_db=np.percentile(bands, params.background_percentile, axis=0),
        band_scale_db=np.maximum((hi - lo) / 2, 0.1),
        whitener=_lpc_whitener(x, params.lpc_order),
        mean_square=float(np.mean(x * x)), params=params,
    )


# ---------------------------------------------------------------------------- detection

def _noise_model(samples: np.ndarray, rate_hz: int, noise, params: VoiceKeyParams) -> NoiseModel:
    if isinstance(noise, NoiseModel):
        if noise.rate_hz != rate_hz:
            raise VoiceKeyError(f"detect_onset: the noise model is for {noise.rate_hz} Hz, the audio "
                                f"is {rate_hz} Hz; calibrate at the recording's rate")
        return noise
    if noise is None:
        # No calibration: the first 200 ms of the trial (before any plausible speech onset).
        lead = samples[: int(0.2 * rate_hz)]
        return calibrate(np.tile(lead, int(np.ceil(1.0 / 0.2)) + 1), rate_hz, params)
    return calibrate(noise, rate_hz, params)


def _backward_cusum(e: np.ndarray, j: int, lim: int, drift: float, limit: float) -> int:
    """Earliest index of the elevated run containing ``j``, scanning ``e`` back to ``lim``.

    N accumulates (drift - e) going back in time, restarting at 0 whenever the evidence
    outweighs the drift; once N exceeds ``limit`` the frames since its last restart are
    background, and the run starts at that restart.
    """
    n = 0.0
    start = j
    for k in range(j, lim - 1, -1):
        n = max(0.0, n + drift - e[k])
        if n == 0.0:
            start = k
        elif n > limit:
            break
    return start


def _refine(x: np.ndarray, rate_hz: int, t_est: float, params: VoiceKeyParams) -> float:
    """Onset (s) within +-refine_range_s of ``t_est``: the change point maximising the
    generalised likelihood ratio of 'background' before vs 'louder by an unknown factor per
    bin' after (exponential power per bin; background from the refine_pre_s before)."""
    lo_s = t_est - params.refine_range_s - params.refine_pre_s - REFINE_WIN_S
    hi_s = t_est + params.refine_range_s + params.refine_post_s + REFINE_WIN_S
    k0 = max(0, int(lo_s * rate_hz))
    k1 = min(len(x), int(np.ceil(hi_s * rate_hz)))
    p, f, t = _power(x[k0:k1], rate_hz, REFINE_WIN_S, FINE_HOP_S)
    if len(t) == 0:
        return t_est
    t = t + k0 / rate_hz
    band = (f >= REFINE_BAND_HZ[0]) & (f < min(REFINE_BAND_HZ[1], 0.45 * rate_hz))
    p = p[:, band]
    # a frame "starts" at its window's start: the change is at the first frame whose window
    # reaches into the speech, i.e. window start == onset
    starts = t - REFINE_WIN_S / 2
    i0 = int(np.searchsorted(starts, t_est - params.refine_range_s))
    i1 = int(np.searchsorted(starts, t_est + params.refine_range_s))
    ip = int(np.searchsorted(starts, starts[i0] - params.refine_pre_s)) if i0 < len(t) else i0
    ie = int(np.searchsorted(starts, t_est + params.refine_range_s + params.refine_post_s))
    if i0 - ip < 10 or i1 <= i0 or ie <= i1:
        return t_est
    background = np.median(p[ip:i0], axis=0) / np.log(2.0) + 1e-300
    g = np.minimum(p[i0:ie] / background, params.refine_cap)
    tail = np.cumsum(g[::-1], axis=0)[::-1]            # tail[k] = sum of g[k:]
    m = (len(g) - np.arange(i1 - i0))[:, None]
    mean = tail[: i1 - i0] / m
    xi = np.maximum(mean - 1.0, 0.0)
    gain = (m * (mean * xi / (1.0 + xi) - np.log1p(xi))).sum(axis=1)
    return float(starts[i0 + int(np.argmax(gain))] + REFINE_WIN_S / 2)


def _voiced_start(x: np.ndarray, rate_hz: int, t_voicing: float, lag0: int,
                  model: NoiseModel, params: VoiceKeyParams) -> float:
    """Where voicing begins (s), tracking the pitch back from ``t_voicing``.

    On the noise-whitened signal band-limited to ``track_band_hz``, windows of
    ``track_win_s`` step back by ``track_hop_s`` while their normalised correlation at a lag
    within ``track_lag_tol`` of the previous one (starting at ``lag0`` samples) stays >=
    ``track_min_corr`` (``track_gap`` misses allowed). Returns the end of the earliest such
    window, or ``t_voicing``. Breaths and footsteps are aperiodic and stop the tracking.
    """
    win = int(round(params.track_win_s * rate_hz))
    hop = max(1, int(round(params.track_hop_s * rate_hz)))
    max_lag = int(lag0 * (1 + params.track_lag_tol) ** 4) + 2
    k_end = int(round(t_voicing * rate_hz))
    c0 = max(0, k_end - int((params.max_backoff_s + 0.1) * rate_hz))
    c1 = min(len(x), k_end + max_lag + win + 1)
    pad = min(c0, 4 * win)
    sos = butter(4, params.track_band_hz, btype="bandpass", fs=rate_hz, output="sos")
    y = sosfiltfilt(sos, lfilter(model.whitener, [1.0], x[c0 - pad: c1]))[pad:]
    k = k_end - c0 - win                      # window start, in y
    k_min = max(0, k_end - c0 - int(params.max_backoff_s * rate_hz))
    lag, earliest, gap = float(lag0), None, 0
    while k - hop >= k_min:
        k -= hop
        lo = max(1, int(lag * (1 - params.track_lag_tol)))
        hi = int(lag * (1 + params.track_lag_tol)) + 1
        if k + hi + win > len(y):
            break
        seg = y[k: k + win]
        shifted = np.lib.stride_tricks.sliding_window_view(y[k + lo: k + hi + win], win)
        energy = np.einsum("ij,ij->i", shifted, shifted)
        corr = shifted @ seg / np.sqrt(energy * (seg @ seg) + 1e-300)
        i = int(np.argmax(corr))
        if corr[i] >= params.track_min_corr:
            earliest, gap = k, 0
            lag = float(np.clip(lo + i, rate_hz / PITCH_RANGE_HZ[1], rate_hz / PITCH_RANGE_HZ[0]))
        else:
            gap += 1
            if gap > params.track_gap:
                break
    return t_voicing if earliest is None else (c0 + earliest + win) / rate_hz


def _fine_frames(seconds: float) -> int:
    """``seconds`` as a whole number (>= 1) of fine frames (``FINE_HOP_S`` apart)."""
    return max(1, int(round(seconds / FINE_HOP_S)))


def _median_after(seg: np.ndarray, n: int) -> np.ndarray:
    """Per frame and band, the median of ``seg`` over the ``n`` frames from that frame on."""
    return median_filter(seg, size=(n, 1), origin=(-(n // 2), 0), mode="nearest")


def _band_rises(seg: np.ndarray, pre: int, post: int) -> np.ndarray:
    """Per frame k >= pre + 2 of ``seg`` (band z-scores, shape (n_frames, n_bands)) and band:
    the median of the ``post`` frames from k on minus the median of the ``pre`` frames that
    end two frames before k. Rows before ``pre + 2`` are not meaningful."""
    before = median_filter(seg, size=(pre, 1), origin=(pre // 2 - 1, 0), mode="nearest")
    rise = np.full(seg.shape, np.nan)
    rise[2:] = _median_after(seg, post)[2:] - before[:-2]
    return rise


def _word_edge(z: np.ndarray, k_from: int, k_to: int,
               params: VoiceKeyParams) -> tuple[int, int] | None:
    """(frame, band that rose most) of the rise in (k_from, k_to] that starts the word, or None.

    A frame is a rise when, from the median of the ``edge_pre_s`` before it to the median
    of the ``edge_post_s`` after, ``edge_bands`` bands rise by >= ``edge_z`` or the bands'
    rises (each clipped to 0-10) sum to >= ``edge_sum``. Of the rises, the earliest one at
    least ``edge_keep`` times as strong (summed rise) as the strongest is returned: a
    footstep or the start of a breath is a weaker rise than the word that follows it.
    """
    post, pre = _fine_frames(params.edge_post_s), _fine_frames(params.edge_pre_s)
    a = max(0, k_from + 1 - pre - 2)
    b = min(len(z), k_to + post + 1)
    if b - a < pre + post + 2 or params.edge_z is None:
        return None
    ks = np.arange(max(k_from + 1, a + pre + 2), min(k_to, b - post) + 1)
    if ks.size == 0:
        return None
    rise = _band_rises(z[a:b], pre, post)[ks - a]
    strength = np.clip(rise, 0.0, 10.0).sum(axis=1)
    is_rise = np.count_nonzero(rise >= params.edge_z, axis=1) >= params.edge_bands
    if params.edge_sum is not None:
        is_rise |= strength >= params.edge_sum
    if not is_rise.any():
        return None
    keep = is_rise & (strength >= params.edge_keep * strength[is_rise].max())
    i = int(np.flatnonzero(keep)[0])
    return int(ks[i]), int(np.argmax(rise[i]))


def _burst_before(z: np.ndarray, k_onset: int, params: VoiceKeyParams) -> tuple[int, int] | None:
    """(frame, band that rose most) of the earliest burst in the ``burst_gap_s`` before
    frame ``k_onset`` that starts the word, or None.

    An aspirated affricate or a plosive burst (Korean /tɕʰ/, /p͈/, a released /k/, /g/) is
    followed by a weak stretch (aspiration, closure) before the vowel, which ends the
    band-by-band back-off. A burst is an abrupt rise, from the median of the ``edge_pre_s``
    before to that of the ``edge_post_s`` after, of ``burst_bands`` bands by >= ``burst_z``
    band spreads, whose rising bands then hold a median >= ``burst_hold_z`` over
    ``burst_hold_s``: an inhalation swells slowly (no abrupt rise) and a footstep's click
    is over within a few ms (no hold). Between the burst and the onset the rising bands'
    mean over ``burst_gap_win_s`` stays >= ``burst_gap_z``: aspiration or frication carries
    on through the gap, whereas after a belt slap the bands fall back to the background.
    ``z``: raw band z-scores, shape (n_frames, n_bands).
    """
    if params.burst_gap_s is None:
        return None
    post, pre = _fine_frames(params.edge_post_s), _fine_frames(params.edge_pre_s)
    hold = _fine_frames(params.burst_hold_s)
    k_to = k_onset - _fine_frames(params.burst_min_s)
    k_from = max(pre + 2, k_onset - int(round(params.burst_gap_s / FINE_HOP_S)))
    if k_to <= k_from or k_onset + post >= len(z):
        return None
    a, b = k_from - pre - 2, min(len(z), k_to + hold + 1)
    seg = z[a:b]
    held = _median_after(seg, hold)
    ks = np.arange(k_from, k_to + 1)
    rise = _band_rises(seg, pre, post)[ks - a]
    ok = (rise >= params.burst_z) & (held[ks - a] >= params.burst_hold_z)
    win = _fine_frames(params.burst_gap_win_s)
    for i in np.flatnonzero(np.count_nonzero(ok, axis=1) >= params.burst_bands):
        k = int(ks[i])
        gap = z[k + hold: k_onset, ok[i]].mean(axis=1)
        if len(gap) >= win and uniform_filter1d(gap, win, mode="nearest").min() < params.burst_gap_z:
            continue
        return k, int(np.argmax(rise[i]))
    return None


def _voicing_index(run: np.ndarray, score: np.ndarray, threshold: float,
                   params: VoiceKeyParams) -> int | None:
    """First coarse frame of the participant's voicing, or None.

    Voiced stretches are runs of frames whose voiced-run score reaches ``threshold``. The
    participant's is the first whose peak reaches ``voiced_min_peak`` x ``threshold`` and
    ``voiced_rel_peak`` x the strongest stretch's peak: a voice far from the microphone (the
    experimenter) is much weaker than the talker's own, also when it comes first.
    """
    above = run >= threshold
    if not above.any():
        return None
    edges = np.flatnonzero(np.diff(np.r_[0, above.astype(np.int8), 0]))
    peaks = np.maximum.reduceat(run, edges[::2]) if len(edges) else np.zeros(0)
    need = max(params.voiced_min_peak * threshold, params.voiced_rel_peak * float(peaks.max()))
    for a, b, peak in zip(edges[::2], edges[1::2], peaks):
        if peak >= need:
            ok = np.flatnonzero(score[a:b] >= threshold)
            if ok.size:
                return int(a + ok[0])
    return None


def detect_onset(samples: np.ndarray, rate_hz: int, noise: np.ndarray | NoiseModel | None = None,
                 params: VoiceKeyParams | None = None) -> OnsetResult:
    """Speech onset in ``samples`` (mono, shape (n,), at ``rate_hz``), seconds from sample 0.

    ``noise``: a noise-only recording of the same walking condition (shape (m,), same rate)
    or the :class:`NoiseModel` from :func:`calibrate` on it (calibrate once per block when
    detecting many trials). Without it the first 200 ms of ``samples`` are taken as the
    noise, which misses footsteps and breaths outside them: always pass a calibration when
    the participant walks. ``params`` default to the model's own.
    """
    x = _check_audio(samples, rate_hz, "detect_onset: samples", 0.05)
    if params is None:
        params = noise.params if isinstance(noise, NoiseModel) else VoiceKeyParams()
    model = _noise_model(x, rate_hz, noise, params)

    t_c, score, lag, run = _coarse(x, rate_hz, model.coarse_psd, model.voice_power_ref, params)
    v_thr = model.voiced_threshold()
    t_f, bands, _ = _band_levels(x, rate_hz, model.fine_psd, params)
    voicing = np.interp(t_f, t_c, score / v_thr) if len(t_c) else np.zeros(len(t_f))
    i_v = _voicing_index(run, score, v_thr, params)

    def z_scores(background):
        return _z_scores(bands, background, model.band_scale_db, params)

    def evidence_of(z):
        return np.sort(z, axis=1)[:, -2] if z.shape[1] >= 2 else z.max(axis=1)

    if i_v is None or len(t_f) == 0:
        z = z_scores(model.band_background_db)
        return OnsetResult(None, None, None, 0.0, t_f, evidence_of(z), voicing)
    run_len = max(1, int(round(params.voiced_run_s / COARSE_HOP_S)))
    ratio = float(run[i_v: i_v + run_len].max() / v_thr)
    confidence = float(1.0 - 1.0 / ratio) if ratio > 1.0 else 0.0
    # voicing has reached the end of frame i_v's window
    t_voicing = float(t_c[i_v] + COARSE_WIN_S / 2 - COARSE_HOP_S)
    if params.voiced_backoff:
        lag0 = int(lag[min(i_v + run_len // 2, len(lag) - 1)])
        t_voiced = _voiced_start(x, rate_hz, t_voicing, lag0, model, params)
    else:
        t_voiced = t_voicing
    j = min(int(np.searchsorted(t_f, t_voiced)), len(t_f) - 1)

    # background: a low percentile of each band over the half second before the back-off
    b_lo = max(0, j - int(round(params.background_s[0] / FINE_HOP_S)))
    b_hi = max(0, j - int(round(params.background_s[1] / FINE_HOP_S)))
    if b_hi - b_lo >= int(round(0.15 / FINE_HOP_S)):
        background = np.percentile(bands[b_lo:b_hi], params.background_percentile, axis=0)
    else:
        background = model.band_background_db
    z = z_scores(background)
    lim = max(0, j - int(round(params.max_backoff_s / FINE_HOP_S)))
    starts = []
    for k in range(z.shape[1]):
        s = _backward_cusum(z[:, k], j, lim, params.drift, params.limit)
        if s < j and z[s: j + 1, k].mean() >= params.presence:
            starts.append((s, k))
    starts.sort()
    chosen, band = starts[min(params.bands_needed, len(starts)) - 1] if starts else (j, None)
    # a clear rise between there and the voicing marks the word: what precedes it
    # (a breath, a footstep's ring) is not speech
    raw_z = (bands - background) / model.band_scale_db
    lookback = int(round(params.edge_lookback_s / FINE_HOP_S))
    k_from = max(0, chosen - lookback)
    edge = _word_edge(raw_z, k_from, j - 5, params) if k_from < j - 5 else None
    if edge is not None:
        chosen, band = edge
    burst = _burst_before(raw_z, chosen, params)
    if burst is not None:
        chosen, band = burst
    t_est = float(t_f[chosen] - FINE_WIN_S / 2)
    onset = _refine(x, rate_hz, t_est, params)
    snr = _snr_db(x, rate_hz, onset, t_c, score, i_v, v_thr, model.mean_square)
    return OnsetResult(onset, t_voicing, t_est, confidence, t_f, evidence_of(z), voicing, band, snr)


def _snr_db(x: np.ndarray, rate_hz: int, onset_s: float, t_c: np.ndarray, score: np.ndarray,
            i_v: int, threshold: float, noise_power: float) -> float | None:
    """The word's SNR in dB (see :class:`OnsetResult`): from ``onset_s`` to the end of the
    last coarse frame at or after ``i_v`` whose voiced score reaches ``threshold``, gaps of
    up to SNR_GAP_S allowed. None if the noise power is 0 (a silent calibration)."""
    if noise_power <= 0.0:
        return None
    voiced = np.flatnonzero(score[i_v:] >= threshold) + i_v   # starts at i_v
    gaps = np.flatnonzero(np.diff(t_c[voiced]) > SNR_GAP_S)
    last = voiced[gaps[0]] if gaps.size else voiced[-1]
    a = max(0, int(onset_s * rate_hz))
    b = min(len(x), int((t_c[last] + COARSE_WIN_S / 2) * rate_hz))
    if b - a < int(0.01 * rate_hz):
        return None
    word_power = float(np.mean(x[a:b] ** 2)) - noise_power
    return round(10.0 * np.log10(max(word_power, 1e-3 * noise_power) / noise_power), 1)


# ---------------------------------------------------------------------------- baseline

def threshold_onset(samples: np.ndarray, rate_hz: int, noise: np.ndarray | None = None,
                    threshold: float | None = None, margin: float = 1.3,
                    smooth_s: float = 0.005, fraction_of_peak: float = 0.1) -> float | None:
    """Onset (s from sample 0) by a plain amplitude-threshold voice key, or None.

    The envelope is the rectified signal through a one-pole low-pass with time constant
    ``smooth_s`` (as in a hardware voice key); the onset is the first sample where it
    exceeds the threshold. The threshold is, in order of precedence: ``threshold`` (units
    of ``samples``); ``margin`` x the loudest envelope of the noise-only recording ``noise``
    (just above the calibration's walking noise; the default 1.3 gave this key its best
    95th-percentile error at 10 dB SNR on the benchmark's 'dev' split -- lower margins
    trigger on footsteps and breaths, higher ones miss words); ``fraction_of_peak`` x the
    peak envelope of ``samples``.
    """
    x = _check_audio(samples, rate_hz, "threshold_onset: samples", 0.01)
    a = np.exp(-1.0 / (smooth_s * rate_hz))

    def envelope(v):
        return lfilter([1 - a], [1, -a], np.abs(v))
    env = envelope(x)
    if threshold is None:
        if noise is not None:
            n = _check_audio(noise, rate_hz, "threshold_onset: noise", 0.2)
            settle = int(5 * smooth_s * rate_hz)
            threshold = margin * float(envelope(n)[settle:].max())
        else:
            threshold = fraction_of_peak * float(env.max())
    hit = np.flatnonzero(env > threshold)
    return float(hit[0] / rate_hz) if hit.size else None


# ---------------------------------------------------------------------------- online

class OnsetTracker:
    """Online voice key: feed audio chunks as they arrive; the onset appears once confirmed.

    ``noise``: the block's :class:`NoiseModel` (or a noise-only recording). Every
    ``check_every_s`` of new audio the newest ``COARSE_WIN_S + voiced_run_s + check`` of
    the buffer is checked for confirmed voicing (cheap); once found, :func:`detect_onset`
    runs on the last ``window_s`` of the buffer and its onset is kept (``onset_s``, seconds
    from the first fed sample). The offline :func:`detect_onset` on the whole saved
    recording stays the authoritative RT.
    """

    def __init__(self, rate_hz: int, noise: np.ndarray | NoiseModel,
                 params: VoiceKeyParams | None = None, check_every_s: float = 0.010,
                 window_s: float = 1.2):
        if not isinstance(noise, NoiseModel):
            noise = calibrate(noise, rate_hz, params or VoiceKeyParams())
        self.rate_hz = int(rate_hz)
        self.model = noise
        self.params = params or noise.params
        self._check = max(1, int(check_every_s * rate_hz))
        self._window = int(window_s * rate_hz)
        self._tail = int((COARSE_WIN_S + self.params.voiced_run_s + 2 * check_every_s
                          + 2 * COARSE_HOP_S) * rate_hz)
        self._chunks: list[np.ndarray] = []
        self._n = 0            # samples fed so far
        self._buffered = 0     # samples held in _chunks
        self._since = 0        # samples since the last check
        self.onset_s: float | None = None
        self.decided_at_s: float | None = None   # audio time (s) when the onset was found

    def feed(self, chunk: np.ndarray) -> float | None:
        """Add ``chunk`` (shape (k,)); returns the onset (s) once found, else None."""
        c = np.asarray(chunk, dtype=np.float64).ravel()
        self._n += c.size
        if self.onset_s is not None or c.size == 0:
            return self.onset_s
        self._chunks.append(c)
        self._buffered += c.size
        self._since += c.size
        while self._buffered - self._chunks[0].size >= self._window:
            self._buffered -= self._chunks.pop(0).size
        if self._since < self._check or self._buffered < int(0.1 * self.rate_hz):
            return None
        self._since = 0
        buf = np.concatenate(self._chunks)[-self._window:]
        self._chunks = [buf]
        self._buffered = len(buf)
        tail = buf[-self._tail:]
        _, score, _, run = _coarse(tail, self.rate_hz, self.model.coarse_psd,
                                self.model.voice_power_ref, self.params)
        if _voicing_index(run, score, self.model.voiced_threshold(), self.params) is None:
            return None
        res = detect_onset(buf, self.rate_hz, self.model, self.params)
        if res.onset_s is not None:
            self.onset_s = (self._n - len(buf)) / self.rate_hz + res.onset_s
            self.decided_at_s = self._n / self.rate_hz
        return self.onset_s
