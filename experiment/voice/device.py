"""The voice as a response device: a continuously recording microphone and the voice key.

No PsychoPy import (the session passes ``core.getTime`` as ``clock``).

Per trial: :meth:`VoiceDevice.on_stimulus_flip` (right after the stimulus flip, with its time)
marks time zero; a listening thread feeds the audio since then to the online voice key
(``experiment.voice.voicekey.OnsetTracker``, on a 2:1 decimated copy to keep it cheap) every
``check_every_s``, so the session's frame loop never waits for it; :meth:`VoiceDevice.poll`
hands over one ``Press("voice", ...)`` once speech is confirmed (typically 40-100 ms after its
onset), so the session may end the word; :meth:`VoiceDevice.save_trial_audio` then writes
the trial's audio losslessly and runs the full-rate detector on it. The authoritative RT is
the full-rate detection on the saved file, which ``python -m experiment.voice_offline``
reruns on a whole session.

Files (all in one folder per session, :func:`audio_folder`):
* ``<stem>_p<P>_b<BB>_t<TTT>.wav``: one trial (:func:`trial_audio_path`). Sample 0 is the
  sample nearest the stimulus flip (``start_s``), within half a sample; its exact
  PsychoPy-clock time is ``audio_start_s`` in the index, and sample i is at
  ``audio_start_s + i / audio_clock_rate_hz``.
* ``<stem>_noise_p<P>_b<BB>.wav``: the noise calibration before a block (:func:`noise_audio_path`).
  Sample 0 is at ``audio_start_s`` (when the calibration began); its timing does not matter.
* ``recordings.csv`` (:data:`INDEX_NAME`): one append-only, fsynced row per file written:
  kind, trial keys, times, the noise file in force, the alignment used and the onsets.
The WAV files hold the stream's raw samples (int16 by default): bit-exact, never rewritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from scipy.io import wavfile
from scipy.signal import firwin, lfilter, lfilter_zi

from experiment.core import screens
from experiment.voice import voicekey
from experiment.voice.capture import AudioCaptureError, AudioRecorder, Segment
from experiment.core.datafile import CsvAppender, fsync_dir
from experiment.devices.protocol import DeviceHost, Press

VOICE = "voice"                    # the Press name and the only response name this device reports
INDEX_NAME = "recordings.csv"
AUDIO_DIR_SUFFIX = "_audio"
INDEX_COLUMNS = (
    "kind", "file", "is_practice", "block", "trial_in_block", "trial_in_session",
    "start_s", "end_s", "audio_start_s", "audio_rate_hz", "audio_clock_rate_hz", "n_samples",
    "av_offset_s", "av_offset_uncertainty_us", "timing_fit_sd_ms", "overflows",
    "noise_file", "online_rt_ms", "rt_ms", "voicing_ms", "confidence", "snr_db", "detector",
    "rms_dbfs", "peak_dbfs", "reference_rt_ms", "reference_gap_ms",
)


class VoiceDeviceError(RuntimeError):
    """The voice device cannot work as asked (one-line message saying what to fix)."""


def detector_version() -> str:
    """'voicekey-<first 12 hex of the sha256 of experiment/voice/voicekey.py>' (changes with the code)."""
    version = getattr(voicekey, "VERSION", None)
    if version:
        return f"voicekey-{version}"
    src = Path(voicekey.__file__).read_bytes()
    return "voicekey-" + hashlib.sha256(src).hexdigest()[:12]


def detector_params(params: voicekey.VoiceKeyParams | None = None) -> str:
    """The detector's parameters as compact JSON (for the files that record RTs)."""
    return json.dumps(asdict(params or voicekey.VoiceKeyParams()), separators=(",", ":"))


def audio_folder(session_folder: Path, stem: str) -> Path:
    """``<participant folder>/<stem>_audio``: where a session's recordings go."""
    return Path(session_folder) / f"{stem}{AUDIO_DIR_SUFFIX}"


def trial_audio_path(session_folder: Path, stem: str, is_practice: int, block: int,
                     trial_in_block: int) -> Path:
    return audio_folder(session_folder, stem) / (
        f"{stem}_p{int(is_practice)}_b{int(block):02d}_t{int(trial_in_block):03d}.wav")


