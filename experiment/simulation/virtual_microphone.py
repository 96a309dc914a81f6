"""A virtual microphone (PulseAudio null sink) and a simulated speaker, for tests and demos.

:class:`VirtualAudio` runs a private PulseAudio daemon (its own ``XDG_RUNTIME_DIR``) with a
null sink ``vspk`` whose monitor is the default source, so whatever is played into the
sink is what the "microphone" (``sounddevice``'s ``'default'`` input) records. It follows
``../shared/HEADLESS.md``: the silent keep-alive ``pacat`` stream (without it capture stalls
about half the time) and a warm-up ``paplay`` (the first one after start takes ~0.8 s).

:class:`SimulatedSpeaker` is the vocal counterpart of ``experiment.simulation.participant``'s key
injector: a worker thread writes a word into an open, low-latency ``pacat`` playback stream
at a scheduled time on the caller's clock and logs the clock right before and after the
write. Writing to an already open stream is used instead of starting ``paplay``, whose
process start-up added 3-25 ms of jitter on this (loaded, 2-core) machine.

Left channel = the microphone signal (word, plus :class:`BackgroundSound` such as walking
noise); right channel = the clean word alone, with digital silence elsewhere, so its first
non-zero sample in a 2-channel recording marks exactly when the word's first sample arrived:
the reference a test uses to measure the pipeline delay independently of the voice key.
No PsychoPy import.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from experiment.simulation.timer import TimedScheduler

SINK = "vspk"
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
PIPE_BYTES = 1 << 20   # ~5 s of 48 kHz stereo s16: a player writes a word without blocking
TOOLS = ("pulseaudio", "pacat", "paplay", "pactl")


class VirtualAudioError(RuntimeError):
    """The virtual audio device cannot be started (one-line message saying what to install/fix)."""


def missing_tools() -> list[str]:
    """The PulseAudio programs that are not on PATH (empty if all are there)."""
    return [t for t in TOOLS if shutil.which(t) is None]


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples (+-1 full scale) as int16, rounded and clipped."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32767.0), -32767, 32767).astype(np.int16)


class VirtualAudio:
    """A private PulseAudio daemon with a null-sink microphone; start/stop are idempotent.

    ``runtime_dir``: its ``XDG_RUNTIME_DIR`` (default: a new temporary folder, removed by
    :meth:`stop`). :meth:`start` also points this process's PulseAudio clients at it
    (``PULSE_SERVER``) and re-initialises PortAudio if ``sounddevice`` is already imported,
    so ``sounddevice.InputStream(device='default')`` records the sink's monitor.
    """

    def __init__(self, runtime_dir: Path | None = None, rate_hz: int = 48000):
        self.rate_hz = int(rate_hz)
        self._own_dir = runtime_dir is None
        self.runtime_dir = Path(runtime_dir) if runtime_dir else None
        self._keepalive: subprocess.Popen | None = None
        self._saved_env: dict[str, str | None] = {}
        self.started = False

    @property
    def socket(self) -> Path:
        return self.runtime_dir / "pulse" / "native"

    def env(self) -> dict[str, str]:
        """Environment for PulseAudio programs that must use this daemon."""
        return {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "PULSE_SERVER": f"unix:{self.socket}", "HOME": str(self.runtime_dir),
                "PULSE_STATE_PATH": str(self.runtime_dir / "state"),
                "PULSE_RUNTIME_PATH": str(self.runtime_dir / "pulse")}

    def _pactl_ok(self) -> bool:
        return subprocess.run(["pactl", "info"], env=self.env(), capture_output=True,
                              timeout=10).returncode == 0

    def start(self) -> "VirtualAudio":
        if self.started:
            return self
        missing = missing_tools()
        if missing:
            raise VirtualAudioError(f"missing {', '.join(missing)}: apt-get install pulseaudio "
                                    "pulseaudio-utils libportaudio2")
        if self.runtime_dir is None:
            self.runtime_dir = Path(tempfile.mkdtemp(prefix="stroop-pa-"))
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        if not (self.socket.exists() and self._pactl_ok()):
            script = self.runtime_dir / "pa.pa"
            script.write_text("load-module module-native-protocol-unix auth-anonymous=1\n"
                              f"load-module module-null-sink sink_name={SINK} rate={self.rate_hz}\n"
                              f"set-default-sink {SINK}\nset-default-source {SINK}.monitor\n")
            proc = subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1",
                                   "--realtime=yes", "--high-priority=yes",
                                   "--disallow-exit", "-n", "-F", str(script),
                                   f"--log-target=file:{self.runtime_dir / 'pulseaudio.log'}"],
                                  env=self.env(), capture_output=True, text=True, timeout=30)
            deadline = time.monotonic() + 10
            while not (self.socket.exists() and self._pactl_ok()):
                if time.monotonic() > deadline:
                    raise VirtualAudioError(f"pulseaudio did not start (exit {proc.returncode}); see "
                                            f"{self.runtime_dir / 'pulseaudio.log'}")
                time.sleep(0.05)
        self._keepalive = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={self.rate_hz}",
             "--channels=2", "--latency-msec=20", "-d", SINK, "/dev/zero"],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._warm_up()
        for key in ("PULSE_SERVER",):
            self._saved_env[key] = os.environ.get(key)
        os.environ["PULSE_SERVER"] = f"unix:{self.socket}"
        self._reinit_portaudio()
        self.started = True
        return self

    def _warm_up(self) -> None:
        """Play 50 ms of silence: the first paplay after start is slow (~0.8 s)."""
        from scipy.io import wavfile
        path = self.runtime_dir / "warmup.wav"
        wavfile.write(path, self.rate_hz, np.zeros((self.rate_hz // 20, 2), dtype=np.int16))
        subprocess.run(["paplay", "-d", SINK, str(path)], env=self.env(), capture_output=True,
                       timeout=30)

    @staticmethod
    def _reinit_portaudio() -> None:
        sd = sys.modules.get("sounddevice")
        if sd is not None:
            sd._terminate()
            sd._initialize()

    def pid(self) -> int | None:
        """The daemon's process id (from its pid file), or None."""
        try:
            return int((self.runtime_dir / "pulse" / "pid").read_text().split()[0])
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def stop(self) -> None:
        """Stop the keep-alive stream and the daemon started here; remove a temporary dir."""
        if self._keepalive is not None:
            self._keepalive.terminate()
            self._keepalive.wait(timeout=5)
            self._keepalive = None
        if self.runtime_dir is not None and self.socket.exists():
            pid = self.pid()
            subprocess.run(["pulseaudio", "--kill"], env=self.env(), capture_output=True, timeout=10)
            if pid is not None:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.05)
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self.started:
            self._reinit_portaudio()
        if self._own_dir and self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None
        self.started = False

    def __enter__(self) -> "VirtualAudio":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _raise_priority() -> None:
    """In a player process: real-time scheduling when allowed (root), else nice -11.

    On a loaded machine a player at normal priority sometimes woke up tens of ms late, and
    at nice -11 it still let the word stall for 2.5-150 ms in a third of the words (a simulated
    session next to other busy processes on 2 cores). A player sleeps on its pipe and the
    server, so real-time priority cannot starve the machine.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
        return
    except (OSError, AttributeError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -11)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Playback:
    """An open ``pacat`` playback stream into the sink, fed through a pipe (s16le stereo)."""

    def __init__(self, audio: VirtualAudio, latency_ms: int = 10):
        if not audio.started:
            raise VirtualAudioError("start the VirtualAudio before playing into it")
        self.rate_hz = audio.rate_hz
        self._proc = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={audio.rate_hz}",
             "--channels=2", f"--latency-msec={latency_ms}", "-d", SINK],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=audio.env(), bufsize=0, preexec_fn=_raise_priority)
        try:  # room for a whole word: one write, no wake-up needed mid-word (Linux only)
            fcntl.fcntl(self._proc.stdin.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass

    def write(self, frames: np.ndarray) -> None:
        """Queue int16 frames of shape (n, 2); blocks while the pipe is full."""
        self._proc.stdin.write(np.ascontiguousarray(frames, dtype="<i2").tobytes())

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            self._proc.terminate()
            self._proc.wait(timeout=5)


class BackgroundSound:
    """Plays ``samples`` (float, +-1, mono) in a loop into the left channel until :meth:`stop`.

    ``latency_ms``: the playback stream's buffer. Its timing does not matter, so it is long:
    with a short one a busy machine starves the stream and the "microphone" records stretches
    of digital silence (seen here at 40 ms: 100 ms gaps, which a voice key takes for onsets).
    """

    def __init__(self, audio: VirtualAudio, samples: np.ndarray, chunk_s: float = 0.02,
                 latency_ms: int = 400):
        pcm = to_int16(samples)
        self._frames = np.zeros((len(pcm), 2), dtype=np.int16)
        self._frames[:, 0] = pcm
        self._chunk = max(1, int(chunk_s * audio.rate_hz))
        self._play = _Playback(audio, latency_ms=latency_ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-sound", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        n = len(self._frames)
        try:
            while not self._stop.is_set():
                j = min(i + self._chunk, n)
                self._play.write(self._frames[i:j])
                i = 0 if j >= n else j
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self) -> None:
        self._stop.set()
        self._play.close()
        self._thread.join(timeout=2)


@dataclass(frozen=True)
class Utterance:
    """One word played by :class:`SimulatedSpeaker`; times on the caller's clock (s).

    ``called_s``: clock read immediately before the write into the playback stream;
    ``returned_s``: after it returned. ``onset_in_buffer_s``: the word's onset in the
    written buffer (s from its first frame; the first non-zero sample of the right channel).
    ``spoken_s = called_s + onset_in_buffer_s``: when the word's onset was handed to the
    audio system -- what a detected onset is compared with (plus the pipeline delay).
    """
    label: str
    text: str
    scheduled_s: float
    called_s: float
    returned_s: float
    onset_in_buffer_s: float
    speech_onset_s: float | None   # the synthesiser's onset in the buffer (s), if given
    busy_s: float = 0.0            # earlier audio still queued at the call (s): then it plays late

    @property
    def spoken_s(self) -> float:
        return self.called_s + self.onset_in_buffer_s


class SimulatedSpeaker:
    """Says words into the virtual microphone at scheduled times on ``clock``.

    ``say_at(t_s, samples, ...)`` plays ``samples`` (float, +-1, mono, at the sink's rate)
    with their first sample handed over at ``t_s``; :attr:`log` collects an
    :class:`Utterance` per word. ``mic_gain`` scales the left (microphone) channel; the
    right (reference) channel carries the word at full scale.
    """

    def __init__(self, audio: VirtualAudio, clock: Callable[[], float], spin_s: float = 0.002):
        self.rate_hz = audio.rate_hz
        self._play = _Playback(audio, latency_ms=10)
        self._clock = clock
        self._timer = TimedScheduler(clock, spin_s, name="speaker")
        self.log: list[Utterance] = []
        self._busy_until = 0.0

    def say_at(self, t_s: float, samples: np.ndarray, label: str = "", text: str = "",
               mic_gain: float = 1.0, speech_onset_s: float | None = None) -> None:
        ref = to_int16(samples)
        nz = np.flatnonzero(ref)
        if nz.size == 0:
            raise ValueError("say_at: the samples are silent at 16 bits")
        frames = np.zeros((len(ref), 2), dtype=np.int16)
        frames[:, 0] = to_int16(np.asarray(samples) * mic_gain)
        frames[:, 1] = ref
        onset = nz[0] / self.rate_hz
        self._timer.at(t_s, lambda due: self._say(due, frames, label, text, onset, speech_onset_s))

    def _say(self, t_s: float, frames: np.ndarray, label: str, text: str, onset: float,
             speech: float | None) -> None:
        called = self._clock()
        busy = max(0.0, self._busy_until - called)
        self._play.write(frames)
        self._busy_until = max(called, self._busy_until) + len(frames) / self.rate_hz
        self.log.append(Utterance(label, text, t_s, called, self._clock(), onset, speech, busy))

    def close(self) -> None:
        self._timer.stop()
        self._play.close()
