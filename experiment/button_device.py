"""Handheld response buttons or a gamepad as a response device, through pyglet's joystick input.

Only :func:`open_joystick` touches hardware; :class:`ButtonDevice` works on any opened pyglet
``Joystick`` (the tests and ``--simulate`` pass the mock of :mod:`experiment.mock_joystick`).
Presses are reported as ``'buttonN'`` (0-based, as pyglet numbers them; see
``config.button_name``).

Timestamps. pyglet reads the device (evdev on Linux) and dispatches ``on_joybutton_press`` only
when its event loop runs on the main thread. That happens in :meth:`ButtonDevice.presses`
(the session calls it once per frame while a word is shown), in every ``win.flip()`` (the device
is one of the window's event dispatchers, as PsychoPy's own joystick module does it) and in
:meth:`ButtonDevice.reset_clock`. The handler reads ``core.getTime()``, so a press is stamped
at the first dispatch after it: 0 to about one frame interval late (<= ~17 ms at 60 Hz, mean
about half a frame), never early, on top of the gamepad's own USB polling interval (1-8 ms).
pyglet 1.5's evdev reader discards the kernel's event time (``input_event.time``), so nothing
more precise is available through pyglet. (That time is CLOCK_REALTIME by default, the clock
PsychoPy's ``core.getTime(applyZero=False)`` reads on Linux through psychtoolbox's GetSecs: a
reader of /dev/input that kept it could map it onto PsychoPy's clock by subtracting
``core.getTime(False) - core.getTime()``.)
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from experiment.config import button_name
from experiment.responses import DeviceDefaults, Press

TIMESTAMPS = ("core.getTime() when pyglet dispatched the press (at most one frame interval "
              "after it, never before); pyglet does not pass on the kernel's event time")


class ButtonDeviceError(RuntimeError):
    """The gamepad cannot be used as configured (one-line message)."""


def open_joystick(index: int):
    """pyglet's joystick number ``index`` (``response.joystick``), opened; ButtonDeviceError if absent."""
    import pyglet.input
    try:
        joysticks = pyglet.input.get_joysticks()
    except OSError:  # no /dev/input at all
        joysticks = []
    if not 0 <= index < len(joysticks):
        raise ButtonDeviceError(
            f"response.joystick = {index}: pyglet found {len(joysticks)} joystick(s); plug the "
            "gamepad in, check that this user may read /dev/input/event* (the 'input' group), "
            "or set response.joystick")
    joystick = joysticks[index]
    try:
        joystick.open()
    except pyglet.input.DeviceOpenException as exc:
        raise ButtonDeviceError(f"response.joystick = {index}: cannot open "
                                f"'{joystick.device.name}' ({exc})") from None
    return joystick


def pump_pyglet_events(max_rounds: int = 8) -> None:
    """Run pyglet's event loop, never blocking, until nothing is pending (at most ``max_rounds``).

    One ``step`` serves only the devices whose ``poll()`` is true if there are any (the X display
    with queued events); evdev devices always answer False and are served by the next round.
    """
    from pyglet import app
    for _ in range(max_rounds):
        if not app.platform_event_loop.step(0):
            return


