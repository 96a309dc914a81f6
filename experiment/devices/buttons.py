"""Handheld response buttons or a gamepad as a response device, through pyglet's joystick input.

Only :func:`open_joystick` touches hardware; :class:`ButtonDevice` works on any opened pyglet
``Joystick`` (the tests and ``--simulate`` pass the mock of :mod:`experiment.simulation.mock_gamepad`).
Presses are reported as ``'buttonN'`` (0-based, as pyglet numbers them; see
``config.button_name``).

Timestamps. pyglet reads the device (evdev on Linux) and dispatches ``on_joybutton_press`` only
when its event loop runs on the main thread. That happens in :meth:`ButtonDevice.poll`, which
the session calls once per frame in every wait. The handler reads ``core.getTime()``, so a
press is stamped at the first dispatch after it: 0 to about one frame interval late (<= ~17 ms
at 60 Hz, mean about half a frame), never early, on top of the gamepad's own USB polling interval (1-8 ms).
pyglet 1.5's evdev reader discards the kernel's event time (``input_event.time``), so nothing
more precise is available through pyglet. (That time is CLOCK_REALTIME by default, the clock
PsychoPy's ``core.getTime(applyZero=False)`` reads on Linux through psychtoolbox's GetSecs: a
reader of /dev/input that kept it could map it onto PsychoPy's clock by subtracting
``core.getTime(False) - core.getTime()``.)
"""
from __future__ import annotations

from typing import Callable, Mapping

from experiment.core.config import button_name
from experiment.devices.protocol import DeviceDefaults, DeviceHost, Press
from experiment.core.screens import ScreenText

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
    ``psychopy.core.getTime``; ``pump`` runs pyglet's event loop once (tests may pass their own).
    Each button-down becomes one :class:`Press`, handed over once by :meth:`poll`.
    """

    name = "buttons"
    rt_source = "button"

    def __init__(self, joystick, buttons: Mapping[str, int], *,
                 clock: Callable[[], float] | None = None,
                 pump: Callable[[], None] = pump_pyglet_events):
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
        self._clock, self._pump = clock, pump
        self._new: list[Press] = []
        joystick.push_handlers(on_joybutton_press=self._on_press)

    def _on_press(self, joystick, button: int) -> None:
        self._new.append(Press(button_name(button), self._clock(), "buttons"))

    def on_stimulus_flip(self, t_flip_s: float) -> None:
        """Drop the presses still queued at the word's flip: they went down before it (as far
        as a device stamped at dispatch can tell), and a trial counts only later presses."""
        self._pump()
        self._new = [p for p in self._new if p.t_down_s < t_flip_s]

    def poll(self) -> list[Press]:
        """Every button-down since the last poll (e.g. 'button2'), earliest first, each once."""
        self._pump()
        new, self._new = self._new, []
        return new

    # ---- the button test -------------------------------------------------------------------
    def prepare_session(self, host: DeviceHost) -> dict:
        """The button test: the participant presses each colour's button in turn, then the
        experimenter confirms with the continue key (the pause key pauses or aborts, as anywhere).

        Returns the sidecar's ``response_device`` entry: joystick name, mapping, what was pressed.
        """
        r, colours = host.config.response, host.config.design.colours
        tested = {c: self._test_button(host, c, i, len(colours)) for i, c in enumerate(colours, 1)}
        mapping = "\n".join(f"{c.upper()}  =  button {self.buttons[c]}" for c in colours)
        host.screen(ScreenText("button-test-done", title="BUTTON TEST",
                                  body=f"Every button works:\n{mapping}",
                                  footer=f"Experimenter: {r.continue_key.upper()} to go on, "
                                  f"{r.pause_key.upper()} to pause or abort."))
        return {"name": self.name, "joystick": self.joystick.device.name,
                "joystick_buttons": len(self.joystick.buttons), "buttons": dict(self.buttons),
                "button_test": tested, "button_test_confirmed": True, "timestamps": TIMESTAMPS}

    def _test_button(self, host: DeviceHost, colour: str, i: int, n: int) -> dict:
        """Wait for ``colour``'s button (wrong buttons are named on screen); returns what was pressed."""
        pause_key = host.config.response.pause_key
        expected = button_name(self.buttons[colour])
        colour_of = {button_name(b): c for c, b in self.buttons.items()}
        every_button = [button_name(b) for b in range(len(self.joystick.buttons))]
        wrong: list[str] = []

        def screen(note: str) -> ScreenText:
            return ScreenText(f"button-test-{colour}", title=f"BUTTON TEST {i} OF {n}",
                              message=f"Participant: press the {colour.upper()} button.", body=note,
                              footer=f"Experimenter: {pause_key.upper()} to pause or abort.")
        while True:  # again after a pause
            note = ""
            shown = host.show(screen(note))
            host.announce(f"button-test-{colour}", [expected])
            after = shown + host.config.display.min_screen_s
            while True:
                press = host.wait_for_press(every_button + [pause_key], after,
                                            lambda: host.draw(screen(note)))
                if press.name == pause_key:
                    break
                if press.name == expected:
                    return {"button": self.buttons[colour], "pressed_after_s":
                            round(press.t_down_s - shown, 4), "wrong_presses": wrong}
                wrong.append(press.name)
                note = (f"That was {press.name}" + (f" ({colour_of[press.name].upper()})"
                        if press.name in colour_of else " (not a response button)") + ".")
            host.pause()  # returns on continue; raises SessionAborted on abort

    def close(self) -> None:
        self.joystick.remove_handlers(on_joybutton_press=self._on_press)
        self.joystick.close()