def noise_audio_path(session_folder: Path, stem: str, is_practice: int, block: int) -> Path:
    return audio_folder(session_folder, stem) / f"{stem}_noise_p{int(is_practice)}_b{int(block):02d}.wav"


def write_wav_new(path: Path, rate_hz: int, samples: np.ndarray) -> Path:
    """Write ``samples`` to ``path`` (fsynced) without ever replacing a file; returns the path used.

    If ``path`` exists (e.g. a trial recorded again after a crash), ``<name>_2.wav``,
    ``_3`` ... is used instead.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, k = path, 1
    while True:
        try:
            fh = open(candidate, "xb")
            break
        except FileExistsError:
            k += 1
            candidate = path.with_name(f"{path.stem}_{k}{path.suffix}")
    with fh:
        wavfile.write(fh, int(rate_hz), samples)
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(candidate.parent)
    return candidate


def read_wav_float(path: Path) -> tuple[np.ndarray, int]:
    """(mono float64 samples in +-1, rate Hz) of a WAV written here (first channel if several)."""
    rate, data = wavfile.read(path)
    if data.ndim > 1:
        data = data[:, 0]
    scale = {np.dtype("int16"): 32768.0, np.dtype("int32"): 2147483648.0}.get(data.dtype, 1.0)
    return data.astype(np.float64) / scale, int(rate)


def levels_dbfs(x: np.ndarray) -> tuple[float, float]:
    """(RMS, peak) of float samples in dB re full scale (-inf for digital silence)."""
    with np.errstate(divide="ignore"):
        return (float(20 * np.log10(np.sqrt(np.mean(x ** 2)))) if x.size else float("-inf"),
                float(20 * np.log10(np.max(np.abs(x)))) if x.size else float("-inf"))


def onset_rt_ms(result_onset_s: float | None, seg_start_s: float, clock_rate_hz: float,
                rate_hz: int, zero_s: float) -> float | None:
    """RT (ms) from an onset found in a file (s from sample 0 at the nominal rate) and its timing.

    The onset's sample index is ``onset_s * rate_hz``; its PsychoPy time is
    ``seg_start_s + index / clock_rate_hz``; the RT is that minus ``zero_s`` (the flip).
    """
    if result_onset_s is None:
        return None
    return (seg_start_s + result_onset_s * rate_hz / clock_rate_hz - zero_s) * 1000.0


class _Decimator:
    """Streaming low-pass + keep-every-``factor``th sample (linear phase, state kept across chunks).

    Output sample j stands for input sample ``j * factor - delay`` counted from the first input.
    """

    def __init__(self, factor: int):
        self.factor = int(factor)
        ntaps = 16 * self.factor + 1
        self.taps = firwin(ntaps, 0.85 / self.factor)
        self.delay = (ntaps - 1) // 2
        self._zi = None
        self._phase = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return x
        if self._zi is None:
            self._zi = lfilter_zi(self.taps, [1.0]) * x[0]
        y, self._zi = lfilter(self.taps, [1.0], x, zi=self._zi)
        out = y[self._phase::self.factor]
        self._phase = (self._phase - x.size) % self.factor
        return out


class VoiceDevice:
    """Vocal responses: ``Press("voice", t_down_s)`` at the detected speech onset.

    ``clock``: PsychoPy's ``core.getTime`` (seconds). ``recorder``: an :class:`AudioRecorder`
    (default: the default input device at 48 kHz, mono int16); started here if it is not
    running. ``channel``: the microphone's channel in the recording. ``online_factor``:
    decimation of the audio given to the online voice key (2: 48 -> 24 kHz, ~3 ms per check
    on this machine instead of ~10 ms); ``check_every_s``: how often it runs.
    """

    name = "voice"
    rt_source = "voice-detected"
    scoring = "experimenter"   # the device hears that someone spoke, not which colour
    whole_window = True        # the microphone records every trial's whole response window
    reports = (VOICE,)

    def __init__(self, clock: Callable[[], float], recorder: AudioRecorder | None = None,
                 channel: int = 0, online_factor: int = 2, check_every_s: float = 0.02,
                 params: voicekey.VoiceKeyParams | None = None,
                 reference_channel: int | None = None):
        self.clock = clock
        self.recorder = recorder or AudioRecorder(clock)
        if not self.recorder.running:
            self.recorder.start()
        self.rate_hz = self.recorder.rate_hz
        if self.rate_hz % online_factor or self.rate_hz // online_factor < 16000:
            raise VoiceDeviceError(f"online_factor={online_factor} does not divide {self.rate_hz} Hz "
                                   "into a rate of at least 16000 Hz")
        self.channel, self.online_factor, self.check_every_s = channel, online_factor, check_every_s
        self.reference_channel = reference_channel  # simulation: the speaker's clean word
        self.params = params or voicekey.VoiceKeyParams()
        self._noise_full: voicekey.NoiseModel | None = None
        self._noise_online: voicekey.NoiseModel | None = None
        self.noise_file: str = ""
        self._trial: _Listening | None = None   # replaced (never mutated) by on_stimulus_flip
        self.listen_s = 5.0        # the online key stops listening this long after the flip
        self.online_errors: list[str] = []  # exceptions in the listening thread (trial went on)
        self._index: CsvAppender | None = None
        self._host: DeviceHost | None = None  # the session, once prepare_session(host) was called
        self.ends_word_on_response = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="voice-key", daemon=True)
        self._thread.start()

    # -------------------------------------------------------------- noise models
    def _set_noise(self, noise: np.ndarray, file: str) -> None:
        """Noise models (full rate and online rate) from float samples at the recording rate."""
        dec = _Decimator(self.online_factor)
        self._noise_full = voicekey.calibrate(noise, self.rate_hz, self.params)
        self._noise_online = voicekey.calibrate(dec.process(noise)[dec.delay // self.online_factor + 1:],
                                                self.rate_hz // self.online_factor, self.params)
        self.noise_file = file

    def _record(self, seconds: float, while_waiting: Callable[[], None] | None) -> Segment:
        t0 = self.clock()
        while while_waiting is not None and self.clock() < t0 + seconds:
            while_waiting()
        return self.recorder.segment(t0, t0 + seconds, channel=self.channel)

    def prepare_session(self, host: DeviceHost | None = None, seconds: float | None = None) -> dict:
        """Mic check: record ``seconds`` of the room; VoiceDeviceError if it is silent or clipping.

        ``host``: the session running the device (or None outside a session): its
        config gives ``voice.mic_check_s`` and ``voice.end_word_on_onset``, a screen is shown
        during the check and the levels are shown to the experimenter afterwards; its
        recorder's folder receives the audio. The recording also becomes the noise model
        until the first :meth:`calibrate_noise`. Returns the level and the recorder's clock
        facts for the sidecar.
        """
        self._host = host
        draw = None
        if host is not None:
            seconds = seconds or host.config.voice.mic_check_s
            self.ends_word_on_response = host.config.voice.end_word_on_onset
            self.listen_s = host.config.timing.response_window_s
            draw = host.holding_screen(screens.holding("mic-check-recording",
                                                          "Microphone check: please stay quiet.",
                                                          "MICROPHONE"))
        seg = self._record(seconds or 2.0, draw)
        x = seg.as_float()
        rms, peak = levels_dbfs(x)
        if not np.any(x != 0):
            raise VoiceDeviceError("the microphone gives digital silence: check that it is "
                                   "connected, selected as the input and not muted")
        if np.mean(np.abs(x) >= 0.999) > 0.001:
            raise VoiceDeviceError(f"the microphone clips in silence (peak {peak:.1f} dBFS): "
                                   "lower the input gain")
        self._set_noise(x, "")
        if host is not None:
            r = host.config.response
            codes = ", ".join(f"{k.upper()} = {c}" for c, k in r.code_keys.items())
            host.screen(screens.ScreenText(
                "mic-check", title="MICROPHONE",
                body=f"Microphone level in silence: {rms:.1f} dBFS (peak {peak:.1f} dBFS).\n"
                f"During each trial, code the spoken answer:\n{codes}",
                footer=f"Experimenter: {r.continue_key.upper()} to go on, "
                f"{r.pause_key.upper()} to pause or abort."))
        return {"voice_mic_check_rms_dbfs": round(rms, 1), "voice_mic_check_peak_dbfs": round(peak, 1),
                "voice_detector": detector_version(), **self.recorder.facts()}

    def calibrate_noise(self, seconds: float, path: Path,
                        while_waiting: Callable[[], None] | None = None) -> np.ndarray:
        """Record ``seconds`` (>= 1; 3-5 s is best) of the participant walking in silence.

        Blocks for ``seconds`` (calling ``while_waiting()`` in a loop meanwhile, e.g. to keep
        drawing a screen), saves the raw recording to ``path`` (a new file: see
        :func:`write_wav_new`; time zero = the call), adds it to the index, and uses it as the
        noise model of the following trials. Returns the samples as float64, shape (n,), +-1.
        """
        if seconds < 1.0:
            raise VoiceDeviceError(f"calibrate_noise: seconds={seconds} must be at least 1")
        seg = self._record(seconds, while_waiting)
        x = seg.as_float()
        written = write_wav_new(path, self.rate_hz, seg.samples)
        self._set_noise(x, written.name)
        rms, peak = levels_dbfs(x)
        m = _noise_keys(written.name)
        self._append_index(written.parent, {
            "kind": "noise", "file": written.name, **m, "start_s": seg.start_s,
            "end_s": seg.start_s + len(x) / seg.clock_rate_hz, **self._timing(seg),
            "noise_file": written.name, "rms_dbfs": round(rms, 2), "peak_dbfs": round(peak, 2)})
        return x

    # -------------------------------------------------------------- session hooks
    def _session_files(self) -> tuple[Path, str]:
        if self._host is None:
            raise VoiceDeviceError("prepare_session(host) must be called before a block")
        paths = self._host.files
        return paths.folder, paths.stem

    def prepare_block(self, host: DeviceHost, block) -> None:
        """Noise calibration: ``voice.noise_calibration_s`` of silent walking before the block."""
        folder, stem = self._session_files()
        seconds = host.config.voice.noise_calibration_s
        walking = host.config.condition(block.condition).treadmill_speed_kmh > 0
        draw = host.holding_screen(screens.holding(
            "noise-calibration", f"Keep {'walking' if walking else 'standing'} and stay silent "
            f"({seconds:.0f} s).", "QUIET, PLEASE"))
        x = self.calibrate_noise(seconds, noise_audio_path(folder, stem, block.is_practice, block.block),
                                 while_waiting=draw)
        rms, peak = levels_dbfs(x)
        host.add_event("noise-calibration", block=block.block, is_practice=block.is_practice,
                                   file=self.noise_file, rms_dbfs=round(rms, 2), peak_dbfs=round(peak, 2))

    def trial_facts(self, trial, stim_onset_s: float, window_s: float) -> dict:
        """Save the trial's audio (flip to window end) and return the row's voice fields.

        ``rt_ms``/``response``: the full-rate detection on the saved audio (authoritative).
        """
        folder, stem = self._session_files()
        facts = self.save_trial_audio(
            trial_audio_path(folder, stem, trial.is_practice, trial.block, trial.trial_in_block),
            stim_onset_s, stim_onset_s + window_s,
            keys=dict(is_practice=trial.is_practice, block=trial.block,
                      trial_in_block=trial.trial_in_block,
                      trial_in_session=self._host.trials_saved + 1))
        rt = facts["voice_rt_ms"]
        return {"rt_ms": rt, "response": VOICE if rt is not None else "",
                "audio_file": facts["audio_file"], "noise_file": facts["noise_file"],
                "voice_online_rt_ms": facts["voice_online_rt_ms"],
                "voice_confidence": facts["voice_confidence"] if rt is not None else None}

    # -------------------------------------------------------------- ResponseDevice
    def on_stimulus_flip(self, t_flip_s: float) -> None:
        """Time zero = ``t_flip_s``, the flip that shows the word (PsychoPy clock, s).

        Cheap on purpose (it runs right after the flip): the listening thread sets up the
        trial's online voice key on its next turn.
        """
        self._trial = _Listening(t_flip_s)

    def poll(self) -> list[Press]:
        """``[Press("voice", t_down_s)]`` once, when speech has been detected since the flip
        (``t_down_s``: the onset on PsychoPy's clock), else [].

        The online voice key runs in a thread (every ``check_every_s``), so this call costs
        nothing and the frame loop keeps its timing.
        """
        trial = self._trial
        if trial is None:
            return []
        if self._noise_online is None:
            raise VoiceDeviceError("no noise model: call prepare_session() or calibrate_noise() "
                                   "before the first trial")
        if trial.press is None or trial.handed_over:
            return []
        trial.handed_over = True
        return [trial.press]

    def _listen(self) -> None:
        """The listening thread: feeds the current trial's audio to its online voice key."""
        while not self._stop.wait(self.check_every_s):
            trial = self._trial
            if (trial is None or trial.press is not None or self._noise_online is None
                    or self.clock() > trial.t0 + self.listen_s):
                continue
            try:
                self._feed(trial)
            except Exception as exc:  # noqa: BLE001 - the trial goes on; its saved audio decides
                trial.error = repr(exc)
                self.online_errors.append(trial.error)
                self._trial = None

    def _feed(self, trial: "_Listening") -> None:
        if trial.tracker is None:
            trial.k_feed = int(round(self.recorder.index_at(trial.t0)))
            trial.cursor = trial.k_feed
            trial.dec = _Decimator(self.online_factor)
            trial.tracker = voicekey.OnsetTracker(self.rate_hz // self.online_factor,
                                                  self._noise_online, self.params,
                                                  check_every_s=self.check_every_s)
        new, trial.cursor = self.recorder.read(trial.cursor, channel=self.channel)
        if new.size == 0:
            return
        x = new.astype(np.float64) / (32768.0 if new.dtype == np.int16 else
                                      2147483648.0 if new.dtype == np.int32 else 1.0)
        onset = trial.tracker.feed(trial.dec.process(x))
        if onset is None:
            return
        k = trial.k_feed + onset * (self.rate_hz // self.online_factor) * self.online_factor \
            - trial.dec.delay
        t = self._time_of_index(k)
        trial.press = Press(VOICE, t, "voice")

    def _time_of_index(self, k: float) -> float:
        """PsychoPy time (s) of recording sample index ``k``."""
        return self.recorder.time_of_index(k)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.recorder.close()
        if self._index is not None:
            self._index.close()

    # -------------------------------------------------------------- saving
    def _timing(self, seg: Segment) -> dict[str, Any]:
        unc = min(self.recorder.offsets, key=lambda o: abs(o.at_s - seg.start_s)).uncertainty_s
        return {"audio_start_s": seg.start_s, "audio_rate_hz": seg.rate_hz,
                "audio_clock_rate_hz": round(seg.clock_rate_hz, 4), "n_samples": len(seg.samples),
                "av_offset_s": seg.offset_s, "av_offset_uncertainty_us": round(unc * 1e6, 1),
                "timing_fit_sd_ms": round(seg.fit_sd_ms, 3), "overflows": seg.overflows}

    def _append_index(self, folder: Path, row: Mapping[str, Any]) -> None:
        path = Path(folder) / INDEX_NAME
        if self._index is None or self._index.path != path:
            if self._index is not None:
                self._index.close()
            self._index = CsvAppender(path, INDEX_COLUMNS)
        full = {c: "" for c in INDEX_COLUMNS}
        full.update({k: v for k, v in row.items() if k in full})
        full["detector"] = detector_version()
        self._index.append(full)

    def _reference(self, start_s: float, end_s: float) -> dict[str, float | None]:
        """Simulation only: where the simulated speaker's clean word (the reference channel)
        is in the trial's recording. ``reference_rt_ms``: its first non-zero sample, ms from
        ``start_s``; ``reference_gap_ms``: the longest run of digital silence in its first
        150 ms (> 0.1 ms means playback stalled while the word began: the simulator's fault,
        seen on a loaded machine; later stalls do not move an onset). Empty without a word."""
        if self.reference_channel is None:
            return {}
        ref = self.recorder.segment(start_s, end_s, channel=self.reference_channel)
        nz = np.flatnonzero(ref.samples)
        if nz.size == 0:
            return {}
        head = nz[nz < nz[0] + int(0.15 * ref.rate_hz)]
        gap = int(np.max(np.diff(head))) - 1 if head.size > 1 else 0
        return {"reference_rt_ms": round((ref.time_of(nz[0]) - start_s) * 1000.0, 3),
                "reference_gap_ms": round(gap / ref.rate_hz * 1000.0, 3)}

    def save_trial_audio(self, path: Path, start_s: float, end_s: float,
                         keys: Mapping[str, Any] | None = None, timeout_s: float = 2.0) -> dict:
        """Save the audio from ``start_s`` (the stimulus flip) to ``end_s`` and detect the onset.

        Waits until ``end_s`` has been captured (so call it once ``end_s`` has passed to
        avoid a wait). Writes ``path`` (a new file, :func:`write_wav_new`), appends a row to
        ``recordings.csv`` in its folder, and returns the facts for the trial row:
        ``audio_file`` (name written), ``audio_start_s`` (PsychoPy time of sample 0, within
        half a sample of ``start_s``), ``audio_clock_rate_hz`` (samples per PsychoPy second),
        ``av_offset_s`` (stream clock minus PsychoPy clock used),
        ``voice_rt_ms`` (full-rate detected onset minus ``start_s``, ms; None if no speech),
        ``voice_online_rt_ms`` (what :meth:`presses` reported, ms, or None),
        ``voice_confidence``, ``noise_file``, ``detector``, ``timing_fit_sd_ms``, ``overflows``.
        ``keys``: is_practice, block, trial_in_block, trial_in_session (for the index).
        """
        if self._noise_full is None:
            raise VoiceDeviceError("no noise model: call prepare_session() or calibrate_noise() first")
        seg = self.recorder.segment(start_s, end_s, channel=self.channel, timeout_s=timeout_s)
        written = write_wav_new(path, self.rate_hz, seg.samples)
        x = seg.as_float()
        res = voicekey.detect_onset(x, self.rate_hz, self._noise_full, self.params)
        rt = onset_rt_ms(res.onset_s, seg.start_s, seg.clock_rate_hz, seg.rate_hz, start_s)
        rms, peak = levels_dbfs(x)
        timing = self._timing(seg)
        trial = self._trial
        online = (trial.press.rt_ms(trial.t0) if trial is not None and trial.press is not None
                  and abs(trial.t0 - start_s) < 0.05 else None)
        self._append_index(written.parent, {
            "kind": "trial", "file": written.name, **dict(keys or {}), "start_s": start_s,
            "end_s": end_s, **timing, "noise_file": self.noise_file, "online_rt_ms": online,
            "rt_ms": rt, "voicing_ms": (None if res.voicing_s is None else
                                        onset_rt_ms(res.voicing_s, seg.start_s, seg.clock_rate_hz,
                                                    seg.rate_hz, start_s)),
            "confidence": round(res.confidence, 3), "snr_db": res.snr_db, "rms_dbfs": round(rms, 2),
            "peak_dbfs": round(peak, 2), **self._reference(start_s, end_s)})
        return {"audio_file": written.name, "audio_start_s": seg.start_s,
                "audio_clock_rate_hz": seg.clock_rate_hz, "av_offset_s": seg.offset_s,
                "voice_rt_ms": rt, "voice_online_rt_ms": online,
                "voice_confidence": res.confidence, "noise_file": self.noise_file,
                "detector": detector_version(), "timing_fit_sd_ms": seg.fit_sd_ms,
                "overflows": seg.overflows}


class _Listening:
    """One trial's online voice key: time zero (PsychoPy clock, s) and the listening thread's state."""

    def __init__(self, t0: float):
        self.t0 = t0
        self.tracker: voicekey.OnsetTracker | None = None
        self.k_feed = self.cursor = 0
        self.dec: _Decimator | None = None
        self.press: Press | None = None
        self.handed_over = False  # the press went to the session (poll hands it over once)
        self.error = ""


def _noise_keys(name: str) -> dict[str, Any]:
    """is_practice/block from a noise file name made by :func:`noise_audio_path` (else empty)."""
    import re
    m = re.search(r"_noise_p(\d)_b(\d+)", name)
    return {"is_practice": int(m.group(1)), "block": int(m.group(2))} if m else {}


__all__ = ["VOICE", "VoiceDevice", "VoiceDeviceError", "AudioCaptureError", "audio_folder",
           "trial_audio_path", "noise_audio_path", "detector_version", "detector_params",
           "read_wav_float", "onset_rt_ms", "INDEX_NAME", "INDEX_COLUMNS"]