class ButtonDevice(DeviceDefaults):
    """Button presses of one opened pyglet joystick, stamped on PsychoPy's clock.

    ``buttons`` maps ink colour -> button number. ``clock`` (seconds) defaults to
    ``psychopy.core.getTime``; ``pump`` runs pyglet's event loop once (tests may pass their own);
    with ``win`` the device is also pumped in every ``win.flip()``.
    """

    name = "buttons"
    rt_source = "button"

    def __init__(self, joystick, buttons: Mapping[str, int], *,
                 clock: Callable[[], float] | None = None,
                 pump: Callable[[], None] = pump_pyglet_events, win=None):
        n = len(joystick.buttons)
        for colour, number in buttons.items():
            if number >= n:
                raise ButtonDeviceError(
                    f"response.buttons.{colour} = {number}: '{joystick.device.name}' has {n} "
                    f"buttons (0-{n - 1})")
        if clock is None:
            from psychopy import core
            clock = core.getTime
        self.joystick, self.buttons = joystick, dict(buttons)
        self._clock, self._pump, self._win = clock, pump, win
        self._presses: list[Press] = []
        self._t0 = clock()
        joystick.push_handlers(on_joybutton_press=self._on_press)
        if win is not None:
            win._eventDispatchers.append(self)  # flip() calls dispatch_events()

    def _on_press(self, joystick, button: int) -> None:
        t = self._clock()
        self._presses.append(Press(button_name(button), t - self._t0, t))

    def dispatch_events(self) -> None:
        """Run pyglet's event loop (PsychoPy calls this in every flip)."""
        self._pump()

    def reset_clock(self) -> None:
        """Zero the RT clock and drop every press so far, including any still queued (call via win.callOnFlip)."""
        self._t0 = self._clock()
        self._pump()  # presses from before the flip are dispatched now, and dropped
        self._presses.clear()

    def presses(self, names: Sequence[str]) -> list[Press]:
        """Every press of ``names`` (e.g. 'button2') since the last reset, earliest first."""
        self._pump()
        wanted = set(names)
        return [p for p in self._presses if p.name in wanted]

    # ---- the button test -------------------------------------------------------------------
    def prepare_session(self, session) -> dict:
        """The button test: the participant presses each colour's button in turn, then the
        experimenter confirms with the continue key (the pause key pauses or aborts, as anywhere).

        Returns the sidecar's ``response_device`` entry: joystick name, mapping, what was pressed.
        """
        r, colours = session.config.response, session.config.design.colours
        tested = {c: self._test_button(session, c, i, len(colours)) for i, c in enumerate(colours, 1)}
        mapping = "\n".join(f"{c.upper()}  =  button {self.buttons[c]}" for c in colours)
        session.screen("button-test-done", f"Every button works:\n\n{mapping}", title="BUTTON TEST",
                       footer=f"Experimenter: {r.continue_key.upper()} to go on, "
                       f"{r.pause_key.upper()} to pause or abort.")
        return {"name": self.name, "joystick": self.joystick.device.name,
                "joystick_buttons": len(self.joystick.buttons), "buttons": dict(self.buttons),
                "button_test": tested, "button_test_confirmed": True, "timestamps": TIMESTAMPS}

    def _test_button(self, session, colour: str, i: int, n: int) -> dict:
        """Wait for ``colour``'s button (wrong buttons are named on screen); returns what was pressed."""
        pause_key = session.config.response.pause_key
        expected = button_name(self.buttons[colour])
        colour_of = {button_name(b): c for c, b in self.buttons.items()}
        every_button = [button_name(b) for b in range(len(self.joystick.buttons))]
        wrong: list[str] = []
        note = ""
        while True:  # again after a pause
            def draw() -> None:
                session.stim.draw_screen(
                    f"Participant: press the {colour.upper()} button.\n\n{note}",
                    f"BUTTON TEST {i} OF {n}",
                    f"Experimenter: {pause_key.upper()} to pause or abort.")
            session.win.callOnFlip(self.reset_clock)
            session.win.callOnFlip(session.keyboard.reset_clock)
            draw()
            shown = session.win.flip()
            if session.participant is not None:
                session.participant.on_screen(f"button-test-{colour}", [expected])
            seen = 0
            while not session.keyboard.presses([pause_key]):
                presses = self.presses(every_button)
                for press in presses[seen:]:
                    if press.name == expected:
                        return {"button": self.buttons[colour], "pressed_after_s":
                                round(press.t_s - shown, 4), "wrong_presses": wrong}
                    wrong.append(press.name)
                    note = (f"That was {press.name}" + (f" ({colour_of[press.name].upper()})"
                            if press.name in colour_of else " (not a response button)") + ".")
                seen = len(presses)
                draw()
                session.win.flip()
            session.pause()  # returns on continue; raises SessionAborted on abort

    def close(self) -> None:
        self.joystick.remove_handlers(on_joybutton_press=self._on_press)
        if self._win is not None and self in self._win._eventDispatchers:
            self._win._eventDispatchers.remove(self)
        self.joystick.close()
