"""A simulated participant (and experimenter) that presses real keys through the X server.

Key presses are injected with XTEST (python-xlib) from a worker thread at scheduled times,
so they travel the same path as a person's: X server -> PsychoPy keyboard backend -> the
session (with ``response.device = "buttons"``, a :class:`ButtonPresser` presses a mocked pyglet
gamepad instead and only the experimenter's keys go through X). RTs come from
:class:`analysis.statistics.simulation.RTModel`. No PsychoPy import: the session
passes its clock (``core.getTime``) in.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from analysis.statistics.simulation import RTModel
from experiment.simulation.timer import TimedScheduler
from experiment.core.config import button_number

# PsychoPy key names -> X keysym names, where they differ
_KEYSYMS = {"space": "space", "escape": "Escape", "return": "Return", "backspace": "BackSpace",
            "period": "period", "comma": "comma", "tab": "Tab"}


class KeyInjector:
    """Presses keys on the X display named by $DISPLAY via the XTEST extension."""

    def __init__(self, hold_s: float = 0.06):
        from Xlib import X, XK, display
        from Xlib.ext import xtest
        self._X, self._XK, self._xtest = X, XK, xtest
        self._display = display.Display()
        if not self._display.has_extension("XTEST"):
            raise RuntimeError("the X server has no XTEST extension; cannot simulate key presses")
        self.hold_s = hold_s

    def keycode(self, name: str) -> int:
        sym = self._XK.string_to_keysym(_KEYSYMS.get(name, name))
        code = self._display.keysym_to_keycode(sym)
        if not code:
            raise ValueError(f"no X keycode for key {name!r}")
        return code

    def press(self, name: str) -> None:
        self._xtest.fake_input(self._display, self._X.KeyPress, self.keycode(name))
        self._display.sync()

    def release(self, name: str) -> None:
        self._xtest.fake_input(self._display, self._X.KeyRelease, self.keycode(name))
        self._display.sync()

    def close(self) -> None:
        self._display.close()


class ButtonPresser:
    """Presses ``'buttonN'`` on a gamepad from the scheduler thread; other names go to ``keys``.

    ``gamepad`` has ``press(n)``/``release(n)`` (``experiment.simulation.mock_gamepad.MockJoystickDevice``);
    the experimenter's keys still travel through the X server (a :class:`KeyInjector`).
    Same ``press(name)``/``release(name)``/``hold_s`` shape as KeyInjector, for :class:`KeyScheduler`.
    """

    def __init__(self, gamepad, keys: KeyInjector, hold_s: float = 0.06):
        self.gamepad, self.keys, self.hold_s = gamepad, keys, hold_s

    def press(self, name: str) -> None:
        number = button_number(name)
        if number is None:
            self.keys.press(name)
        else:
            self.gamepad.press(number)

    def release(self, name: str) -> None:
        number = button_number(name)
        if number is None:
            self.keys.release(name)
        else:
            self.gamepad.release(number)

    def close(self) -> None:
        self.keys.close()


@dataclass(frozen=True)
class Injection:
    """One injected press, for comparing recorded RTs with the truth."""
    label: str            # e.g. 'trial p0 b1 t3', 'screen block-start'
    key: str
    scheduled_s: float    # PsychoPy clock
    injected_s: float     # clock read immediately before the XTEST call
    sent_s: float         # clock read once the X server acknowledged it (sync returned)
    onset_s: float | None  # stimulus onset it answers, if any
    hold_s: float = 0.0    # key-down to key-up (s)

    @property
    def rt_ms(self) -> float | None:
        """Injection time minus onset (ms); the X server saw the key in [rt_ms, rt_max_ms]."""
        return None if self.onset_s is None else (self.injected_s - self.onset_s) * 1000.0

    @property
    def rt_max_ms(self) -> float | None:
        return None if self.onset_s is None else (self.sent_s - self.onset_s) * 1000.0


@dataclass(frozen=True)
class PressDurations:
    """How long a simulated person holds a key down (seconds): uniform in [min_s, max_s], and
    ``long_s`` for a share ``long_rate`` of presses (people sometimes rest on a key)."""
    min_s: float = 0.06
    max_s: float = 0.2
    long_rate: float = 0.05
    long_s: float = 0.6

    def draw(self, rng: np.random.Generator) -> float:
        """One hold duration in seconds."""
        if rng.random() < self.long_rate:
            return self.long_s
        return float(rng.uniform(self.min_s, self.max_s))


class KeyScheduler:
    """Presses keys (or buttons) at given times on ``clock`` (seconds) and logs each press.

    Key-down and key-up are two timed actions, so a long hold never delays the next press.
    """

    def __init__(self, injector: KeyInjector, clock: Callable[[], float], spin_s: float = 0.002):
        self._injector, self._clock = injector, clock
        self._timer = TimedScheduler(clock, spin_s, name="key-scheduler")
        self._released_at: dict[str, float] = {}
        self.log: list[Injection] = []

    def at(self, t_s: float, key: str, label: str, onset_s: float | None = None,
           hold_s: float | None = None) -> None:
        """Press ``key`` at ``t_s`` and release it ``hold_s`` later (default: the injector's).

        A key still held from an earlier press is first released, as a person would: the
        press then comes 20 ms after that release.
        """
        hold = self._injector.hold_s if hold_s is None else hold_s
        t_s = max(t_s, self._released_at.get(key, -math.inf) + 0.02)
        self._released_at[key] = t_s + hold
        self._timer.at(t_s, lambda due: self._down(due, key, label, onset_s, hold))
        self._timer.at(t_s + hold, lambda due: self._injector.release(key))

    def _down(self, due_s: float, key: str, label: str, onset_s: float | None, hold_s: float) -> None:
        injected = self._clock()
        self._injector.press(key)
        self.log.append(Injection(label, key, due_s, injected, self._clock(), onset_s, hold_s))

    def stop(self) -> None:
        self._timer.stop()


class SimulatedVoice:
    """Says colour names aloud into a virtual microphone, for a simulated vocal session.

    ``speaker``: an :class:`experiment.simulation.virtual_microphone.SimulatedSpeaker`; ``words``: colour ->
    (samples, onset_s): the spoken name (float, +-1, at the speaker's rate) and the exact
    time of its first sound in seconds from sample 0 (``experiment.simulation.speech.place_word``);
    ``mic_gain``: level of the word in the microphone channel.
    """

    def __init__(self, speaker, words: dict[str, tuple[np.ndarray, float]], mic_gain: float = 1.0):
        self.speaker, self.words, self.mic_gain = speaker, dict(words), mic_gain

    def say(self, speech_onset_s: float, colour: str, label: str) -> None:
        """Have the word's first sound handed to the audio system at ``speech_onset_s`` (clock s)."""
        samples, onset = self.words[colour]
        self.speaker.say_at(speech_onset_s - onset, samples, label=label, text=colour,
                            mic_gain=self.mic_gain, speech_onset_s=onset)

    def close(self) -> None:
        self.speaker.close()


@dataclass(frozen=True)
class SimulationOptions:
    screen_delay_s: float = 0.75       # experimenter "reads" a screen this long before answering
                                       # (a screen passes only on a press >= display.min_screen_s after it)
    abort_after_trials: int | None = None  # press pause then abort on this trial (1-based, session)
    actual_speed_kmh: float | None = None  # typed on walking blocks' end screens instead of confirming
    log_path: Path | None = None           # write the injections as JSON lines at the end
    code_delay_s: float = 0.35             # voice: experimenter codes this long after the word
    durations: PressDurations = PressDurations()  # how long each key is held down


class SimulatedParticipant:
    """Answers the session's screens and trials by scheduling key presses.

    The session calls :meth:`on_screen` when an experimenter/participant screen waits for a
    key and :meth:`on_stimulus` on each word onset.
    """

    def __init__(self, model: RTModel, response_keys: dict[str, str], rng: np.random.Generator,
                 clock: Callable[[], float], options: SimulationOptions = SimulationOptions(),
                 injector: KeyInjector | None = None, voice: SimulatedVoice | None = None,
                 code_keys: dict[str, str] | None = None):
        self.model, self.keys, self.rng, self.clock, self.options = (
            model, dict(response_keys), rng, clock, options)
        self.voice, self.code_keys = voice, dict(code_keys or {})
        self.offset_s = model.participant_offset_s(rng)
        self.scheduler = KeyScheduler(injector or KeyInjector(), clock)
        self._holds = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        self._trials_seen = 0

    def _hold(self) -> float:
        return self.options.durations.draw(self._holds)

    def on_screen(self, screen: str, keys: Sequence[str]) -> None:
        """Answer a screen waiting for one of ``keys`` (the first is the 'go on' key)."""
        t = self.clock() + self.options.screen_delay_s
        if screen == "block-end-speed" and self.options.actual_speed_kmh is not None:
            step = self.options.durations.max_s + 0.05  # one key up before the next goes down
            for ch in f"{self.options.actual_speed_kmh:g}":
                self.scheduler.at(t, "period" if ch == "." else ch, "screen speed",
                                  hold_s=min(self._hold(), step - 0.02))
                t += step
        if screen == "pause" and self.options.abort_after_trials is not None:
            self.scheduler.at(t, keys[1], f"screen {screen}", hold_s=self._hold())  # keys[1]: abort
            return
        self.scheduler.at(t, keys[0], f"screen {screen}", hold_s=self._hold())

    def on_fixation(self, trial, t_fix: float, fixation_s: float) -> None:
        """The fixation of ``trial`` appeared (this participant just waits for the word)."""

    def on_stimulus(self, trial, onset_s: float, window_s: float, pause_key: str) -> None:
        """Schedule the response to ``trial`` (a PlannedTrial) shown at ``onset_s``."""
        self._trials_seen += 1
        label = f"trial p{trial.is_practice} b{trial.block} t{trial.trial_in_block}"
        if self._trials_seen == self.options.abort_after_trials:
            self.scheduler.at(onset_s + 0.2, pause_key, label + " pause", onset_s, self._hold())
            return
        response = self.model.response(self.rng, trial.condition, trial.congruency, window_s,
                                       offset_s=self.offset_s)
        if response.rt_s is None:
            return
        if self.voice is not None:
            said = trial.ink
            if not response.correct:
                wrong = sorted(c for c in self.voice.words if c != trial.ink)
                said = wrong[int(self.rng.integers(len(wrong)))]
            t_said = onset_s + response.rt_s
            self.voice.say(t_said, said, label)
            code = self.code_keys["correct" if said == trial.ink else "wrong"]
            self.scheduler.at(t_said + self.options.code_delay_s, code, label + " code", onset_s,
                              self._hold())
            return
        key = trial.correct_key
        if not response.correct:
            wrong = sorted(k for k in self.keys.values() if k != trial.correct_key)
            key = wrong[int(self.rng.integers(len(wrong)))]
        self.scheduler.at(onset_s + response.rt_s, key, label, onset_s, self._hold())

    def close(self) -> None:
        self.scheduler.stop()
        if self.voice is not None:
            self.voice.close()
        if self.options.log_path is not None:
            with open(self.options.log_path, "w", encoding="utf-8") as fh:
                for item in self.scheduler.log:
                    fh.write(json.dumps({"kind": "key", **asdict(item), "rt_ms": item.rt_ms,
                                         "rt_max_ms": item.rt_max_ms}) + "\n")
                for said in (self.voice.speaker.log if self.voice is not None else []):
                    fh.write(json.dumps({"kind": "speech", **asdict(said),
                                         "spoken_s": said.spoken_s}) + "\n")
