"""Presses and the response-device interface the session talks to. No PsychoPy import.

A press is one event with its own key-down (or button-down, or speech-onset) time on
PsychoPy's clock (``core.getTime()``, seconds). A device hands each press over exactly once
(:meth:`ResponseDevice.poll`); the session keeps them in one :class:`PressLedger`, where a
press is counted for at most one screen or trial, and only for a screen or trial that was
already shown when the press went down. A press is never told apart from another by object
identity or by when it was read: only by its own down time, so a key held across a screen
change, a release read late, or a key down and up within one poll cannot be counted twice or
for the wrong trial. RTs are down time minus the stimulus flip's time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from experiment.core.config import Config
    from experiment.core.datafile import SessionPaths
    from experiment.core.screens import ScreenText


@dataclass(frozen=True)
class Press:
    """One press: ``name`` as in the config's response mapping ('d', 'space', 'button2',
    'voice'); ``t_down_s``: when it went down (speech: its onset), PsychoPy clock, seconds."""
    name: str
    t_down_s: float
    device: str = "keyboard"

    def rt_ms(self, onset_s: float) -> float:
        """Milliseconds from ``onset_s`` (the stimulus flip, PsychoPy clock s) to the press."""
        return (self.t_down_s - onset_s) * 1000.0


@dataclass
class PressLedger:
    """Every press of a session, in down-time order; each is counted at most once.

    ``take`` hands out the first press not yet counted whose name is wanted and whose down
    time lies in ``[after_s, before_s)``, and marks it counted. Presses older than the
    latest ``after_s`` ever asked for can never be counted any more and are forgotten.
    """
    presses: list[Press] = field(default_factory=list)
    counted: set[Press] = field(default_factory=set)

    def add(self, new: Iterable[Press]) -> None:
        """Add presses a device handed over (each press once; any order)."""
        new = list(new)
        if new:
            self.presses.extend(new)
            self.presses.sort(key=lambda p: p.t_down_s)

    def _matching(self, names: Sequence[str], after_s: float, before_s: float) -> list[Press]:
        wanted = set(names)
        return [p for p in self.presses if p.name in wanted and p not in self.counted
                and after_s <= p.t_down_s < before_s]

    def take(self, names: Sequence[str], after_s: float,
             before_s: float = float("inf")) -> Press | None:
        """The earliest uncounted press of ``names`` down in ``[after_s, before_s)`` (PsychoPy
        clock, s), now counted; None if there is none."""
        found = self._matching(names, after_s, before_s)
        if not found:
            return None
        self.counted.add(found[0])
        return found[0]

    def take_all(self, names: Sequence[str], after_s: float,
                 before_s: float = float("inf")) -> list[Press]:
        """Every uncounted press of ``names`` down in ``[after_s, before_s)``, earliest first,
        now all counted (e.g. the digits typed on a screen, the experimenter's code keys)."""
        found = self._matching(names, after_s, before_s)
        self.counted.update(found)
        return found

    def forget_before(self, t_s: float) -> None:
        """Drop presses down before ``t_s``: nothing can count them any more (keeps the ledger small)."""
        self.presses = [p for p in self.presses if p.t_down_s >= t_s]
        self.counted = {p for p in self.counted if p.t_down_s >= t_s}


class DeviceHost(Protocol):
    """What a response device may use of the session that runs it (and nothing else): the
    config, screens, fresh presses, the pause, the session's files and its event log."""
    config: "Config"

    @property
    def files(self) -> "SessionPaths":
        """Where the session's files are (a device writes its own beside them)."""

    @property
    def trials_saved(self) -> int:
        """How many trial rows the session has saved."""

    def screen(self, screen: "ScreenText", keys: list[str] | None = None, pausable: bool = True) -> str:
        """Show ``screen`` until a fresh press of one of ``keys`` (default: continue); returns it."""

    def show(self, screen: "ScreenText") -> float:
        """Draw ``screen`` and flip; returns its onset (PsychoPy clock, s)."""

    def draw(self, screen: "ScreenText") -> None:
        """Draw ``screen`` for the next flip (in a wait's drawing callback)."""

    def holding_screen(self, screen: "ScreenText") -> Callable[[], None]:
        """A callable that draws ``screen`` and flips once, for waits the device runs."""

    def wait_for_press(self, names: list[str], after_s: float, draw: Callable[[], None]) -> Press:
        """The first press of ``names`` down at or after ``after_s``, flipping until it comes."""

    def announce(self, screen_id: str, keys: list[str]) -> None:
        """Tell a simulated participant (if any) that a screen waits for ``keys``."""

    def pause(self) -> None:
        """The pause screen: returns on continue, raises the session's abort on abort."""

    def add_event(self, kind: str, **details) -> None:
        """Record an event in the session's sidecar."""


class ResponseDevice(Protocol):
    name: str         # 'keyboard', ...
    rt_source: str    # written to the trial file's rt_source column
    scoring: str      # 'auto': correct iff the response names the ink; 'experimenter': the
                      # experimenter codes each trial with a key (vocal responses)
    whole_window: bool  # True: a trial lasts at least the whole response window (the device
                        # records it), and the row is saved at the end of the interval
    ends_word_on_response: bool  # False: the word stays up for the whole window
    reports: tuple[str, ...] | None  # the response names it reports (None: the config's keys or buttons)

    def poll(self) -> list[Press]:
        """Presses that went down since the last poll, each handed over exactly once."""

    def on_stimulus_flip(self, t_flip_s: float) -> None:
        """Called right after the flip that shows a word, with that flip's time (PsychoPy
        clock, s): e.g. the voice key starts listening; must be cheap."""

    def prepare_session(self, host: DeviceHost) -> dict:
        """Called once before the instructions (e.g. a button test screen, using ``host.screen``).

        Returns facts for the sidecar's run entry (may be empty).
        """

    def prepare_block(self, host: DeviceHost, block) -> None:
        """Called before a block's first trial, once the participant walks steadily."""

    def trial_facts(self, trial, stim_onset_s: float, window_s: float) -> dict:
        """Called once the trial's interval is over: trial-row fields the device measured.

        May set ``rt_ms`` and ``response`` (the device's authoritative RT, replacing the
        online one) and the voice columns of :class:`experiment.core.session_files.TrialOutcome`.
        """

    def close(self) -> None:
        """Release the device."""


class DeviceDefaults:
    """The optional parts of :class:`ResponseDevice` for a device that needs none of them."""
    scoring = "auto"
    whole_window = False
    ends_word_on_response = True
    reports = None

    def on_stimulus_flip(self, t_flip_s: float) -> None:
        return None

    def prepare_session(self, host: DeviceHost) -> dict:
        return {}

    def prepare_block(self, host: DeviceHost, block) -> None:
        return None

    def trial_facts(self, trial, stim_onset_s: float, window_s: float) -> dict:
        return {}
