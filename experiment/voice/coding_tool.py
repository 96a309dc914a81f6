"""Code a vocal session's responses offline: listen, check the speech onset, code each trial.

    python -m experiment.coding_tool SESSION_FOLDER_OR_TRIALS_FILE --coder ID [--all]

SESSION_FOLDER_OR_TRIALS_FILE: a participant's folder (``<data>/<participant>``, holding one
vocal session) or a session's ``*_trials.csv``. ``--coder``: the coder's ID (letters,
digits, '-', '_'). By default the tool starts at the first trial this coder has not coded
and then visits the uncoded trials; ``--all`` goes through every trial in order.

Each decision is appended at once (fsynced) to ``<stem>_audio/coding_<coder>.csv``
(``experiment.voice.coding``); escape quits with everything coded so far saved. Keys:
:data:`HELP`. Exit codes: 0 quit, 2 bad input (nothing written).

The PsychoPy layer only: what to show and save comes from ``experiment.voice.coding``.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from experiment.devices.keyboard import WORKING_BACKENDS, KeyboardBackendError, check_display
from experiment.voice.coding import (CoderFile, CodingError, CodingSession, CodingTrial, View,
                                     clamp_onset_ms, format_ms, full_view, index_from_ms,
                                     load_audio, load_session, next_index, start_index,
                                     stimulus_look, tick_times_ms, view_envelope, zoom_view)

SMALL_STEP_MS = 1.0
BIG_STEP_MS = 10.0
REPEAT_DELAY_S = 0.4      # an arrow key held this long starts repeating
REPEAT_EVERY_S = 0.04
CODE_KEYS = {"c": "correct", "w": "wrong", "u": "unclear"}
SHIFT_KEYS = ("lshift", "rshift")
HELP = ("space play  |  o play from onset  |  left/right 1 ms  |  shift+left/right or up/down "
        "10 ms  |  click: set onset  |  z zoom  |  r detected onset  |  n no speech\n"
        "c correct  |  w wrong  |  u unclear  (saves, next trial)  |  s skip  |  "
        "backspace/p previous  |  escape quit (all codes are saved)")

TEXT = (235, 235, 235)
DIM = (150, 150, 150)
WAVE = (200, 200, 200)
DETECTED = (255, 150, 0)
ONSET = (0, 220, 255)
PLAYHEAD = (255, 255, 255)
NOTICE = (255, 230, 90)
ERROR = (255, 90, 90)
PANEL = (30, 30, 30)


@dataclass(frozen=True)
class Layout:
    """Where things are, in pixels from the window centre (y up). Pure, for tests too."""
    width: int = 1200
    height: int = 760

    @property
    def wave_left(self) -> float:
        return -self.width / 2 + 60

    @property
    def wave_width(self) -> int:
        return int(self.width - 100)

    @property
    def wave_top(self) -> float:
        return self.height / 2 - 250

    @property
    def wave_bottom(self) -> float:
        return -self.height / 2 + 150

    @property
    def wave_mid(self) -> float:
        return (self.wave_top + self.wave_bottom) / 2

    @property
    def stim_pos(self) -> tuple[float, float]:
        return (self.width / 2 - 190, self.height / 2 - 100)

    def column_x(self, j: np.ndarray | int) -> np.ndarray | float:
        """x of the centre of waveform column ``j`` (one column per pixel)."""
        return self.wave_left + np.asarray(j) + 0.5

    def x_of(self, view: View, ms: float) -> float:
        return view.x_of(ms, self.wave_left, self.wave_width)

    def ms_of(self, view: View, x: float) -> float:
        return view.ms_of(x, self.wave_left, self.wave_width)

    def in_wave(self, x: float, y: float) -> bool:
        return (self.wave_left <= x <= self.wave_left + self.wave_width
                and self.wave_bottom <= y <= self.wave_top)


def waveform_vertices(env: np.ndarray, layout: Layout) -> np.ndarray:
    """A zigzag line through every column's min and max (shape (2 n_columns, 2), pixels).

    ``env``: :func:`experiment.voice.coding.envelope` scaled to +-1 = the waveform area's
    half height. Each column is at least one pixel tall so silence shows as a line.
    """
    half = (layout.wave_top - layout.wave_bottom) / 2 - 4
    lo = layout.wave_mid + np.clip(env[:, 0], -1, 1) * half
    hi = layout.wave_mid + np.clip(env[:, 1], -1, 1) * half
    hi = np.maximum(hi, lo + 1.0)
    odd = np.arange(len(env)) % 2 == 1
    first, second = np.where(odd, hi, lo), np.where(odd, lo, hi)
    x = layout.column_x(np.arange(len(env)))
    return np.column_stack([np.repeat(x, 2), np.column_stack([first, second]).ravel()])


class Player:
    """Plays a trial's audio on the default output device (sounddevice).

    One output stream stays open (opened at the first play, reopened only when the sample
    rate changes) and plays silence between clips: opening a stream per clip made the first
    tens of ms stutter. Without an output device (or PortAudio) :attr:`notice` says so and
    :meth:`play` does nothing: coding goes on without sound.
    """

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.notice: str | None = None
        self._sd = None
        self._stream = None
        self._lock = threading.Lock()
        self._clip: np.ndarray | None = None
        self._pos = 0
        self._t0: float | None = None
        self._from_ms = self._to_ms = 0.0
        try:
            import sounddevice as sd
            sd.query_devices(kind="output")
            self._sd = sd
        except Exception as exc:  # OSError: no PortAudio; PortAudioError/ValueError: no device
            self._off("no audio output device", exc)

    def _off(self, what: str, exc: Exception) -> None:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.notice = f"{what} ({reason}): playback is off; coding still works"
        self._sd = None

    @property
    def available(self) -> bool:
        return self._sd is not None

    def _callback(self, outdata, frames, time_info, status) -> None:
        with self._lock:
            clip, pos = self._clip, self._pos
            n = 0 if clip is None else min(frames, len(clip) - pos)
            if n > 0:
                outdata[:n, 0] = clip[pos:pos + n]
                self._pos = pos + n
            outdata[n:] = 0
            if clip is not None and self._pos >= len(clip):
                self._clip = None

    def _stream_at(self, rate_hz: int):
        if self._stream is not None and int(self._stream.samplerate) == rate_hz:
            return self._stream
        self.close()
        self._stream = self._sd.OutputStream(samplerate=rate_hz, channels=1, dtype="float32",
                                             latency="high", callback=self._callback)
        self._stream.start()
        return self._stream

    def prepare(self, rate_hz: int) -> None:
        """Open the stream ahead of the first play (its start-up would clip the clip's start)."""
        if self._sd is None:
            return
        try:
            self._stream_at(int(rate_hz))
        except Exception as exc:
            self._off("playback failed", exc)

    def play(self, x: np.ndarray, timing, from_ms: float | None = None) -> bool:
        """Play ``x`` from ``from_ms`` (ms from the flip; None: from sample 0). True if started."""
        if self._sd is None:
            return False
        start = 0 if from_ms is None else min(max(index_from_ms(from_ms, timing), 0), len(x))
        if start >= len(x):
            return False
        try:
            self._stream_at(timing.rate_hz)
        except Exception as exc:  # the device went away or refuses the rate
            self._off("playback failed", exc)
            return False
        with self._lock:
            self._clip = np.ascontiguousarray(x[start:], dtype=np.float32)
            self._pos = 0
        self._t0 = self.clock()
        self._from_ms = timing.ms_of_index(start)
        self._to_ms = timing.ms_of_index(len(x))
        return True

    def position_ms(self) -> float | None:
        """Roughly where playback is (ms from the flip; output latency not counted), or None."""
        if self._t0 is None:
            return None
        ms = self._from_ms + (self.clock() - self._t0) * 1000.0
        if ms > self._to_ms:
            self._t0 = None
            return None
        return ms

    def stop(self) -> None:
        """Stop the clip playing (the stream stays open)."""
        with self._lock:
            self._clip = None
        self._t0 = None

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None


class KeyReader:
    """Each key press once, in order, with whether shift was held (PsychoPy's ptb backend).

    PsychoPy 2026.2.5's ``getKeys(waitRelease=False)`` misses a press released within the same
    poll and a release re-appends the press (see ``experiment.devices.keyboard``): presses are
    read with both ``waitRelease`` values and a press seen while still down is remembered
    (by identity, the object kept alive) so its release is not taken for a new press.
    """

    def __init__(self):
        check_display()
        from psychopy import logging
        from psychopy.hardware import keyboard
        self._kb = keyboard.Keyboard()
        backend = self._kb.getBackend()
        if backend not in WORKING_BACKENDS:
            raise KeyboardBackendError(
                f"PsychoPy's keyboard is using its '{backend}' backend, which loses key presses; "
                "install libjack (apt-get install libjack-jackd2-0) so the 'ptb' backend loads")
        self._now = logging.defaultClock.getTime     # the clock of KeyPress.tDown
        self._down: dict[int, object] = {}
        self._shift: deque = deque(maxlen=8)
        self._repeated: dict[int, int] = {}

    def _shifted(self, t: float) -> bool:
        return any(s.tDown <= t and (s.duration is None or s.tDown + s.duration >= t)
                   for s in self._shift)

    def presses(self) -> list[tuple[str, bool]]:
        """New presses since the last call as (key name, shift held), earliest first."""
        got = (self._kb.getKeys(waitRelease=False, clear=True)
               + self._kb.getKeys(waitRelease=True, clear=True))
        fresh = []
        for k in got:
            if self._down.get(id(k)) is k:
                if k.duration is not None:
                    del self._down[id(k)]
                    self._repeated.pop(id(k), None)
                continue
            if any(k is f for f in fresh):
                continue
            if k.duration is None:
                self._down[id(k)] = k
            fresh.append(k)
        fresh.sort(key=lambda k: k.tDown)
        out = []
        for k in fresh:
            if k.name in SHIFT_KEYS:
                self._shift.append(k)
            else:
                out.append((k.name, self._shifted(k.tDown)))
        return out

    def repeats(self, names: tuple[str, ...]) -> list[tuple[str, bool]]:
        """Auto-repeat of ``names`` held down longer than REPEAT_DELAY_S (each due repeat once)."""
        now, out = self._now(), []
        for key_id, k in list(self._down.items()):
            if k.name not in names or k.duration is not None:
                continue
            held = now - k.tDown - REPEAT_DELAY_S
            due = int(held // REPEAT_EVERY_S) + 1 if held >= 0 else 0
            done = self._repeated.get(key_id, 0)
            if due > done:
                self._repeated[key_id] = due
                out.extend([(k.name, self._shifted(now))] * (due - done))
        return out


def set_text(stim, text: str) -> None:
    """Set a TextStim's text only when it changes (each assignment re-renders the glyphs)."""
    if stim.text != text:
        stim.text = text


class CodingTool:
    """The coding window: one trial at a time, its waveform, and the coder's keys."""

    def __init__(self, session: CodingSession, all_trials: bool = False,
                 size: tuple[int, int] = (1200, 760), capture_dir: Path | None = None):
        from psychopy import core, visual
        self.session, self.all_trials = session, all_trials
        self.trials = session.trials
        self.file = CoderFile(session.coder_path, session.coder)
        self.layout = Layout(*size)
        self.capture_dir = capture_dir
        self._captures = 0
        self.clock = core.getTime
        self.rgb, background, font = stimulus_look(session.files)
        L = self.layout
        self.win = visual.Window(size=list(size), fullscr=False, units="pix", color=list(PANEL),
                                 colorSpace="rgb255", allowGUI=True, checkTiming=False,
                                 winType="pyglet", title="stroop-walk coding: starting")
        self.keys = KeyReader()
        self._clicks: deque = deque()
        self.win.winHandle.push_handlers(on_mouse_press=self._on_press, on_mouse_drag=self._on_drag)
        self.player = Player(self.clock)

        def text(y: float, height: float = 17, color=TEXT, x: float | None = None,
                 align: str = "left", wrap: float | None = None) -> visual.TextStim:
            return visual.TextStim(self.win, text="", pos=(L.wave_left if x is None else x, y),
                                   height=height, color=list(color), colorSpace="rgb255",
                                   anchorHoriz=align, anchorVert="top", alignText=align,
                                   wrapWidth=wrap or L.width - 80, font="Arial")
        self.facts = text(L.height / 2 - 20, wrap=L.width - 460)
        self.stim_bg = visual.Rect(self.win, width=340, height=150, pos=L.stim_pos,
                                   fillColor=list(background), lineColor=list(DIM),
                                   colorSpace="rgb255")
        self.stim_word = visual.TextStim(self.win, text="", pos=L.stim_pos, height=56, bold=True,
                                         font=font, colorSpace="rgb255", color=list(TEXT))
        self.wave = visual.ShapeStim(self.win, vertices=[[0, 0], [1, 0]], closeShape=False,
                                     fillColor=None, lineColor=list(WAVE), colorSpace="rgb255",
                                     lineWidth=1)
        self.frame = visual.Rect(self.win, width=L.wave_width, height=L.wave_top - L.wave_bottom,
                                 pos=(L.wave_left + L.wave_width / 2, L.wave_mid),
                                 fillColor=None, lineColor=[70, 70, 70], colorSpace="rgb255")
        self.axis = visual.ShapeStim(self.win, vertices=[[0, 0], [1, 0]], closeShape=False,
                                     fillColor=None, lineColor=list(DIM), colorSpace="rgb255")
        self.tick_labels = [text(L.wave_bottom - 14, height=14, color=DIM, align="center")
                            for _ in range(14)]
        self.axis_title = text(L.wave_bottom - 34, height=14, color=DIM,
                               x=L.wave_left + L.wave_width, align="right")

        def marker(color, width: float = 2) -> visual.ShapeStim:
            # a vertical line through the waveform area at x = pos[0]
            return visual.ShapeStim(self.win, vertices=[[0, L.wave_bottom], [0, L.wave_top]],
                                    closeShape=False, fillColor=None, lineColor=list(color),
                                    colorSpace="rgb255", lineWidth=width)
        self.detected_line, self.onset_line = marker(DETECTED), marker(ONSET)
        self.playhead = marker(PLAYHEAD, 1)
        self.detected_label = text(L.wave_top + 44, height=15, color=DETECTED, align="center")
        self.onset_label = text(L.wave_top + 24, height=15, color=ONSET, align="center")
        self.wave_message = text(L.wave_mid + 10, height=22, color=ERROR,
                                 x=L.wave_left + L.wave_width / 2, align="center")
        self.status = text(L.wave_bottom - 58, height=17)
        self.notice_stim = text(L.wave_bottom - 82, height=17, color=NOTICE)
        self.help = text(-L.height / 2 + 46, height=14, color=DIM)
        self.help.text = HELP
        self.done_text = text(60, height=24, x=0, align="center")

        self.index: int | None = None
        self.quit = False
        self.notice = self.player.notice or ""
        if self.player.notice:
            print(self.player.notice, flush=True)
        self._view_drawn: tuple | None = None

    # ---------------------------------------------------------------- state
    @property
    def trial(self) -> CodingTrial | None:
        return None if self.index is None else self.trials[self.index]

    def show(self, index: int | None) -> None:
        """Make trial ``index`` current (None: the end screen)."""
        self.player.stop()
        self.index = index
        self.zoomed = False
        self.x, self.timing, self.problem = None, None, None
        if index is None:
            return
        trial = self.trials[index]
        try:
            self.x, self.timing = load_audio(trial)
            self.peak = float(np.max(np.abs(self.x))) if self.x.size else 0.0
            self.player.prepare(self.timing.rate_hz)
        except CodingError as exc:
            self.problem = str(exc)
            print(f"trial {trial.label}: {self.problem}", flush=True)
        latest = self.file.latest().get(trial.key)
        self.onset_ms = latest.onset_ms if latest is not None else trial.detected_rt_ms
        self.view = self._full_view()

    def _full_view(self) -> View | None:
        return None if self.x is None else full_view(len(self.x), self.timing)

    def _zoom_centre(self) -> float:
        if self.onset_ms is not None:
            return self.onset_ms
        if self.trial.detected_rt_ms is not None:
            return self.trial.detected_rt_ms
        whole = self._full_view()
        return (whole.lo_ms + whole.hi_ms) / 2

    def _refresh_view(self) -> None:
        if self.x is None:
            return
        if self.zoomed:
            if self.onset_ms is None or not self.view.contains(self.onset_ms):
                self.view = zoom_view(self._zoom_centre(), len(self.x), self.timing)
        else:
            self.view = self._full_view()

    def move_onset(self, delta_ms: float) -> None:
        if self.x is None:
            self.notice = f"{self.problem}: the onset cannot be set; press u to code it unclear"
            return
        if self.onset_ms is None:   # the first step puts it back (detected, else mid-view)
            self.onset_ms = self._zoom_centre()
        else:
            self.onset_ms = clamp_onset_ms(round(self.onset_ms + delta_ms, 6), len(self.x),
                                           self.timing)
        self._refresh_view()

    def code(self, code: str) -> None:
        trial = self.trial
        if self.x is None and code != "unclear":
            self.notice = f"{self.problem}: only u (unclear) can be saved for this trial"
            return
        record = trial.record(self.session.coder, code, self.onset_ms)
        try:
            self.file.append(record)
        except Exception as exc:  # disk full, file replaced meanwhile: nothing lost, say so
            self.notice = f"NOT SAVED: {exc}"
            print(f"error: not saved: {exc}", file=sys.stderr, flush=True)
            return
        print(f"saved {trial.label}: {code}, onset {format_ms(record.onset_ms) or 'none'} ms "
              f"(moved {record.onset_moved})", flush=True)
        self.notice = (f"saved trial {self.index + 1}: {code}, onset "
                       f"{format_ms(record.onset_ms) or 'none (no speech)'}")
        self.show(next_index(self.trials, self.file.latest(), self.index, self.all_trials))

    def handle(self, key: str, shifted: bool) -> None:
        if key == "escape":
            self.quit = True
            return
        if key in ("backspace", "p"):
            target = len(self.trials) - 1 if self.index is None else self.index - 1
            if target >= 0:
                self.notice = ""
                self.show(target)
            return
        if self.index is None:
            return
        if key in CODE_KEYS:
            self.code(CODE_KEYS[key])
        elif key == "s":
            self.notice = f"skipped trial {self.index + 1} (not saved)"
            self.show(self.index + 1 if self.index + 1 < len(self.trials) else None)
        elif key in ("left", "right"):
            step = BIG_STEP_MS if shifted else SMALL_STEP_MS
            self.move_onset(step if key == "right" else -step)
        elif key in ("up", "down"):
            self.move_onset(BIG_STEP_MS if key == "up" else -BIG_STEP_MS)
        elif key == "n":
            if self.x is None:
                self.notice = f"{self.problem}: only u (unclear) can be saved for this trial"
            else:
                self.onset_ms = None
        elif key == "r":
            if self.x is not None:
                self.onset_ms = self.trial.detected_rt_ms
                self._refresh_view()
        elif key == "z":
            if self.x is not None:
                self.zoomed = not self.zoomed
                self.view = (zoom_view(self._zoom_centre(), len(self.x), self.timing)
                             if self.zoomed else self._full_view())
        elif key in ("space", "o"):
            if self.x is None:
                self.notice = f"{self.problem}: nothing to play"
            elif not self.player.available:
                self.notice = self.player.notice
            elif key == "o" and self.onset_ms is None:
                self.notice = "no onset set: o plays from the onset (space plays from the flip)"
            elif not self.player.play(self.x, self.timing,
                                      None if key == "space" else self.onset_ms):
                if self.player.notice:
                    self.notice = self.player.notice
                    print(self.notice, flush=True)

    def _on_press(self, x, y, button, modifiers):
        if button == 1:   # pyglet.window.mouse.LEFT
            self._clicks.append((x, y))

    def _on_drag(self, x, y, dx, dy, buttons, modifiers):
        if buttons & 1:
            self._clicks.append((x, y))

    def handle_mouse(self) -> bool:
        """A left click (or drag) in the waveform sets the onset there; True if one came."""
        came = bool(self._clicks)
        while self._clicks:
            x, y = self._clicks.popleft()   # pyglet: pixels from the bottom left
            x, y = x - self.layout.width / 2, y - self.layout.height / 2
            if self.trial is not None and self.x is not None and self.layout.in_wave(x, y):
                self.onset_ms = clamp_onset_ms(round(self.layout.ms_of(self.view, float(x)), 3),
                                               len(self.x), self.timing)
        return came

    # ---------------------------------------------------------------- drawing
    def _facts(self, trial: CodingTrial) -> str:
        say = trial.correct_response or trial.ink
        detected = ("none found" if trial.detected_rt_ms is None
                    else f"{trial.detected_rt_ms:.1f} ms")
        conf = "" if trial.confidence is None else f", confidence {trial.confidence:.2f}"
        if trial.snr_db is not None:
            conf += f", SNR {trial.snr_db:.0f} dB" + (" (low: check the onset)" if trial.snr_db < 15 else "")
        online = "" if trial.online_rt_ms is None else f" (online {trial.online_rt_ms:.1f} ms)"
        latest = self.file.latest().get(trial.key)
        n_rows = sum(r.key == trial.key for r in self.file.records)
        yours = ("not coded yet" if latest is None else
                 f"{latest.code}, onset {format_ms(latest.onset_ms) or 'none (no speech)'}"
                 + (f"  ({n_rows} rows; the last counts)" if n_rows > 1 else ""))
        return (f"Trial {self.index + 1} of {len(self.trials)}   {trial.label}   "
                f"(session trial {trial.trial_in_session})   condition: {trial.condition or '?'}\n"
                f"Word {trial.word} in {trial.ink} ink ({trial.congruency or '?'}):  "
                f"should say  {say.upper()}\n"
                f"Experimenter's live code: {trial.live_code or '-'}    "
                f"Voice key onset: {detected}{conf}{online}\n"
                f"Coder {self.session.coder}: {yours}")

    def _draw_wave(self) -> None:
        L, view = self.layout, self.view
        key = (self.index, view)
        if self._view_drawn != key:
            env = view_envelope(self.x, self.timing, view, L.wave_width)
            env = env / max(self.peak, 1e-4)
            self.wave.vertices = waveform_vertices(env, L)
            ticks = tick_times_ms(view, max_ticks=len(self.tick_labels))
            axis = [[L.wave_left, L.wave_bottom]]
            for label, t in zip(self.tick_labels, ticks + [None] * len(self.tick_labels)):
                if t is None:
                    label.text = ""
                    continue
                x = L.x_of(view, t)
                axis += [[x, L.wave_bottom], [x, L.wave_bottom - 6], [x, L.wave_bottom]]
                label.pos = (x, L.wave_bottom - 8)
                label.text = f"{t:g}"
            axis.append([L.wave_left + L.wave_width, L.wave_bottom])
            self.axis.vertices = axis
            self.axis_title.text = ("ms from the word's onset (flip)" + (
                "" if self.timing.exact else "  [timing: nominal rate, no recordings.csv row]")
                + ("   ZOOM +-150 ms" if self.zoomed else ""))
            self._view_drawn = key
        self.frame.draw()
        self.wave.draw()
        self.axis.draw()
        for label in self.tick_labels:
            if label.text:
                label.draw()
        self.axis_title.draw()
        for ms, line, label, name in ((self.trial.detected_rt_ms, self.detected_line,
                                       self.detected_label, "detected"),
                                      (self.onset_ms, self.onset_line, self.onset_label, "onset")):
            if ms is None or not view.contains(ms):
                continue
            x = L.x_of(view, ms)
            line.pos = (x, 0)
            line.draw()
            label.pos = (x, label.pos[1])
            set_text(label, f"{name} {ms:.1f}")
            label.draw()
        pos = self.player.position_ms()
        if pos is not None and view.contains(pos):
            x = L.x_of(view, pos)
            self.playhead.pos = (x, 0)
            self.playhead.draw()

    def _status(self) -> str:
        t = self.trial
        if self.x is None:
            return f"onset: {format_ms(self.onset_ms) or 'none'} ms (cannot be changed: no audio)"
        if self.onset_ms is None:
            onset = "onset: NONE (no speech response)"
        else:
            onset = f"onset: {self.onset_ms:.3f} ms"
            if t.detected_rt_ms is not None:
                onset += f"   ({self.onset_ms - t.detected_rt_ms:+.3f} ms from detected)"
        view = "zoom +-150 ms" if self.zoomed else "whole recording"
        return f"{onset}      view: {view}      peak {20 * np.log10(max(self.peak, 1e-9)):.1f} dBFS"

    def draw(self) -> None:
        if self.index is None:
            latest = self.file.latest()
            n_coded = sum(t.key in latest for t in self.trials)
            set_text(self.done_text, (
                f"{n_coded} of {len(self.trials)} trials coded by {self.session.coder}.\n"
                f"Saved in {self.session.coder_path.name} ({self.session.coder_path.parent.name}).\n\n"
                "backspace: back to the last trial      escape: quit"))
            self.done_text.draw()
        else:
            trial = self.trial
            set_text(self.facts, self._facts(trial))
            self.facts.draw()
            self.stim_bg.draw()
            set_text(self.stim_word, trial.word)
            self.stim_word.color = list(self.rgb.get(trial.ink, TEXT))
            self.stim_word.draw()
            if self.x is None:
                self.frame.draw()
                set_text(self.wave_message, f"{self.problem}\npress u to code this trial unclear")
                self.wave_message.draw()
            else:
                self._draw_wave()
            set_text(self.status, self._status())
            self.status.draw()
        if self.notice:
            set_text(self.notice_stim, self.notice)
            self.notice_stim.draw()
        self.help.draw()

    def capture(self) -> None:
        """With ``capture_dir``: draw the current state and save it as a PNG (one per key; testing)."""
        if self.capture_dir is None:
            return
        self._captures += 1
        t = self.trial
        name = "end" if t is None else f"p{t.is_practice}_b{t.block:02d}_t{t.trial_in_block:03d}"
        self.win.clearBuffer()
        self.draw()
        self.win.getMovieFrame(buffer="back")
        self.win.saveMovieFrames(str(self.capture_dir / f"{self._captures:04d}_{name}.png"))

    # ---------------------------------------------------------------- loop
    def run(self) -> None:
        latest = self.file.latest()
        first = start_index(self.trials, latest, self.all_trials)
        if first is None:
            self.notice = f"all {len(self.trials)} trials are coded by {self.session.coder}: " \
                          "backspace goes back through them (or start with --all)"
        self.show(first)
        self.draw()
        self.win.flip()
        self.win.title = f"stroop-walk coding: {self.session.files.stem} ({self.session.coder})"
        print(f"coding {len(self.trials)} voice trials of {self.session.files.stem} as "
              f"{self.session.coder}; starting at "
              f"{'the end screen' if first is None else f'trial {first + 1}'}", flush=True)
        self.capture()
        while not self.quit:
            events = self.keys.presses()
            if self.index is not None:
                events += self.keys.repeats(("left", "right", "up", "down"))
            for key, shifted in events:
                self.handle(key, shifted)
                if self.quit:
                    break
                self.capture()
            if self.quit:
                break
            if self.handle_mouse():
                self.capture()
            self.win.clearBuffer()
            self.draw()
            t = self.clock()
            self.win.flip()
            if self.clock() - t < 0.004:   # no vsync (virtual display): do not spin a core
                time.sleep(0.01)

    def close(self) -> None:
        self.player.stop()
        self.player.close()
        self.file.close()
        self.win.close()


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: give WIDTHxHEIGHT in pixels, "
                                         "e.g. 1200x760") from None
    if w < 900 or h < 600:
        raise argparse.ArgumentTypeError(f"--size {text!r}: at least 900x600 pixels")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiment.coding_tool",
                                description="Code the vocal responses of a session (listen, check "
                                            "the speech onset, code correct/wrong/unclear).")
    p.add_argument("session", type=Path, metavar="SESSION_FOLDER_OR_TRIALS_FILE",
                   help="participant folder (<data>/<participant>) or a session's *_trials.csv")
    p.add_argument("--coder", required=True, help="your coder ID (letters, digits, - and _)")
    p.add_argument("--all", action="store_true",
                   help="go through every trial (default: start at your first uncoded trial)")
    p.add_argument("--size", type=parse_size, default=(1200, 760), metavar="WxH",
                   help="window size in pixels (default 1200x760)")
    p.add_argument("--capture-frames", type=Path, metavar="DIR",
                   help="save the screen after every key as PNG (testing)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        session = load_session(args.session, args.coder)
        check_display()
    except (CodingError, KeyboardBackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.capture_frames:
        args.capture_frames.mkdir(parents=True, exist_ok=True)
    try:
        tool = CodingTool(session, all_trials=args.all, size=args.size,
                          capture_dir=args.capture_frames)
    except KeyboardBackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        tool.run()
    finally:
        latest = tool.file.latest()
        n_coded = sum(t.key in latest for t in session.trials)
        tool.close()
    print(f"{session.coder_path}: {n_coded} of {len(session.trials)} trials coded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
