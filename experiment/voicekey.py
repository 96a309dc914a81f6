"""Speech-onset detection (voice key) for vocal responses recorded while walking.

Pure numpy/scipy, no PsychoPy. Two detectors:

* :func:`detect_onset` -- the stroop-walk voice key. Calibrated on a noise-only recording of
  the same walking condition (:func:`calibrate`), it

  1. confirms speech by *voicing*: a run of frames (>= ``voiced_run_s``) whose
     noise-subtracted spectrum below 2.5 kHz is periodic at a speaking pitch (60-400 Hz)
     and louder than the noise there. Footsteps, breathing and the treadmill's hum (removed
     by spectral subtraction) are not voiced, so they do not start a response;
  2. backs off from the start of voicing to the true start of the word: while any of five
     frequency bands (80 Hz-8 kHz) stays above the calibrated noise level -- each band
     judged against that band's own noise distribution, so the weak pre-voicing, plosive
     burst or fricative that precedes the vowel is found in the band where the noise
     leaves room for it -- the onset moves earlier (at most ``max_backoff_s``);
  3. refines that frame-level onset to a sample with a change-point (two-variance AIC)
     picker on the noise-whitened signal band-limited to the winning band.

* :func:`threshold_onset` -- a plain amplitude-threshold voice key (rectified, smoothed
  amplitude crossing a fixed level just above the loudest calibration noise), the baseline
  that classic hardware and software voice keys implement.

All times are seconds from the first sample of the recording; sample rates in Hz; samples
are float arrays of shape (n,) (any scale: the detectors are scale-invariant given the
calibration recorded through the same gain).

Online use: :class:`OnsetTracker` accepts audio chunk by chunk and reports the onset as
soon as voicing has been confirmed (typically 40-60 ms after the onset), so a session may
end a trial early. The authoritative RT is :func:`detect_onset` on the whole saved recording.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter, sosfiltfilt, butter
from scipy.linalg import solve_toeplitz

# Fine analysis: short frames for where the word starts.
FINE_WIN_S = 0.008
FINE_HOP_S = 0.001
# Coarse analysis: long enough frames to see the pitch period.
COARSE_WIN_S = 0.040
COARSE_HOP_S = 0.004
BANDS_HZ = ((80.0, 300.0), (300.0, 800.0), (800.0, 2000.0), (2000.0, 4500.0), (4500.0, 8000.0))
VOICE_BAND_HZ = (300.0, 3000.0)
PITCH_RANGE_HZ = (70.0, 400.0)


class VoiceKeyError(ValueError):
    """Unusable input (too short, wrong shape or rate); the message says what to fix."""


@dataclass(frozen=True)
class VoiceKeyParams:
    """Tuning of :func:`detect_onset` (tuned on the benchmark's 'dev' split only).

    Durations in seconds. Band evidence: ``band_quantile`` of the calibration noise's own
    smoothed band levels plus ``band_margin_db`` is the level a band must exceed.
    Voicing: harmonicity above ``harmonicity_floor`` (0-1) counts as periodic; a voiced run
    is ``voiced_run_s`` long with ``voiced_fill`` of its frames at a periodic power of at
    least ``voiced_min_power`` x the noise's mean voice-band power and at least
    ``voiced_noise_factor`` x the largest such run value in the calibration noise.
    """
    smooth_s: float = 0.004
    z_clip: tuple[float, float] = (-1.0, 4.0)
    cusum_drift: float = 0.5
    cusum_limit: float = 10.0
    harmonicity_floor: float = 0.3
    voiced_min_power: float = 1.0
    voiced_noise_factor: float = 3.0
    voiced_run_s: float = 0.040
    voiced_fill: float = 0.8
    max_backoff_s: float = 0.300
    max_gap_s: float = 0.010
    refine_s: float = 0.012
    lpc_order: int = 16


@dataclass(frozen=True)
class NoiseModel:
    """What :func:`calibrate` learnt from a noise-only recording, at one sample rate.

    ``fine_psd``/``coarse_psd``: mean power per STFT bin (shapes (n_fine_bins,),
    (n_coarse_bins,)); ``band_centre_db``/``band_high_db``: per band, the median and the
    ``band_quantile`` of the smoothed band level in dB re the band's mean noise power,
    shape (n_bands,); ``voice_power_ref``: median voice-band power of the noise (the unit of
    the voiced score); ``voiced_noise_max``: the largest voiced-run score in the noise;
    ``whitener``: LPC inverse filter of the noise, shape (lpc_order + 1,).
    """
    rate_hz: int
    duration_s: float
    fine_psd: np.ndarray
    coarse_psd: np.ndarray
    band_centre_db: np.ndarray
    band_scale_db: np.ndarray
    voice_power_ref: float
    voiced_noise_max: float
    whitener: np.ndarray
    params: VoiceKeyParams = field(default_factory=VoiceKeyParams)

    def voiced_threshold(self) -> float:
        """Voiced-run score (units of noise voice-band power) that confirms speech."""
        p = self.params
        return max(p.voiced_min_power, p.voiced_noise_factor * self.voiced_noise_max)


@dataclass(frozen=True)
class OnsetResult:
    """Result of :func:`detect_onset`.

    ``onset_s``: speech onset in seconds from sample 0, or None (no speech found).
    ``voicing_s``: start of the confirmed voiced run (s) or None. ``confidence``: 0-1, how
    far the voiced run exceeds the voicing threshold (0.5 at 2x, 0.9 at 10x).
    ``times_s`` (shape (n_frames,), frame centres) with ``evidence`` (band level above noise,
    1 = the calibrated noise threshold, max over bands) and ``voicing`` (voiced score
    divided by the voicing threshold, interpolated to the same frames): traces for plotting.
    ``band``: index into ``BANDS_HZ`` that carried the back-off (None if no onset).
    """
    onset_s: float | None
    voicing_s: float | None
    confidence: float
    times_s: np.ndarray
    evidence: np.ndarray
    voicing: np.ndarray
    band: int | None = None


# ---------------------------------------------------------------------------- features

def _check_audio(samples, rate_hz, what: str, min_s: float) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise VoiceKeyError(f"{what}: expected a mono array of shape (n,), got shape {x.shape}; "
                            "pass one channel")
    if int(rate_hz) != rate_hz or rate_hz < 16000:
        raise VoiceKeyError(f"{what}: rate_hz={rate_hz!r}; record at 16000 Hz or more")
    if len(x) < min_s * rate_hz:
        raise VoiceKeyError(f"{what}: {len(x) / rate_hz:.3f} s of audio; need at least {min_s} s")
    if not np.all(np.isfinite(x)):
        raise VoiceKeyError(f"{what}: contains NaN or infinite samples")
    return x


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Frames of ``x`` (shape (n_frames, win)); frame i covers samples [i*hop, i*hop+win)."""
    if len(x) < win:
        return np.zeros((0, win))
    n = 1 + (len(x) - win) // hop
    return np.lib.stride_tricks.as_strided(x, shape=(n, win),
                                           strides=(x.strides[0] * hop, x.strides[0]))


def _power(x: np.ndarray, rate_hz: int, win_s: float, hop_s: float):
    """(power (n_frames, n_bins), freqs_hz (n_bins,), frame centre times s (n_frames,))."""
    win = int(round(win_s * rate_hz))
    hop = max(1, int(round(hop_s * rate_hz)))
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    w = np.hanning(win)
    fr = _frames(x, win, hop)
    spec = np.fft.rfft(fr * w, nfft, axis=1)
    p = spec.real ** 2 + spec.imag ** 2
    centres = (np.arange(len(fr)) * hop + win / 2) / rate_hz
    return p, np.fft.rfftfreq(nfft, 1.0 / rate_hz), centres


def _moving_mean(a: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    if n <= 1:
        return a
    k = np.ones(n) / n
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), axis, a)


