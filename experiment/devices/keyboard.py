"""The keyboard as a response device: Psychtoolbox's keyboard queue, as PsychoPy's 'ptb' backend reads it.

Why not ``psychopy.hardware.keyboard.Keyboard.getKeys``: in PsychoPy 2026.2.5 a key held
across ``clearEvents()`` stays in the device's list of keys still down, so its release
re-delivers the old KeyPress (with its old RT) after the clock reset; a release can also be
matched to an older KeyPress of the same key whose release was lost, and ``getKeys
(waitRelease=False)`` drops a key pressed and released within one poll. Telling presses apart
by object identity, or forgetting them at each reset, therefore counted one press on two
screens and gave a trial an earlier trial's RT. So this device reads the raw key events
(key code, down or up, time) from the same Psychtoolbox queue PsychoPy uses and turns each
key-down into one :class:`Press`, handed over once (:class:`KeyEvents`). Key names are
PsychoPy's (``psychopy.hardware.keyboard.keyNames``), times are on PsychoPy's clock.

The time of an event is when Psychtoolbox's queue thread took it from the X server
(``GetSecs`` right after ``XNextEvent`` in PsychHID's Linux KbQueue; the X server's own
millisecond event time is not kept), so it is late by that thread's wake-up: well under a
millisecond on an idle machine, several milliseconds when the CPUs are saturated (an
independent XI2 listener measured up to 7 ms for RT presses and 9 ms for experimenter-screen
presses at load average ~8 on 2 cores). Psychtoolbox drops X auto-repeat events itself.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Mapping

from experiment.devices.protocol import DeviceDefaults, Press

WORKING_BACKENDS = ("ptb",)
QUEUE_SLOTS = 10000


class KeyboardBackendError(RuntimeError):
    """PsychoPy's keyboard cannot give trustworthy key times here (one-line message)."""


def check_display() -> None:
    """KeyboardBackendError unless an X display is there (without one the ptb backend segfaults)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise KeyboardBackendError("no X display: set DISPLAY, or run under a virtual display "
                                   "(xvfb-run -a python -m experiment ...)")


@dataclass(frozen=True)
class KeyEvent:
    """One raw event of a keyboard's queue: which keyboard, key ``code``, ``down`` (False:
    released), time (PsychoPy clock, s)."""
    keyboard: int
    code: int
    down: bool
    t_s: float


@dataclass
class KeyEvents:
    """Turns the raw key events into presses: one per key-down of a key that was up.

    A key-down of a key already down (auto-repeat, or a release the queue lost) is not a
    new press; a down and its up in the same batch still give the press. Pure logic.
    """
    names: Mapping[int, str]
    down: set[tuple[int, int]] = field(default_factory=set)

    def presses(self, events: list[KeyEvent]) -> list[Press]:
        """The new presses among ``events`` (each keyboard's in queue order), earliest first."""
        out = []
        for e in events:
            key = (e.keyboard, e.code)
            if not e.down:
                self.down.discard(key)
            elif key not in self.down:
                self.down.add(key)
                out.append(Press(self.names.get(e.code, f"keycode{e.code}"), e.t_s, "keyboard"))
        return sorted(out, key=lambda p: p.t_down_s)


class KeyboardDevice(DeviceDefaults):
    """Every keyboard PsychHID finds (one queue each, as PsychoPy's ``device=-1``), for the
    participant's keys and the experimenter's. Presses are stamped when Psychtoolbox's queue
    thread receives the event from the X server, on PsychoPy's clock; HEADLESS.md measures this
    path at 0.5 ± 0.2 ms from injection on an idle machine."""

    name = "keyboard"
    rt_source = "keyboard"

    def __init__(self):
        check_display()
        from psychopy import logging
        from psychopy.hardware import keyboard
        if not keyboard.havePTB:
            raise KeyboardBackendError(
                "Psychtoolbox's keyboard (PsychoPy's 'ptb' backend) did not load, and PsychoPy's "
                "fallback loses key presses and times them at poll time; install libjack "
                "(apt-get install libjack-jackd2-0) so it loads")
        from psychtoolbox import hid
        self.backend = "ptb"
        self._clock_zero = logging.defaultClock.getLastResetTime
        self._events = KeyEvents(dict(keyboard.keyNames))
        indices, _, _ = hid.get_keyboard_indices()
        if not len(indices):
            raise KeyboardBackendError("Psychtoolbox finds no keyboard on this display")
        self._queues = {int(i): hid.Keyboard(int(i), buffer_size=QUEUE_SLOTS) for i in indices}
        for queue in self._queues.values():
            queue.queue_start()
        # KbQueueFlush type 1 returns the number of waiting events (macOS, Linux); on Windows
        # PsychoPy uses 0, as type 1 can flush events there before they are read
        self._flush_type = 0 if sys.platform == "win32" else 1

    def _raw_events(self) -> list[KeyEvent]:
        zero = self._clock_zero()
        events = []
        for index, queue in self._queues.items():
            while queue.flush(flush_type=self._flush_type):
                evt, _ = queue.queue_get_event()
                events.append(KeyEvent(index, int(evt["Keycode"]), bool(evt["Pressed"]),
                                       evt["Time"] - zero))
        return events

    def poll(self) -> list[Press]:
        """Every key-down since the last poll, earliest first, each handed over once."""
        return self._events.presses(self._raw_events())

    def close(self) -> None:
        from psychtoolbox import PsychHID
        for queue in self._queues.values():
            queue.queue_stop()
            PsychHID("KbQueueRelease", queue.device_number)  # psychtoolbox.hid has no public release
