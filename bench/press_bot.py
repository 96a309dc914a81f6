"""An independent participant bot that presses keys the way people do, and the checker of its session.

It shares no code with the project's simulated participant: its own XTEST injector, its own
timer thread, its own idea of which press must count. The session only tells it when a
screen, a fixation or a word appeared (the participant hooks ``on_screen``, ``on_fixation``,
``on_stimulus``; it takes the same constructor arguments as
``experiment.simulation.participant.SimulatedParticipant``, so a driver can put it in its place).

It presses with durations of 0 (down and up in one X request batch), 5, 30, 80, 150, 400 ms
and 1.5 s (held across the next screen or trial), with X auto-repeat on; two presses 50 ms
apart; an unmapped key before the answer; presses during the fixation, just before the
word's flip (held across it), within a frame after it, and in the interval; timeouts; and on
experimenter screens a press too early (before ``display.min_screen_s``), then the real one.

:func:`violations` compares the trial file and the screens' timing with what the bot did.
"""
from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

DURATIONS_S = (0.0, 0.005, 0.03, 0.08, 0.15, 0.4, 1.5)
PATTERNS = ("plain", "double", "unmapped-first", "fixation", "pre-flip", "interval", "early",
            "timeout")
KEYSYMS = {"space": "space", "escape": "Escape", "period": "period", "comma": "comma",
           "backspace": "BackSpace"}


@dataclass
class Injected:
    """One key-down the bot sent: XTEST call started at ``t_s``, acknowledged at ``sent_s``."""
    label: str
    key: str
    t_s: float
    sent_s: float
    hold_s: float


@dataclass
class Shown:
    """Something the session showed the bot: kind 'screen' | 'fixation' | 'word', at ``t_s``."""
    kind: str
    label: str
    t_s: float
    keys: list[str] = field(default_factory=list)


class _Timer:
    """Runs actions at times of ``clock`` on one thread (sleep, then spin the last 2 ms)."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._heap: list = []
        self._n = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def at(self, t_s: float, action: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (t_s, next(self._n), action))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._heap:
                    self._cv.wait()
                if self._stop:
                    return
                t_s = self._heap[0][0]
                wait = t_s - self.clock() - 0.002
                if wait > 0:
                    self._cv.wait(timeout=wait)
                    continue
                _, _, action = heapq.heappop(self._heap)
            while self.clock() < t_s:
                pass
            action()

    def stop(self) -> None:
        time.sleep(1.6)  # let the last long hold end
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=2)


class _Keys:
    """XTEST key events (python-xlib), and gamepad buttons through the driver's mock."""

    def __init__(self, gamepad=None):
        from Xlib import X, XK, display
        from Xlib.ext import xtest
        self.X, self.XK, self.xtest = X, XK, xtest
        self.d = display.Display()
        self.d.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOn)
        self.d.sync()
        self.gamepad = gamepad
        self.lock = threading.Lock()

    def _code(self, key: str) -> int:
        return self.d.keysym_to_keycode(self.XK.string_to_keysym(KEYSYMS.get(key, key)))

    def send(self, key: str, down: bool, up: bool) -> None:
        """Key-down and/or key-up of ``key`` ('buttonN': the gamepad), in one batch."""
        if key.startswith("button") and key[6:].isdigit():
            n = int(key[6:])
            if down:
                self.gamepad.press(n)
            if up:
                self.gamepad.release(n)
            return
        with self.lock:
            if down:
                self.xtest.fake_input(self.d, self.X.KeyPress, self._code(key))
            if up:
                self.xtest.fake_input(self.d, self.X.KeyRelease, self._code(key))
            self.d.sync()


