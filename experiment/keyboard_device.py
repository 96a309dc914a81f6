"""The keyboard as a response device: PsychoPy's ``hardware.keyboard`` with a backend check.

PsychoPy 2026.2.5's ``getKeys(waitRelease=False)`` never returns a press whose release was
dispatched in the same poll, and a release re-appends the same KeyPress object; so presses
are read with ``clear=False`` in both modes, de-duplicated by identity and remembered, and
the buffer is cleared only by :meth:`reset_clock`.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from experiment.responses import DeviceDefaults, Press

WORKING_BACKENDS = ("ptb", "iohub")


class KeyboardBackendError(RuntimeError):
    """PsychoPy's keyboard cannot give trustworthy key times here (one-line message)."""


def check_display() -> None:
    """KeyboardBackendError unless an X display is there (without one the ptb backend segfaults)."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise KeyboardBackendError("no X display: set DISPLAY, or run under a virtual display "
                                   "(xvfb-run -a python -m experiment ...)")


class KeyboardDevice(DeviceDefaults):
    """One PsychoPy keyboard, used for the participant's keys and the experimenter's."""

    name = "keyboard"
    rt_source = "keyboard"

    def __init__(self):
        check_display()
        from psychopy.hardware import keyboard
        self._kb = keyboard.Keyboard()
        self.backend = self._kb.getBackend()
        if self.backend not in WORKING_BACKENDS:
            raise KeyboardBackendError(
                f"PsychoPy's keyboard is using its '{self.backend}' backend, which loses key "
                "presses and times them at poll time; install libjack "
                "(apt-get install libjack-jackd2-0) so the 'ptb' backend loads")
        self._seen: dict[int, Press] = {}

    def reset_clock(self) -> None:
        """Zero the RT clock and forget pending presses (call via win.callOnFlip)."""
        self._kb.clock.reset()
        self._kb.clearEvents()
        self._seen.clear()

    def presses(self, names: Sequence[str]) -> list[Press]:
        """Every press of ``names`` since the last reset, earliest first (returned again on each call)."""
        names = list(names)
        for resp in (self._kb.getKeys(names, waitRelease=False, clear=False)
                     + self._kb.getKeys(names, waitRelease=True, clear=False)):
            if id(resp) not in self._seen:
                self._seen[id(resp)] = Press(name=resp.name, rt_s=float(resp.rt),
                                             t_s=float(resp.tDown))
        return sorted((p for p in self._seen.values() if p.name in names), key=lambda p: p.t_s)

    def close(self) -> None:
        pass
