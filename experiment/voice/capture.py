"""Continuous microphone recording with every sample placed on PsychoPy's clock.

No PsychoPy import: the caller passes the clock (``psychopy.core.getTime`` in a session).

How audio time becomes PsychoPy time
------------------------------------
* A sounddevice (PortAudio) ``InputStream`` runs for the whole session; its callback copies
  each block into a ring buffer and stores the block's first sample index together with
  ``time_info.inputBufferAdcTime``: the stream clock's estimate of when the block's first
  sample was captured at the converter.
* The stream clock (``stream.time``, the same clock as the callback times; wall-clock time
  under ALSA/PulseAudio) is tied to the caller's clock by bracketing: ``c0 = clock();
  s = stream.time; c1 = clock()``, offset = s - (c0 + c1)/2, the narrowest of
  ``OFFSET_READS`` tries. It is measured at start and again whenever audio is read and the
  last measurement is older than ``offset_every_s``; between measurements the offset is
  interpolated, and the history gives the drift between the two clocks (ppm).
* The sample count is NOT used as a clock: a sound card's sample clock runs off the system
  clock by 10-100 ppm, and PulseAudio's null sink here by up to ~600 ppm, i.e. up to 1.5 ms
  over a 2.5 s trial. A sample's time is instead read off a straight line fitted to the
  block timestamps around it (``FIT_MARGIN_S`` either side of the segment), which averages
  out the timestamps' jitter (~0.7 ms per block) and follows the real sample rate.

Times are seconds; sample indices count frames since the stream started.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

OFFSET_READS = 15          # bracketing reads per offset measurement (the narrowest wins)
FIT_MARGIN_S = 0.5         # block timestamps used either side of a segment for its time fit
SCALE = {"int16": 32768.0, "int32": 2147483648.0, "float32": 1.0}


class AudioCaptureError(RuntimeError):
    """The microphone cannot be recorded or read as asked (one-line message saying what to do)."""


@dataclass(frozen=True)
class ClockOffset:
    """One measurement of stream clock minus caller clock.

    ``at_s``: caller-clock time of the measurement; ``offset_s``: stream time minus caller
    time (s); ``uncertainty_s``: half the width of the bracketing window (s).
    """
    at_s: float
    offset_s: float
    uncertainty_s: float


@dataclass(frozen=True)
class Segment:
    """Audio between two caller-clock times.

    ``samples``: shape (n,) for one channel or (n, channels), the stream's dtype (raw
    integers for int16/int32 capture; divide by :data:`SCALE` for +-1 floats).
    ``start_s``: caller-clock time of sample 0 -- the requested start rounded to the
    nearest sample, so within half a sample (10 us at 48 kHz) of it.
    ``clock_rate_hz``: samples per caller-clock second around the segment (the fitted local
    rate); sample i is at ``start_s + i / clock_rate_hz``. ``rate_hz``: the nominal rate.
    ``offset_s``: stream clock minus caller clock used for the segment.
    ``fit_sd_ms``: SD of the block timestamps about the fitted line (timestamp jitter).
    ``overflows``: blocks in the segment that the audio driver flagged (input overflow:
    samples may be missing).
    """
    samples: np.ndarray
    rate_hz: int
    start_s: float
    clock_rate_hz: float
    offset_s: float
    fit_sd_ms: float
    n_blocks: int
    overflows: int

    def time_of(self, index: float) -> float:
        """Caller-clock time (s) of sample ``index`` (may be fractional) of this segment."""
        return self.start_s + index / self.clock_rate_hz

    def as_float(self) -> np.ndarray:
        """The samples as float64 in +-1 full scale."""
        return self.samples.astype(np.float64) / SCALE[str(self.samples.dtype)]


def _default_stream_factory(**kwargs):
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise AudioCaptureError(f"cannot load PortAudio ({exc}); install it "
                                "(apt-get install libportaudio2)") from None
    return sd.InputStream(**kwargs)


class AudioRecorder:
    """Records one input device continuously into a ring buffer of ``buffer_s`` seconds.

    ``clock``: the caller's clock in seconds (PsychoPy's ``core.getTime`` in a session).
    ``device``, ``rate_hz``, ``channels``, ``blocksize``, ``latency``, ``dtype``: passed to
    ``sounddevice.InputStream``. ``stream_factory`` replaces ``sounddevice.InputStream``
    (tests). Call :meth:`start` before reading and :meth:`close` at the end.
    """

    def __init__(self, clock: Callable[[], float], device: Any = "default", rate_hz: int = 48000,
                 channels: int = 1, blocksize: int = 256, latency: Any = "low",
                 dtype: str = "int16", buffer_s: float = 120.0, offset_every_s: float = 1.0,
                 stream_factory: Callable[..., Any] | None = None):
        if dtype not in SCALE:
            raise AudioCaptureError(f"audio dtype {dtype!r} is not supported; use one of {sorted(SCALE)}")
        self.clock = clock
        self.device, self.rate_hz, self.channels = device, int(rate_hz), int(channels)
        self.blocksize, self.latency, self.dtype = int(blocksize), latency, dtype
        self.offset_every_s = offset_every_s
        self._factory = stream_factory or _default_stream_factory
        self._cap = int(buffer_s * self.rate_hz)
        self._ring = np.zeros((self._cap, self.channels), dtype=dtype)
        self._bcap = self._cap // 16 + 64            # block metadata slots (blocks >= 16 frames)
        self._bn = np.zeros(self._bcap, dtype=np.int64)
        self._badc = np.zeros(self._bcap, dtype=np.float64)
        self._nblocks = 0
        self._written = 0
        self._overflow_at: list[int] = []            # sample index of each flagged block
        self._lock = threading.Lock()
        self._stream = None
        self.offsets: list[ClockOffset] = []
        self.timestamp_source = "inputBufferAdcTime"
        self.stream_latency_s: float | None = None   # the input latency PortAudio reports (s)

    # ------------------------------------------------------------------ stream
    def start(self, timeout_s: float = 2.0) -> "AudioRecorder":
        """Open and start the stream; AudioCaptureError if no audio arrives within ``timeout_s``."""
        if self._stream is not None:
            return self
        try:
            self._stream = self._factory(device=self.device, samplerate=self.rate_hz,
                                         channels=self.channels, blocksize=self.blocksize,
                                         latency=self.latency, dtype=self.dtype,
                                         callback=self._callback)
            self._stream.start()
        except AudioCaptureError:
            raise
        except Exception as exc:  # PortAudioError, ValueError for a bad device name
            self._stream = None
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise AudioCaptureError(f"cannot open audio input {self.device!r} at {self.rate_hz} Hz: "
                                    f"{msg}; check the microphone and the device name") from None
        deadline = time.monotonic() + timeout_s
        while self._nblocks < 2:
            if time.monotonic() > deadline:
                self.close()
                raise AudioCaptureError(f"audio input {self.device!r} delivered no audio within "
                                        f"{timeout_s} s; check the microphone is connected and not "
                                        "used by another program")
            time.sleep(0.005)
        latency = getattr(self._stream, "latency", None)
        self.stream_latency_s = float(latency) if isinstance(latency, (int, float)) else None
        self.measure_offset()
        return self

    def _callback(self, indata, frames, time_info, status) -> None:
        adc = time_info.inputBufferAdcTime
        if not adc:  # host APIs that do not report it: the callback time minus the buffer
            adc = time_info.currentTime - frames / self.rate_hz
            self.timestamp_source = "currentTime-minus-block"
        with self._lock:
            w = self._written
            i = w % self._cap
            first = min(frames, self._cap - i)
            self._ring[i:i + first] = indata[:first]
            if first < frames:
                self._ring[:frames - first] = indata[first:]
            b = self._nblocks % self._bcap
            self._bn[b] = w
            self._badc[b] = adc
            if status and getattr(status, "input_overflow", False):
                self._overflow_at.append(w)
            self._nblocks += 1
            self._written = w + frames

    def close(self) -> None:
        """Stop and close the stream (idempotent); the buffered audio stays readable."""
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None

    @property
    def running(self) -> bool:
        return self._stream is not None

    @property
    def samples_written(self) -> int:
        """Frames received since the stream started."""
        return self._written

    # ------------------------------------------------------------------ clocks
    def measure_offset(self) -> ClockOffset:
        """Measure stream clock minus caller clock now, store it in :attr:`offsets`, return it."""
        if self._stream is None:
            raise AudioCaptureError("the audio stream is not running; call start() first")
        best = None
        for _ in range(OFFSET_READS):
            c0 = self.clock()
            s = self._stream.time
            c1 = self.clock()
            if best is None or c1 - c0 < best[0]:
                best = (c1 - c0, s - (c0 + c1) / 2, (c0 + c1) / 2)
        m = ClockOffset(at_s=best[2], offset_s=best[1], uncertainty_s=best[0] / 2)
        self.offsets.append(m)
        return m

    def _maybe_measure(self) -> None:
        if self._stream is not None and (not self.offsets or
                                         self.clock() - self.offsets[-1].at_s > self.offset_every_s):
            self.measure_offset()

    def offset_at(self, t_s: float) -> float:
        """Stream clock minus caller clock at caller time ``t_s`` (interpolated, s)."""
        if not self.offsets:
            raise AudioCaptureError("no clock offset measured yet; call start() first")
        at = np.array([o.at_s for o in self.offsets])
        off = np.array([o.offset_s for o in self.offsets])
        return float(np.interp(t_s, at, off))

    def drift_ppm(self) -> float | None:
        """Drift of the stream clock against the caller clock (ppm, slope of the offsets), or None."""
        if len(self.offsets) < 2 or self.offsets[-1].at_s - self.offsets[0].at_s < 1.0:
            return None
        at = np.array([o.at_s for o in self.offsets])
        off = np.array([o.offset_s for o in self.offsets])
        return float(np.polyfit(at - at[0], off - off[0], 1)[0] * 1e6)

    def _blocks(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(first sample index, stream time) of the stored blocks starting in [lo, hi)."""
        with self._lock:
            nb = self._nblocks
            k = min(nb, self._bcap)
            idx = np.arange(nb - k, nb) % self._bcap
            n, adc = self._bn[idx].copy(), self._badc[idx].copy()
        keep = (n >= lo) & (n < hi)
        return n[keep], adc[keep]

    def _fit(self, lo: int, hi: int):
        """Line stream_time = t_ref + (index - n_ref) * spp over blocks near [lo, hi).

        Returns (n_ref, t_ref, seconds per sample, residual SD s, n_blocks).
        """
        margin = int(FIT_MARGIN_S * self.rate_hz)
        n, adc = self._blocks(lo - margin, hi + margin)
        if n.size < 8:  # e.g. right after start: the most recent blocks
            n, adc = self._blocks(self._written - 2 * margin, self._written)
        if n.size == 0:
            raise AudioCaptureError("no audio blocks recorded yet")
        n_ref, t_ref = int(n[0]), float(adc[0])
        x, y = (n - n_ref).astype(np.float64), adc - t_ref
        nominal = 1.0 / self.rate_hz
        if n.size >= 8 and x[-1] - x[0] >= 0.2 * self.rate_hz:
            spp, icpt = np.polyfit(x, y, 1)
            if abs(spp * self.rate_hz - 1.0) > 0.01:  # > 1 %: timestamps unusable for a slope
                spp, icpt = nominal, float(np.median(y - x * nominal))
        else:
            spp, icpt = nominal, float(np.median(y - x * nominal))
        resid = y - (icpt + spp * x)
        keep = np.abs(resid - np.median(resid)) <= max(5 * 1.4826 * np.median(np.abs(resid - np.median(resid))), 2e-4)
        if keep.sum() >= 8 and not keep.all() and spp != nominal:  # refit without outliers
            spp, icpt = np.polyfit(x[keep], y[keep], 1)
            resid = y[keep] - (icpt + spp * x[keep])
        return n_ref, t_ref + float(icpt), float(spp), float(np.std(resid)), int(n.size)

    def index_at(self, t_s: float) -> float:
        """Sample index (fractional) captured at caller-clock time ``t_s`` (may lie ahead of the data)."""
        self._maybe_measure()
        ts = t_s + self.offset_at(t_s)
        guess = self._written
        for _ in range(2):  # the fit window depends on where t_s falls
            n_ref, t_ref, spp, _, _ = self._fit(int(guess), int(guess) + 1)
            guess = n_ref + (ts - t_ref) / spp
        return float(guess)

    def time_of_index(self, index: float) -> float:
        """Caller-clock time (s) of sample ``index`` (fractional allowed)."""
        n_ref, t_ref, spp, _, _ = self._fit(int(index), int(index) + 1)
        t_stream = t_ref + (index - n_ref) * spp
        return t_stream - self.offset_at(t_stream - self.offsets[-1].offset_s)

    # ------------------------------------------------------------------ reading
    def _wait_for(self, index: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._written < index:
            if self._stream is None:
                raise AudioCaptureError("the audio stream was closed before the requested audio arrived")
            if time.monotonic() > deadline:
                raise AudioCaptureError(f"the audio stream stalled: {index - self._written} samples "
                                        f"still missing after {timeout_s} s")
            time.sleep(0.002)

    def _copy(self, lo: int, hi: int) -> np.ndarray:
        if lo < self._written - self._cap:
            raise AudioCaptureError(f"the requested audio is older than the {self._cap / self.rate_hz:.0f} s "
                                    "ring buffer; save it sooner or raise buffer_s")
        idx = np.arange(lo, hi) % self._cap
        with self._lock:
            return self._ring[idx].copy()

    def read(self, start: int, channel: int | None = 0) -> tuple[np.ndarray, int]:
        """(samples from index ``start`` to what has arrived, next index); never waits."""
        hi = self._written
        if hi <= start:
            return self._ring[:0, channel if channel is not None else slice(None)].copy(), start
        data = self._copy(start, hi)
        return (data[:, channel] if channel is not None else data), hi

    def segment(self, start_s: float, end_s: float, channel: int | None = 0,
                timeout_s: float = 2.0) -> Segment:
        """The audio from caller time ``start_s`` to ``end_s`` (s); waits until it has been captured.

        ``channel``: which channel (shape (n,)), or None for all (shape (n, channels)).
        Sample 0 is the sample nearest ``start_s``; see :class:`Segment` for the times.
        """
        if end_s <= start_s:
            raise AudioCaptureError(f"segment: end_s={end_s} must be after start_s={start_s}")
        self._wait_for(int(np.ceil(self.index_at(end_s))), timeout_s + max(0.0, end_s - self.clock()))
        off = self.offset_at((start_s + end_s) / 2)
        ts0, ts1 = start_s + off, end_s + off
        k0f, k1f = self.index_at(start_s), self.index_at(end_s)
        for _ in range(2):  # the fit around the segment decides which samples it holds
            n_ref, t_ref, spp, sd, nblk = self._fit(int(k0f), int(k1f))
            k0f, k1f = n_ref + (ts0 - t_ref) / spp, n_ref + (ts1 - t_ref) / spp
        k0, k1 = int(round(k0f)), int(round(k1f))
        if k0 < 0:
            raise AudioCaptureError(f"segment: start {start_s:.3f} s is before the recording began")
        self._wait_for(k1, timeout_s)
        data = self._copy(k0, k1)
        over = sum(1 for w in list(self._overflow_at) if k0 - self.blocksize < w < k1)
        return Segment(samples=data[:, channel] if channel is not None else data,
                       rate_hz=self.rate_hz, start_s=t_ref + (k0 - n_ref) * spp - off,
                       clock_rate_hz=1.0 / spp, offset_s=off, fit_sd_ms=sd * 1e3,
                       n_blocks=nblk, overflows=over)

    def wait_until_captured(self, t_s: float, timeout_s: float = 2.0) -> None:
        """Block until the audio up to caller time ``t_s`` has arrived."""
        self._wait_for(int(np.ceil(self.index_at(t_s))), timeout_s + max(0.0, t_s - self.clock()))

    # ------------------------------------------------------------------ facts
    def facts(self) -> dict[str, Any]:
        """What the sidecar should keep about the recording and its clock alignment."""
        offs = self.offsets
        rate_ppm = None
        n, adc = self._blocks(0, self._written)
        if n.size >= 16 and n[-1] - n[0] > self.rate_hz:
            spp = float(np.polyfit(n - n[0], adc - adc[0], 1)[0])
            rate_ppm = round((1.0 / (spp * self.rate_hz) - 1.0) * 1e6, 1)  # > 0: more samples/s
        dev_name = None
        try:
            import sounddevice as sd
            dev_name = sd.query_devices(self.device, "input")["name"]
        except Exception:
            pass
        drift = self.drift_ppm()
        return {
            "audio_device": str(self.device), "audio_device_name": dev_name,
            "audio_rate_hz": self.rate_hz, "audio_channels": self.channels,
            "audio_dtype": self.dtype, "audio_blocksize": self.blocksize,
            "audio_latency_s": self.stream_latency_s,
            "audio_timestamp_source": self.timestamp_source,
            "av_offset_first_s": offs[0].offset_s if offs else None,
            "av_offset_last_s": offs[-1].offset_s if offs else None,
            "av_offset_change_ms": (offs[-1].offset_s - offs[0].offset_s) * 1e3 if offs else None,
            "av_offset_drift_ppm": None if drift is None else round(drift, 3),
            "av_offset_uncertainty_max_us": (round(max(o.uncertainty_s for o in offs) * 1e6, 1)
                                             if offs else None),
            "av_offset_measurements": len(offs),
            "audio_sample_clock_ppm": rate_ppm,
            "audio_overflows": len(self._overflow_at),
        }