class PressBot:
    """The bot. Constructor arguments as ``SimulatedParticipant``'s; ``options.log_path`` (if
    set) receives its record as JSON when it is closed."""

    min_screen_s = 0.5  # the config's display.min_screen_s (the default)

    def __init__(self, model, response_keys, rng, clock, options=None, injector=None, voice=None,
                 code_keys=None):
        self.clock = clock
        self.mapped = sorted(response_keys.values())
        gamepad = getattr(injector, "gamepad", None)
        self.unmapped = "button5" if gamepad is not None else "x"
        self.keys = _Keys(gamepad)
        self.timer = _Timer(clock)
        self.log_path = getattr(options, "log_path", None)
        self.injected: list[Injected] = []
        self.shown: list[Shown] = []
        self._released_at: dict[str, float] = {}
        self._n_trials = self._n_screens = 0
        self._lock = threading.Lock()

    # ---- pressing ------------------------------------------------------------------------
    def press(self, t_s: float, key: str, hold_s: float, label: str) -> None:
        """Press ``key`` at ``t_s`` for ``hold_s`` (a key still down is released first, as a hand would)."""
        with self._lock:
            t_s = max(t_s, self._released_at.get(key, -1e9) + 0.02)
            self._released_at[key] = t_s + hold_s

        def down() -> None:
            t = self.clock()
            self.keys.send(key, down=True, up=hold_s == 0)
            self.injected.append(Injected(label, key, t, self.clock(), hold_s))
        self.timer.at(t_s, down)
        if hold_s > 0:
            self.timer.at(t_s + hold_s, lambda: self.keys.send(key, down=False, up=True))

    # ---- the session's hooks -------------------------------------------------------------
    def on_screen(self, screen: str, keys) -> None:
        t = self.clock()
        self.shown.append(Shown("screen", screen, t, list(keys)))
        if not keys or not isinstance(keys[0], str) or keys[0].startswith("button"):
            # the button test: the participant presses the asked button, fresh
            self.press(t + self.min_screen_s + 0.2, keys[0], 0.1, f"screen {screen}")
            return
        hold = DURATIONS_S[self._n_screens % len(DURATIONS_S)]
        self._n_screens += 1
        self.press(t + 0.1, keys[0], 0.15, f"screen {screen} too early")
        self.press(t + self.min_screen_s + 0.2, keys[0], hold, f"screen {screen}")

    def on_fixation(self, trial, t_fix: float, fixation_s: float) -> None:
        label = _label(trial)
        self.shown.append(Shown("fixation", label, t_fix))
        pattern = PATTERNS[self._n_trials % len(PATTERNS)]
        key = self.mapped[self._n_trials % len(self.mapped)]
        if pattern == "fixation":
            self.press(t_fix + min(0.05, fixation_s / 4), key, 0.1, label + " fixation")
        elif pattern == "pre-flip" and fixation_s >= 0.1:
            self.press(t_fix + fixation_s - 0.03, key, 0.15, label + " pre-flip")

    def on_stimulus(self, trial, onset_s: float, window_s: float, pause_key: str) -> None:
        label = _label(trial)
        self.shown.append(Shown("word", label, onset_s))
        i = self._n_trials
        self._n_trials += 1
        pattern = PATTERNS[i % len(PATTERNS)]
        hold = DURATIONS_S[i % len(DURATIONS_S)]
        # another key than the one pressed in the fixation, so the answer is a fresh press
        key = self.mapped[(i + 1) % len(self.mapped)]
        other = self.mapped[(i + 2) % len(self.mapped)]
        rt = 0.25 + 0.5 * ((i * 37) % 11) / 10  # 0.25-0.75 s, spread over the patterns
        rt = min(rt, window_s - 0.15)
        if pattern == "timeout":
            return
        if pattern == "early":
            rt = 0.003
        if pattern == "unmapped-first":
            self.press(onset_s + rt - 0.1, self.unmapped, 0.05, label + " unmapped")
        self.press(onset_s + rt, key, hold, label)
        if pattern == "double":
            self.press(onset_s + rt + 0.05, other, 0.08, label + " second")
        if pattern == "interval":
            self.press(onset_s + rt + 0.15, other, 0.08, label + " interval")

    def close(self) -> None:
        self.timer.stop()
        if self.log_path is not None:
            Path(self.log_path).write_text(json.dumps(
                {"injected": [asdict(i) for i in self.injected],
                 "shown": [asdict(s) for s in self.shown]}))


def _label(trial) -> str:
    return f"p{trial.is_practice} b{trial.block} t{trial.trial_in_block}"