def _band_levels_db(p: np.ndarray, freqs: np.ndarray, psd: np.ndarray, smooth: int) -> np.ndarray:
    """Band level in dB re the noise's mean band power, shape (n_frames, n_bands)."""
    cols = []
    for lo, hi in BANDS_HZ:
        m = (freqs >= lo) & (freqs < hi)
        if not m.any():
            cols.append(np.full(len(p), 0.0))
            continue
        cols.append(p[:, m].sum(axis=1) / (psd[m].sum() + 1e-300))
    lev = np.stack(cols, axis=1) if cols else np.zeros((len(p), 0))
    lev = _moving_mean(lev, smooth, axis=0)
    return 10 * np.log10(lev + 1e-12)


def _periodicity(p: np.ndarray, freqs: np.ndarray, psd: np.ndarray, rate_hz: int, win: int):
    """(harmonicity 0-1, voice-band power in units of the noise's), each shape (n_frames,).

    Harmonicity: peak of the normalised autocorrelation (corrected for the window) at lags of
    a speaking pitch (PITCH_RANGE_HZ), computed from the noise-whitened power spectrum
    (power / mean noise power per bin) in VOICE_BAND_HZ: stationary noise, the treadmill's
    tones included, becomes white and so uncorrelated at those lags.
    """
    band = (freqs >= VOICE_BAND_HZ[0]) & (freqs < VOICE_BAND_HZ[1])
    white = np.where(band, p / (psd + 1e-300), 0.0)
    nfft = 2 * (p.shape[1] - 1)
    r = np.fft.irfft(white, nfft, axis=1)
    wr = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(win), nfft)) ** 2, nfft)
    lo = int(rate_hz / PITCH_RANGE_HZ[1])
    hi = min(int(rate_hz / PITCH_RANGE_HZ[0]), win // 2)
    norm = r[:, lo:hi] / (r[:, :1] + 1e-300) / (wr[lo:hi] / wr[0])
    h = np.clip(norm.max(axis=1), 0.0, 1.0)
    return h, r[:, 0] / max(int(band.sum()), 1)


def _voiced_score(h: np.ndarray, power: np.ndarray, params: "VoiceKeyParams") -> np.ndarray:
    """Periodic power per frame in units of the mean noise power of the voice band.

    ``power`` x the part of the harmonicity above ``harmonicity_floor`` (what aperiodic sounds
    -- breaths, footsteps, belt noise -- reach by chance), rescaled to 0-1.
    """
    b = params.harmonicity_floor
    return power * np.clip((h - b) / (1.0 - b), 0.0, 1.0)


def _run_score(v: np.ndarray, run: int, fill: float) -> np.ndarray:
    """For each start i, the value that ``fill`` of v[i:i+run] reach; shape (n - run + 1,)."""
    if len(v) < run:
        return np.zeros(0)
    win = np.lib.stride_tricks.sliding_window_view(v, run)
    k = min(run - 1, max(0, run - int(np.ceil(fill * run))))
    return np.partition(win, k, axis=1)[:, k]


def _whitener(x: np.ndarray, order: int) -> np.ndarray:
    """LPC inverse filter [1, -a1, ..., -ap] of ``x`` (whitens the noise)."""
    r = np.correlate(x, x, mode="full")[len(x) - 1: len(x) + order] if len(x) < 20000 else \
        np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[: order + 1]
    r = r.copy()
    r[0] *= 1.0 + 1e-6
    a = solve_toeplitz(r[:order], r[1: order + 1])
    return np.concatenate([[1.0], -a])


# ---------------------------------------------------------------------------- calibration

def _coarse_features(x, rate_hz, coarse_psd):
    p, f, t = _power(x, rate_hz, COARSE_WIN_S, COARSE_HOP_S)
    h, power = _periodicity(p, f, coarse_psd, rate_hz, int(round(COARSE_WIN_S * rate_hz)))
    return t, h, power


def calibrate(noise: np.ndarray, rate_hz: int, params: VoiceKeyParams = VoiceKeyParams()) -> NoiseModel:
    """A :class:`NoiseModel` from a noise-only recording (>= 1 s; 3-5 s of walking is best).

    The recording should contain what the trials will contain apart from speech: treadmill,
    footsteps, breathing, through the same microphone and gain.
    """
    x = _check_audio(noise, rate_hz, "calibrate: noise", 1.0)
    p_f, f_f, _ = _power(x, rate_hz, FINE_WIN_S, FINE_HOP_S)
    fine_psd = p_f.mean(axis=0)
    smooth = max(1, int(round(params.smooth_s / FINE_HOP_S)))
    lev = _band_levels_db(p_f, f_f, fine_psd, smooth)
    p_c, _, _ = _power(x, rate_hz, COARSE_WIN_S, COARSE_HOP_S)
    coarse_psd = p_c.mean(axis=0)
    _, h, power = _coarse_features(x, rate_hz, coarse_psd)
    ref = float(np.median(power))
    run = _run_score(_voiced_score(h, power / ref, params),
                     max(1, int(round(params.voiced_run_s / COARSE_HOP_S))), params.voiced_fill)
    return NoiseModel(
        rate_hz=int(rate_hz), duration_s=len(x) / rate_hz,
        fine_psd=fine_psd, coarse_psd=coarse_psd,
        band_centre_db=np.median(lev, axis=0),
        band_scale_db=np.maximum(np.diff(np.quantile(lev, [0.16, 0.84], axis=0), axis=0)[0] / 2, 0.1),
        voice_power_ref=ref,
        voiced_noise_max=float(run.max()) if run.size else 0.0,
        whitener=_whitener(x, params.lpc_order),
        params=params,
    )


# ---------------------------------------------------------------------------- detection

def _noise_model(samples, rate_hz, noise, params) -> NoiseModel:
    if isinstance(noise, NoiseModel):
        if noise.rate_hz != rate_hz:
            raise VoiceKeyError(f"detect_onset: noise model is for {noise.rate_hz} Hz, audio is "
                                f"{rate_hz} Hz; calibrate at the recording's rate")
        return noise
    if noise is None:
        # No calibration: the first 200 ms of a trial (before any plausible speech onset).
        lead = samples[: int(0.2 * rate_hz)]
        return calibrate(np.tile(lead, 5), rate_hz, params)
    return calibrate(noise, rate_hz, params)


def _backward_cusum(e: np.ndarray, j: int, lim: int, drift: float, limit: float) -> int:
    """Earliest index of the speech run that contains ``j``, scanning ``e`` backward to ``lim``.

    N accumulates (drift - e) going back in time and restarts at 0 whenever the evidence
    outweighs the drift; once N exceeds ``limit`` the frames since its last restart are
    noise, and the run starts right after them.
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


def _aic_pick(y: np.ndarray) -> int:
    """Index k minimising k log var(y[:k]) + (n-k) log var(y[k:]) (a variance change point)."""
    n = len(y)
    if n < 8:
        return n // 2
    c1 = np.cumsum(y ** 2)
    k = np.arange(2, n - 2)
    v1 = c1[k - 1] / k
    v2 = (c1[-1] - c1[k - 1]) / (n - k)
    aic = k * np.log(v1 + 1e-300) + (n - k) * np.log(v2 + 1e-300)
    return int(k[np.argmin(aic)])


def detect_onset(samples: np.ndarray, rate_hz: int, noise: np.ndarray | NoiseModel | None = None,
                 params: VoiceKeyParams | None = None) -> OnsetResult:
    """Speech onset in ``samples`` (mono, shape (n,), at ``rate_hz``), seconds from sample 0.

    ``noise``: a noise-only recording of the same walking condition (shape (m,), same rate)
    or the :class:`NoiseModel` from :func:`calibrate` on it (calibrate once per block when
    detecting many trials). Without it the first 200 ms of ``samples`` are taken as noise,
    which misses footsteps and breaths that fall outside them: always pass a calibration
    when the participant walks. ``params`` defaults to the model's own.
    """
    x = _check_audio(samples, rate_hz, "detect_onset: samples", 0.05)
    if params is None:
        params = noise.params if isinstance(noise, NoiseModel) else VoiceKeyParams()
    model = _noise_model(x, rate_hz, noise, params)

    # coarse: voicing
    t_c, h, power = _coarse_features(x, rate_hz, model.coarse_psd)
    v_thr = model.voiced_threshold()
    score = _voiced_score(h, power / model.voice_power_ref, params)
    run_len = max(1, int(round(params.voiced_run_s / COARSE_HOP_S)))
    run = _run_score(score, run_len, params.voiced_fill)
    # fine: band evidence
    p_f, f_f, t_f = _power(x, rate_hz, FINE_WIN_S, FINE_HOP_S)
    smooth = max(1, int(round(params.smooth_s / FINE_HOP_S)))
    lev = _band_levels_db(p_f, f_f, model.fine_psd, smooth)
    z = (lev - model.band_centre_db) / model.band_scale_db
    evidence = np.clip(z, *params.z_clip).mean(axis=1) if z.size else np.zeros(len(t_f))
    voicing = np.interp(t_f, t_c, score / v_thr) if len(t_c) else np.zeros(len(t_f))

    def result(onset=None, voicing_s=None, conf=0.0, band=None):
        return OnsetResult(onset, voicing_s, conf, t_f, evidence, voicing, band)

    ok = np.flatnonzero((run >= v_thr) & (score[: len(run)] >= v_thr))
    if ok.size == 0:
        return result()
    i_v = int(ok[0])
    # voicing has reached the end of frame i_v's window
    t_voicing = float(t_c[i_v] + COARSE_WIN_S / 2 - COARSE_HOP_S)
    ratio = float(run[i_v: i_v + run_len].max() / v_thr)
    conf = float(1.0 - 1.0 / ratio) if ratio > 1 else 0.0

    # back-off: a backward CUSUM for "noise again" from the first fine frame ending at t_voicing
    j = int(np.searchsorted(t_f, t_voicing - FINE_WIN_S / 2))
    j = min(max(j, 0), len(t_f) - 1)
    lim = max(0, j - int(round(params.max_backoff_s / FINE_HOP_S)))
    start = _backward_cusum(evidence, j, lim, params.cusum_drift, params.cusum_limit)
    band = int(np.argmax(z[start])) if z.size else 0
    t0 = t_f[start] - FINE_WIN_S / 2       # the frame's window starts half a window earlier
    # refine: variance change point on the whitened signal in the band that carried the onset
    lo_s = max(0, int((t0 - params.refine_s) * rate_hz))
    hi_s = min(len(x), int((t0 + FINE_WIN_S + params.refine_s) * rate_hz))
    pad = min(lo_s, 2048)
    blo, bhi = BANDS_HZ[band]
    sos = butter(4, [blo, min(bhi, 0.45 * rate_hz)], btype="bandpass", fs=rate_hz, output="sos")
    white = lfilter(model.whitener, [1.0], x[lo_s - pad: hi_s])
    yb = sosfiltfilt(sos, white)[pad:]
    onset = (lo_s + _aic_pick(yb)) / rate_hz
    return result(onset, t_voicing, conf, band)


# ---------------------------------------------------------------------------- baseline

def threshold_onset(samples: np.ndarray, rate_hz: int, noise: np.ndarray | None = None,
                    threshold: float | None = None, margin: float = 1.0,
                    smooth_s: float = 0.005, fraction_of_peak: float = 0.1) -> float | None:
    """Onset (s from sample 0) by a plain amplitude-threshold voice key, or None.

    The envelope is the rectified signal smoothed by a ``smooth_s`` one-pole low-pass (as in
    a hardware voice key); the onset is the first sample where it crosses the threshold,
    minus nothing (no back-off). The threshold is, in order of precedence: ``threshold``
    (same units as ``samples``); ``margin`` x the loudest envelope of the noise-only
    recording ``noise`` (as sensitive as possible without triggering on walking noise);
    ``fraction_of_peak`` x the peak envelope of ``samples``.
    """
    x = _check_audio(samples, rate_hz, "threshold_onset: samples", 0.01)
    a = np.exp(-1.0 / (smooth_s * rate_hz))

    def envelope(v):
        return lfilter([1 - a], [1, -a], np.abs(v))
    env = envelope(x)
    if threshold is None:
        if noise is not None:
            n = _check_audio(noise, rate_hz, "threshold_onset: noise", 0.2)
            threshold = margin * float(envelope(n)[int(smooth_s * rate_hz * 5):].max())
        else:
            threshold = fraction_of_peak * float(env.max())
    hit = np.flatnonzero(env > threshold)
    return float(hit[0] / rate_hz) if hit.size else None


# ---------------------------------------------------------------------------- online

class OnsetTracker:
    """Online voice key: feed audio chunks as they arrive; the onset appears once confirmed.

    ``noise``: the block's :class:`NoiseModel` (or a noise-only recording). Every
    ``check_every_s`` of new audio the last ``window_s`` of the buffer is analysed with
    :func:`detect_onset`; the first onset found is kept (``onset_s``, seconds from the first
    fed sample). Cost per check is that of a ``window_s`` call (a few ms), independent of
    the trial length. The offline :func:`detect_onset` on the saved recording stays the
    authoritative RT.
    """

    def __init__(self, rate_hz: int, noise: np.ndarray | NoiseModel,
                 params: VoiceKeyParams | None = None, check_every_s: float = 0.010,
                 window_s: float = 0.6):
        if not isinstance(noise, NoiseModel):
            noise = calibrate(noise, rate_hz, params or VoiceKeyParams())
        self.rate_hz = int(rate_hz)
        self.model = noise
        self.params = params or noise.params
        self._check = max(1, int(check_every_s * rate_hz))
        self._window = int(window_s * rate_hz)
        self._chunks: list[np.ndarray] = []
        self._n = 0            # samples fed so far
        self._buffered = 0     # samples held in _chunks
        self._since = 0        # samples since the last check
        self.onset_s: float | None = None

    def feed(self, chunk: np.ndarray) -> float | None:
        """Add ``chunk`` (shape (k,)); returns the onset (s) once found, else None."""
        c = np.asarray(chunk, dtype=np.float64).ravel()
        if self.onset_s is not None or c.size == 0:
            self._n += c.size
            return self.onset_s
        self._chunks.append(c)
        self._n += c.size
        self._buffered += c.size
        self._since += c.size
        while self._buffered - self._chunks[0].size >= self._window:
            self._buffered -= self._chunks.pop(0).size
        if self._since >= self._check and self._buffered >= int(0.1 * self.rate_hz):
            self._since = 0
            buf = np.concatenate(self._chunks)[-self._window:]
            res = detect_onset(buf, self.rate_hz, self.model, self.params)
            if res.onset_s is not None:
                self.onset_s = (self._n - len(buf)) / self.rate_hz + res.onset_s
        return self.onset_s
