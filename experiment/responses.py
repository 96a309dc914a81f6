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
    scoring: str      # 'auto': correct iff the response names the ink; 'experimenter': the
                      # experimenter codes each trial with a key (vocal responses)
    whole_window: bool  # True: a trial lasts at least the whole response window (the device
                        # records it), and the row is saved at the end of the interval
    ends_word_on_response: bool  # False: the word stays up for the whole window
    reports: tuple[str, ...] | None  # the response names it reports (None: the config's keys or buttons)

    def reset_clock(self) -> None:
        """Zero the RT clock and drop pending presses; called by win.callOnFlip on the stimulus flip."""

    def presses(self, names: Sequence[str]) -> list[Press]:
        """Presses of ``names`` since the last reset, earliest first (all of them on every call)."""

    def prepare_session(self, session) -> dict:
        """Called once before the instructions (e.g. a button test screen, using ``session.screen``).

        Returns facts for the sidecar's run entry (may be empty).
        """

    def prepare_block(self, session, block) -> None:
        """Called before a block's first trial, once the participant walks steadily."""

    def trial_facts(self, trial, stim_onset_s: float, window_s: float) -> dict:
        """Called once the trial's interval is over: trial-row fields the device measured.

        May set ``rt_ms`` and ``response`` (the device's authoritative RT, replacing the
        online one) and the voice columns of :class:`experiment.recorder.TrialOutcome`.
        """

    def close(self) -> None:
        """Release the device."""


class DeviceDefaults:
    """The optional parts of :class:`ResponseDevice` for a device that needs none of them."""
    scoring = "auto"
    whole_window = False
    ends_word_on_response = True
    reports = None

    def prepare_session(self, session) -> dict:
        return {}

    def prepare_block(self, session, block) -> None:
        return None

    def trial_facts(self, trial, stim_onset_s: float, window_s: float) -> dict:
        return {}


def first_press(presses: Sequence[Press]) -> Press | None:
    """The earliest press, or None."""
    return min(presses, key=lambda p: p.t_s) if presses else None
