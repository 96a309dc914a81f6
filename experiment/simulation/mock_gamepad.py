"""A mocked pyglet gamepad, for tests and ``--simulate`` on machines without /dev/input.

It is pyglet's own :class:`pyglet.input.base.Joystick` over a stand-in for
``pyglet.input.evdev.EvdevDevice``: like the evdev device it is an ``XlibSelectDevice``
registered with pyglet's event loop, but its file descriptor is a pipe instead of
``/dev/input/eventN``. Another thread (the simulated participant's scheduler) calls
:meth:`MockJoystickDevice.press` / :meth:`release`: the change is queued and the pipe becomes
readable, as the kernel makes an evdev file readable. The button's value changes, and pyglet
dispatches ``on_joybutton_press``, only when the main thread runs pyglet's event loop
(``pyglet.app.platform_event_loop.step``) -- when a real event would be read. Linux/X11 only
(pyglet's Xlib event loop), which is where the tests run.
"""
from __future__ import annotations

import os
import threading

import pyglet.app
from pyglet.app.xlib import XlibSelectDevice
from pyglet.input.base import AbsoluteAxis, Button, Device, Joystick

MOCK_NAME = "stroop-walk mock gamepad"


class MockJoystickDevice(XlibSelectDevice, Device):
    """A gamepad with two axes and ``n_buttons`` buttons whose presses come from :meth:`press`."""

    def __init__(self, n_buttons: int = 8, name: str = MOCK_NAME):
        super().__init__(None, name)
        self._axes = [AbsoluteAxis("x", -1, 1, "ABS_X"), AbsoluteAxis("y", -1, 1, "ABS_Y")]
        self._buttons = [Button(None, f"BTN_{i}") for i in range(n_buttons)]
        self._lock = threading.Lock()
        self._queue: list[tuple[int, int]] = []
        self._read_fd: int | None = None
        self._write_fd: int | None = None

    # pyglet Device / XlibSelectDevice interface, as EvdevDevice implements it
    def open(self, window=None, exclusive=False) -> None:
        super().open(window, exclusive)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        pyglet.app.platform_event_loop._select_devices.add(self)

    def close(self) -> None:
        super().close()
        if self._read_fd is None:
            return
        pyglet.app.platform_event_loop._select_devices.discard(self)
        os.close(self._read_fd)
        os.close(self._write_fd)
        self._read_fd = self._write_fd = None

    def get_controls(self) -> list:
        return self._axes + self._buttons

    def fileno(self) -> int | None:
        return self._read_fd

    def poll(self) -> bool:
        return False  # as EvdevDevice: pending events are found by select() on the descriptor

    def select(self) -> None:
        """Called by pyglet's event loop when the pipe is readable: apply the queued changes."""
        try:
            os.read(self._read_fd, 4096)
        except BlockingIOError:
            pass
        with self._lock:
            events, self._queue = self._queue, []
        for button, value in events:
            self._buttons[button].value = value  # pyglet's Button dispatches on_press/on_release

    # what a hand does (any thread)
    def press(self, button: int) -> None:
        self._send(button, 1)

    def release(self, button: int) -> None:
        self._send(button, 0)

    def _send(self, button: int, value: int) -> None:
        if not 0 <= button < len(self._buttons):
            raise ValueError(f"the mock gamepad has buttons 0-{len(self._buttons) - 1}, not {button}")
        if self._write_fd is None:
            raise RuntimeError("the mock gamepad is not open")
        with self._lock:
            self._queue.append((button, value))
        os.write(self._write_fd, b"e")


def mock_joystick(n_buttons: int = 8, name: str = MOCK_NAME) -> Joystick:
    """An opened pyglet Joystick over a :class:`MockJoystickDevice` (its ``.device``)."""
    joystick = Joystick(MockJoystickDevice(n_buttons, name))
    joystick.open()
    return joystick