# ---- the checker ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    """How far a recorded RT may lie outside [XTEST call, its acknowledgement] (ms).

    ``stalled_ms``: on a trial whose row counts dropped frames, a device stamped when its
    press is dispatched (buttons) may be that much later; such trials are counted as
    ``stalled``. 0 for the keyboard, whose presses are stamped by Psychtoolbox's queue thread
    as it receives them (not at the next poll).
    """
    early_ms: float = 0.5
    late_ms: float = 3.0
    stalled_ms: float = 0.0


def violations(rows: list[dict[str, str]], record: dict, mapped: list[str], window_s: float,
               min_screen_s: float, tol: Tolerance) -> tuple[list[str], dict]:
    """Every way the session's trial rows and screens disagree with what the bot did.

    ``rows``: the trial file; ``record``: the bot's log. Returns (violations, counts): counts
    of trials (judged, ambiguous, timeouts, stalled), screens, the RT errors (recorded RT
    minus the key-down's XTEST call, ms) and each judged press's hold (s), error and XTEST
    call duration (ms). A
    trial whose first key-down lies within 2 ms of the word's flip or of the window's end
    (its side of the boundary is uncertain) is not judged and is counted as ``ambiguous``.
    """
    injected = sorted((Injected(**i) for i in record["injected"]), key=lambda i: i.t_s)
    shown = [Shown(**s) for s in record["shown"]]
    words = {s.label: s.t_s for s in shown if s.kind == "word"}
    bad: list[str] = []
    intended: list[tuple[float, str]] = []  # (the bot's first key-down after the word, ms; the row's rt_ms)
    counts = {"trials": 0, "judged": 0, "ambiguous": 0, "timeouts": 0, "screens": 0, "stalled": 0,
              "rt_errors_ms": [], "judged_presses": []}
    for row in rows:
        label = f"p{row['is_practice']} b{row['block']} t{row['trial_in_block']}"
        counts["trials"] += 1
        if label not in words:
            bad.append(f"{label}: the bot never saw this trial's word")
            continue
        t_on = words[label]
        if abs(float(row["stim_onset_s"]) - t_on) > 0.001:
            bad.append(f"{label}: stim_onset_s {row['stim_onset_s']} is not the flip the bot saw ({t_on:.6f})")
        near = [i for i in injected if i.key in mapped and t_on - 0.002 < i.t_s < t_on + window_s + 0.002]
        if any(abs(i.t_s - t_on) < 0.002 or abs(i.t_s - t_on - window_s) < 0.002 for i in near):
            counts["ambiguous"] += 1
            continue
        counts["judged"] += 1
        first = next((i for i in near if t_on <= i.t_s < t_on + window_s), None)
        if first is None:
            counts["timeouts"] += 1
            if row["response"] != "" or row["rt_ms"] != "":
                bad.append(f"{label}: no key went down in the window, but the row has "
                           f"{row['response']!r} at {row['rt_ms']} ms")
            continue
        if row["response"] != first.key:
            bad.append(f"{label}: response {row['response']!r}, but the first key down after the "
                       f"word was {first.key!r} ({(first.t_s - t_on) * 1000:.1f} ms)")
            continue
        lo, hi = (first.t_s - t_on) * 1000, (first.sent_s - t_on) * 1000
        rt = float(row["rt_ms"])
        intended.append((lo, row["rt_ms"]))
        counts["rt_errors_ms"].append(rt - lo)
        counts["judged_presses"].append({"hold_s": first.hold_s, "error_ms": rt - lo,
                                         "injection_ms": hi - lo})
        stalled = int(row["dropped_frames"] or 0) > 0 and hi + tol.late_ms < rt <= hi + tol.stalled_ms
        counts["stalled"] += stalled
        if not (lo - tol.early_ms <= rt <= hi + tol.late_ms or stalled):
            bad.append(f"{label}: rt_ms {rt:.3f}, but the key went down at {lo:.3f}-{hi:.3f} ms")
    # the same RT on trials whose own key-downs came at different times (more than 1 ms apart)
    # is one trial given another's press; equal RTs of equally timed presses are a coincidence
    by_rt: dict[str, list[float]] = {}
    for down_ms, rt in intended:
        by_rt.setdefault(rt, []).append(down_ms)
    dup = sorted(rt for rt, los in by_rt.items() if len(los) > 1 and max(los) - min(los) > 1.0)
    if dup:
        bad.append(f"RTs recorded on more than one trial for presses at different times: {dup}")
    events = sorted(shown, key=lambda s: s.t_s)
    for k, s in enumerate(events):
        if s.kind != "screen":
            continue
        counts["screens"] += 1
        after = events[k + 1].t_s if k + 1 < len(events) else None
        if after is None:
            continue
        if after - s.t_s < min_screen_s:
            bad.append(f"screen {s.label}: up only {(after - s.t_s) * 1000:.0f} ms "
                       f"(minimum {min_screen_s * 1000:.0f} ms)")
        fresh = [i for i in injected if i.key in s.keys and i.t_s >= s.t_s + min_screen_s]
        if not fresh or fresh[0].t_s > after:
            bad.append(f"screen {s.label}: passed {(after - s.t_s) * 1000:.0f} ms after it "
                       "appeared without a fresh key-down")
    return bad, counts
