"""PsychoPy's participant dialog, filled in through real key presses on the X display."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiment.core.design import order_for_participant

REPO = Path(__file__).resolve().parents[3]
E2E_CONFIG = REPO / "tests" / "e2e.toml"

pytestmark = pytest.mark.display
if not os.environ.get("DISPLAY"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("the dialog tests need an X display: run them with `make test`")
    pytest.skip("no X display: run under xvfb-run (make test does)", allow_module_level=True)


def window_titles() -> set[str]:
    from Xlib import display
    d = display.Display()
    titles, stack = set(), [d.screen().root]
    while stack:
        win = stack.pop()
        try:
            name = win.get_wm_name()
            stack.extend(win.query_tree().children)
        except Exception:  # a window that vanished meanwhile
            continue
        if name:
            titles.add(name if isinstance(name, str) else name.decode())
    d.close()
    return titles


def wait_for_window(title: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if title in window_titles():
            time.sleep(0.5)  # let it take focus
            return
        time.sleep(0.2)
    raise AssertionError(f"no window {title!r}; have {sorted(window_titles())}")


@pytest.fixture
def keys():
    from experiment.simulation.participant import KeyInjector
    injector = KeyInjector(hold_s=0.03)

    def type_keys(*names: str) -> None:
        for name in names:
            injector.press(name)
            time.sleep(0.03)
            injector.release(name)
            time.sleep(0.05)
    yield type_keys
    injector.close()


def start(data: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "experiment", "--config", str(E2E_CONFIG),
                             "--data-dir", str(data)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_dialog_fills_participant_and_prefills_the_williams_order(tmp_path, keys):
    proc = start(tmp_path)
    wait_for_window("stroop-walk: participant")
    keys("p", "0", "4", "2", "Return")
    wait_for_window("Condition order")
    keys("Return")  # accept the pre-filled order
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("p042/*_session.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the instructions screen is up
    keys("escape")
    time.sleep(1.5)
    keys("q")  # abort from the pause screen
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err[-2000:]
    sidecar = json.loads(next(tmp_path.glob("p042/*_session.json")).read_text())
    expected = order_for_participant("p042", ("stand", "forward", "backward"))
    assert sidecar["participant"] == "p042" and sidecar["session"] == 1
    assert tuple(sidecar["condition_order"]) == expected and sidecar["order_source"] == "williams"
    assert sidecar["status"] == "aborted" and sidecar["simulated"] is False


def test_cancelled_dialog_writes_nothing(tmp_path, keys):
    proc = start(tmp_path)
    wait_for_window("stroop-walk: participant")
    keys("escape")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "cancelled" in err
    assert not any(tmp_path.iterdir())
