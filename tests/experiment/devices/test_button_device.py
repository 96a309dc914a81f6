"""Handheld buttons: the colour -> button mapping, the device over pyglet's joystick events, and a
short real session under Xvfb in which the simulated participant presses a mocked pyglet gamepad.

This machine has no /dev/input: the gamepad is :mod:`experiment.simulation.mock_gamepad`, pyglet's own
Joystick over a device whose events arrive through pyglet's event loop like evdev's. Everything
else (pyglet's event loop and Button/Joystick dispatch, the window, the session) is real.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from experiment.core.config import button_name, button_number, load_config
from experiment.core.datafile import read_rows
from experiment.core.design import session_plan

REPO = Path(__file__).resolve().parents[3]
E2E_CONFIG = REPO / "tests" / "e2e.toml"
BUTTONS = {"red": 3, "green": 0, "blue": 1, "yellow": 2}  # not the default: mapping bugs show
BUTTONS_OVERLAY = {"response": {"device": "buttons", "buttons": BUTTONS}}
# Resolution of a button RT (button_device.py): stamped at the first pyglet dispatch after the
# press, i.e. never early and at most one frame interval late. Xvfb flips in well under 1 ms; the
# bound allows a 60 Hz frame for a loaded machine.
STAMP_LATE_MAX_MS = 17.0
CLOCK_SLACK_MS = 1.0  # the RT clock is zeroed in callOnFlip, just after the flip time is read


def require_display() -> None:
    """Skip without an X display (pyglet.input and the window need one); fail in CI."""
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("the button tests need an X display: run them with `make test` "
                               "(it starts Xvfb)")
        pytest.skip("no X display: run under xvfb-run (make test does)")


# ---- mapping and validation (pure) -----------------------------------------------------------
def test_response_names_follow_the_device():
    keyboard = load_config()
    assert keyboard.response.response_names() == dict(keyboard.response.keys)
    buttons = load_config(BUTTONS_OVERLAY)
    assert buttons.response.response_names() == {c: f"button{n}" for c, n in BUTTONS.items()}
    assert [button_number(button_name(n)) for n in (0, 7, 12)] == [0, 7, 12]
    assert [button_number(s) for s in ("d", "space", "button", "buttonx")] == [None] * 4


def test_planned_correct_response_is_the_inks_button():
    config = load_config(E2E_CONFIG, BUTTONS_OVERLAY)
    plan = session_plan(config, "P001", 1, config.design.conditions)
    trials = plan.all_trials()
    assert {t.correct_key for t in trials} == {f"button{n}" for n in BUTTONS.values()}
    for t in trials:
        assert t.correct_key == f"button{BUTTONS[t.ink]}"
    # the trial lists themselves do not depend on the device
    keyboard_plan = session_plan(load_config(E2E_CONFIG), "P001", 1, config.design.conditions)
    assert [(t.word, t.ink) for t in keyboard_plan.all_trials()] == [(t.word, t.ink) for t in trials]


def test_buttons_session_config_is_valid_and_checked_like_the_rest():
    """The one-line errors for response.buttons / response.joystick are in test_config.py."""
    from experiment.core.config import ConfigError
    assert load_config(BUTTONS_OVERLAY).response.device == "buttons"
    with pytest.raises(ConfigError, match=r"^response.joystick = 'pad': must be a whole number$"):
        load_config(BUTTONS_OVERLAY, {"response": {"joystick": "pad"}})


# ---- the device over a mocked pyglet gamepad -------------------------------------------------
@pytest.fixture
def gamepad():
    require_display()
    from experiment.simulation.mock_gamepad import mock_joystick
    joystick = mock_joystick(6)
    yield joystick
    if joystick.device.is_open:
        joystick.close()


@pytest.fixture
def device(gamepad):
    from experiment.devices.buttons import ButtonDevice
    dev = ButtonDevice(gamepad, BUTTONS, clock=time.perf_counter)
    yield dev
    dev.close()


@pytest.mark.display
def test_a_press_is_dispatched_only_when_pyglet_runs_and_stamped_then(device, gamepad):
    assert device.poll() == []
    t_press = time.perf_counter()
    gamepad.device.press(BUTTONS["blue"])
    gamepad.device.release(BUTTONS["blue"])
    time.sleep(0.02)
    assert gamepad.buttons == [False] * 6  # queued like a kernel event, nothing dispatched yet
    t_poll = time.perf_counter()
    (press,) = device.poll()
    assert (press.name, press.device) == ("button1", "buttons")
    assert t_poll <= press.t_down_s <= time.perf_counter()  # stamped at dispatch, not at the press
    assert press.t_down_s - t_press >= 0.02
    assert device.poll() == []  # handed over once


@pytest.mark.display
def test_presses_from_another_thread_arrive_at_the_next_poll_in_order(device, gamepad):
    t0 = time.perf_counter()
    schedule = [(0.03, 0), (0.06, 3), (0.09, 1)]
    sent: list[tuple[float, float]] = []  # (just before press(), just after it returned)

    def hand():
        for at, button in schedule:
            while time.perf_counter() < t0 + at:
                time.sleep(0.0005)
            before = time.perf_counter()
            gamepad.device.press(button)
            sent.append((before, time.perf_counter()))
            gamepad.device.release(button)
    thread = threading.Thread(target=hand)
    thread.start()
    polls: list[tuple[float, float]] = []  # (start, end) of every poll
    presses: list = []
    first_seen: dict[int, int] = {}  # press number -> poll that handed it over
    while thread.is_alive() or len(presses) < len(schedule):
        start = time.perf_counter()
        found = device.poll()
        polls.append((start, time.perf_counter()))
        for press in found:
            first_seen[len(presses)] = len(polls) - 1
            presses.append(press)
        time.sleep(0.002)  # a 2 ms "frame"
    thread.join()
    assert [p.name for p in presses] == ["button0", "button3", "button1"]
    for k, (press, (before, after)) in enumerate(zip(presses, sent)):
        poll = first_seen[k]
        # stamped by the poll that dispatched it: never before the press, never after that poll
        assert before <= press.t_down_s <= polls[poll][1]
        # and that is the first poll that started once the press was queued
        assert poll <= next(i for i, (start, _) in enumerate(polls) if start >= after)
    assert device.poll() == []


@pytest.mark.display
def test_presses_still_queued_at_the_word_flip_are_never_handed_over(device, gamepad):
    gamepad.device.press(0)  # before the stimulus, not yet dispatched
    gamepad.device.release(0)
    t_flip = time.perf_counter()
    device.on_stimulus_flip(t_flip)
    assert device.poll() == []
    gamepad.device.press(0)
    (press,) = device.poll()
    assert press.name == "button0" and press.t_down_s > t_flip


@pytest.mark.display
def test_mapping_beyond_the_gamepad_and_missing_gamepad_are_one_line_errors(gamepad):
    from experiment.devices.buttons import ButtonDevice, ButtonDeviceError, open_joystick
    with pytest.raises(ButtonDeviceError, match=r"^response.buttons.red = 6: 'stroop-walk mock "
                       r"gamepad' has 6 buttons \(0-5\)$"):
        ButtonDevice(gamepad, {**BUTTONS, "red": 6}, clock=time.perf_counter)
    # this machine has no /dev/input: the real opening path reports it
    with pytest.raises(ButtonDeviceError, match=r"^response.joystick = 0: pyglet found 0 joystick"):
        open_joystick(0)


@pytest.mark.display
def test_button_presser_presses_buttons_on_the_gamepad(device, gamepad):
    from experiment.simulation.participant import ButtonPresser
    presser = ButtonPresser(gamepad.device, keys=None)
    presser.press("button2")
    presser.release("button2")
    assert [p.name for p in device.poll()] == ["button2"]


# ---- a real session under Xvfb with the mocked gamepad ---------------------------------------
@pytest.fixture(scope="module")
def buttons_session(tmp_path_factory):
    require_display()
    data = tmp_path_factory.mktemp("data")
    overlay = data / "buttons.toml"
    overlay.write_text('[design]\nconditions = ["stand", "forward"]\n'
                       '[response]\ndevice = "buttons"\n[response.buttons]\n'
                       + "".join(f"{c} = {n}\n" for c, n in BUTTONS.items()))
    log = data / "sim.jsonl"
    cmd = [sys.executable, "-m", "experiment", "--config", str(E2E_CONFIG), "--config",
           str(overlay), "--simulate", "--participant", "P002", "--data-dir", str(data),
           "--sim-log", str(log)]
    t = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"buttons session: {time.monotonic() - t:.1f} s")
    folder = data / "P002"
    files = {s: next(folder.glob(f"*{s}")) for s in ("_trials.csv", "_session.json", "_plan.csv")}
    items = [json.loads(line) for line in log.read_text().splitlines()]
    config = load_config(E2E_CONFIG, overlay)
    return config, files, items


@pytest.mark.display
def test_session_rows_match_the_buttons_pressed(buttons_session):
    config, files, items = buttons_session
    rows = read_rows(files["_trials.csv"])
    n = config.practice.trials + len(config.design.conditions) * config.design.trials_per_block
    assert len(rows) == n
    pressed = {i["label"]: i for i in items if i["label"].startswith("trial")}
    window_ms = config.timing.response_window_s * 1000
    errors_ms, n_wrong = [], 0
    for row in rows:
        assert (row["rt_source"], row["response_device"]) == ("button", "buttons")
        assert row["correct_response"] == f"button{BUTTONS[row['ink']]}"
        label = f"trial p{row['is_practice']} b{row['block']} t{row['trial_in_block']}"
        inj = pressed.get(label)
        if inj is None:
            assert (row["response"], row["rt_ms"], row["timeout"], row["correct"]) == ("", "", "1", "0")
            continue
        if inj["rt_ms"] > window_ms - STAMP_LATE_MAX_MS:
            continue  # pressed at the very end of the window: may be stamped after it
        assert inj["key"].startswith("button")
        assert row["response"] == inj["key"], (row, inj)
        assert row["correct"] == str(int(row["response"] == row["correct_response"]))
        n_wrong += row["correct"] == "0"
        error = float(row["rt_ms"]) - inj["rt_ms"]
        assert -CLOCK_SLACK_MS <= error <= STAMP_LATE_MAX_MS, (row, inj)
        errors_ms.append(error)
    assert n_wrong >= 1 and len(errors_ms) >= n // 2  # the seeded simulation errs sometimes
    frame_ms = json.loads(files["_session.json"].read_text())["runs"][0]["frame_interval_median_ms"]
    # stamped at the next poll of the trial loop: on average well under a 60 Hz frame late
    assert 0 <= float(np.median(errors_ms)) <= STAMP_LATE_MAX_MS / 2
    print(f"button RT minus press time (ms): median {np.median(errors_ms):.3f}, 90th pct "
          f"{np.percentile(errors_ms, 90):.3f}, max {np.max(errors_ms):.3f}, min "
          f"{np.min(errors_ms):.3f} (n={len(errors_ms)}; empty-screen flip {frame_ms} ms)")


@pytest.mark.display
def test_button_test_ran_first_and_is_in_the_sidecar(buttons_session):
    config, files, items = buttons_session
    sidecar = json.loads(files["_session.json"].read_text())
    assert sidecar["status"] == "complete"
    info = sidecar["runs"][0]["response_device"]
    assert info["name"] == "buttons" and info["joystick"] == "stroop-walk mock gamepad"
    assert info["buttons"] == BUTTONS and info["button_test_confirmed"] is True
    assert list(info["button_test"]) == list(config.design.colours)
    for colour, seen in info["button_test"].items():
        assert seen["button"] == BUTTONS[colour] and seen["wrong_presses"] == []
        assert seen["pressed_after_s"] >= config_screen_delay()
    labels = [i["label"] for i in items]
    first = [i for i in items if i["label"].startswith("screen button-test-")
             and i["label"] != "screen button-test-done"]
    assert [(i["label"], i["key"]) for i in first] == [
        (f"screen button-test-{c}", f"button{BUTTONS[c]}") for c in config.design.colours]
    assert labels.index("screen button-test-done") < labels.index("screen instructions")
    assert labels.index("screen button-test-done") == len(config.design.colours)


def config_screen_delay() -> float:
    from experiment.simulation.participant import SimulationOptions
    return SimulationOptions().screen_delay_s


# ---- the button test screen: wrong buttons and a pause (a real window, keyboard and session) ----
def _button_test_in_a_real_session(out: Path) -> None:
    """Run ButtonDevice.prepare_session in a real Session; a script presses a wrong button and
    an unmapped one for RED, and the pause key (then continue) on GREEN's first showing."""
    from psychopy import core

    from experiment.devices.buttons import ButtonDevice
    from experiment.shell.display import open_window
    from experiment.devices.keyboard import KeyboardDevice
    from experiment.simulation.mock_gamepad import mock_joystick
    from experiment.core.session_files import SessionInfo, SessionRecorder
    from experiment.shell.session import Session
    from experiment.simulation.participant import ButtonPresser, KeyInjector, KeyScheduler

    config = load_config(E2E_CONFIG, BUTTONS_OVERLAY)
    win = open_window(config, fullscreen=False)
    keyboard = KeyboardDevice()
    gamepad = mock_joystick(6)
    device = ButtonDevice(gamepad, config.response.buttons)
    order = tuple(config.design.conditions)
    recorder = SessionRecorder.start(config, SessionInfo("P003", 1, "", order, "override", True),
                                     session_plan(config, "P003", 1, order),
                                     "2026-01-01_00h00.00.000", out, {})
    scheduler = KeyScheduler(ButtonPresser(gamepad.device, KeyInjector()), core.getTime)
    seen: list[str] = []

    class Script:
        def on_screen(self, screen: str, keys) -> None:
            seen.append(screen)
            t = core.getTime() + config.display.min_screen_s + 0.15
            if screen == "button-test-red":
                scheduler.at(t, "button5", screen)  # not a response button
                scheduler.at(t + 0.15, f"button{BUTTONS['green']}", screen)  # GREEN's
                t += 0.3
            elif screen == "button-test-green" and seen.count(screen) == 1:
                scheduler.at(t, config.response.pause_key, screen)
                return
            scheduler.at(t, keys[0], screen)

    session = Session(config, recorder, win, device, Script(), keyboard=keyboard)
    info = device.prepare_session(session)
    scheduler.stop()
    device.close()
    win.close()
    (out / "result.json").write_text(json.dumps({"info": info, "seen": seen,
                                                 "events": recorder.sidecar["events"]}))


@pytest.mark.display
def test_button_test_names_wrong_buttons_and_can_be_paused(tmp_path):
    require_display()
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    tested = result["info"]["button_test"]
    assert tested["red"]["wrong_presses"] == ["button5", f"button{BUTTONS['green']}"]
    assert all(tested[c]["wrong_presses"] == [] for c in ("green", "blue", "yellow"))
    assert result["seen"] == ["button-test-red", "button-test-green", "pause", "button-test-green",
                              "button-test-blue", "button-test-yellow", "button-test-done"]
    assert [e["event"] for e in result["events"]] == ["continued"]


if __name__ == "__main__":  # the subprocess of test_button_test_names_wrong_buttons_and_can_be_paused
    _button_test_in_a_real_session(Path(sys.argv[1]))
