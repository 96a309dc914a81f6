"""The response-device interface the session talks to. No PsychoPy import.

A device reports presses with times on PsychoPy's clock (``core.getTime()``, seconds) and
RTs relative to the last :meth:`ResponseDevice.reset_clock` (called on the flip that shows
the word). Adding a device means implementing this protocol; the session flow is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence


@dataclass(frozen=True)
class Press:
    name: str     # key or button name, as in the config's response mapping
    rt_s: float   # seconds since the device clock's last reset (the stimulus flip)
    t_s: float    # seconds, PsychoPy clock


class ResponseDevice(Protocol):
    name: str         # 'keyboard', ...
    rt_source: str    # written to the trial file's rt_source column

    def reset_clock(self) -> None:
        """Zero the RT clock and drop pending presses; called by win.callOnFlip on the stimulus flip."""

    def presses(self, names: Sequence[str]) -> list[Press]:
        """Presses of ``names`` since the last reset, earliest first (all of them on every call)."""

    def prepare_session(self, session) -> dict:
        """Called once before the instructions (e.g. a button test screen, using ``session.screen``).

        Returns facts for the sidecar's run entry (may be empty).
        """

    def close(self) -> None:
        """Release the device."""


def first_press(presses: Sequence[Press]) -> Press | None:
    """The earliest press, or None."""
    return min(presses, key=lambda p: p.t_s) if presses else None
