"""Every press counted once, on the screen and trial it answers, with its own time.

Real sessions under Xvfb, answered by an independent bot (``bench/press_bot.py``) that presses
through XTEST (keyboard) or the mocked gamepad (buttons) with human press durations from
0 ms to a 1.5 s hold, X auto-repeat on, and presses in every phase. The checker compares each
trial row with the bot's own key-down times, and each screen's duration with its presses.
The mutation test runs the same bot against the version before the fix (from git) and shows
that the matrix catches its defects.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiment.core.config import load_config
from experiment.core.datafile import read_rows

from bench.press_bot import Tolerance, violations

REPO = Path(__file__).resolve().parents[3]
E2E_CONFIG = REPO / "tests" / "e2e.toml"
DRIVER = REPO / "bench" / "press_matrix_driver.py"
OLD_VERSION = "2fdf28e"  # the last commit before presses were told apart by their down time
MATRIX = ('[design]\ntrials_per_block = 24\n'
          '[timing]\nfixation_s = 0.3\nresponse_window_s = 1.2\n')
BUTTONS = ('[response]\ndevice = "buttons"\n[response.buttons]\n'
           'red = 0\ngreen = 1\nblue = 2\nyellow = 3\n')

pytestmark = [pytest.mark.display, pytest.mark.slow]


def _require_display() -> None:
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("the press matrix needs an X display: run it with `make test`")
        pytest.skip("no X display: run under xvfb-run (make test does)")


def run_matrix(tmp: Path, overlays: list[str], code: Path = REPO, participant: str = "M001"):
    """One session answered by the bot; returns (config, trial rows, bot record, session log text)."""
    _require_display()
    configs = []
    for i, text in enumerate(overlays):
        path = tmp / f"overlay{i}.toml"
        path.write_text(text)
        configs += ["--config", str(path)]
    record = tmp / "bot.json"
    data = tmp / "data"
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run([sys.executable, str(DRIVER), "--config", str(E2E_CONFIG), *configs,
                           "--simulate", "--participant", participant, "--data-dir", str(data),
                           "--sim-log", str(record)], cwd=code, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = load_config(E2E_CONFIG, *[tmp / f"overlay{i}.toml" for i in range(len(overlays))])
    rows = read_rows(next((data / participant).glob("*_trials.csv")))
    log = next((data / participant).glob("*.log")).read_text()
    return config, rows, json.loads(record.read_text()), log


def check(config, rows, record, tol: Tolerance) -> tuple[list[str], dict]:
    mapped = list(config.response.response_names().values())
    return violations(rows, record, mapped, config.timing.response_window_s,
                      config.display.min_screen_s, tol)


@pytest.fixture(scope="module")
def keyboard_matrix(tmp_path_factory):
    return run_matrix(tmp_path_factory.mktemp("kb"), [MATRIX])


def test_keyboard_every_press_counts_once_on_its_own_trial(keyboard_matrix):
    config, rows, record, _ = keyboard_matrix
    bad, counts = check(config, rows, record, Tolerance(early_ms=0.5, late_ms=3.0))
    errors = np.array(counts["rt_errors_ms"])
    print(f"\nkeyboard matrix: {counts['trials']} trials, {counts['judged']} judged, "
          f"{counts['ambiguous']} ambiguous, {counts['timeouts']} timeouts, {counts['screens']} "
          f"screens; RT - key-down: median {np.median(errors):.3f} ms, max {errors.max():.3f} ms")
    assert not bad, "\n".join(bad)
    assert counts["judged"] >= 0.9 * counts["trials"] and counts["screens"] >= 5
    assert counts["timeouts"] >= 1 and len(errors) >= 0.6 * counts["trials"]


def test_keyboard_screens_log_once_and_pass_on_fresh_presses(keyboard_matrix):
    config, _, record, log = keyboard_matrix
    assert "TextStim" not in log  # a screen is logged once, not its text every frame
    shown = [line for line in log.splitlines() if "EXP \tscreen " in line
             and ":" not in line.split("screen ", 1)[1] and "screen settle" not in line]
    passed = [line for line in log.splitlines() if "EXP \tscreen " in line and " down " in line]
    assert len(shown) == len([s for s in record["shown"] if s["kind"] == "screen"])
    for line in passed:
        after = float(line.split(" down ")[1].split(" s ")[0])
        assert after >= config.display.min_screen_s, line


@pytest.fixture(scope="module")
def buttons_matrix(tmp_path_factory):
    return run_matrix(tmp_path_factory.mktemp("buttons"), [MATRIX, BUTTONS])


def test_buttons_every_press_counts_once_on_its_own_trial(buttons_matrix):
    config, rows, record, _ = buttons_matrix
    # a button is stamped when pyglet dispatches it: at the next poll, a frame later at most,
    # or after the whole frame if the loop stalled (a dropped frame: counted, and rare)
    bad, counts = check(config, rows, record, Tolerance(early_ms=0.5, late_ms=20.0, stalled_ms=400.0))
    errors = np.array(counts["rt_errors_ms"])
    print(f"\nbuttons matrix: {counts['trials']} trials, {counts['judged']} judged, "
          f"{counts['ambiguous']} ambiguous, {counts['stalled']} stalled; RT - button-down: median {np.median(errors):.3f} ms, "
          f"max {errors.max():.3f} ms")
    assert not bad, "\n".join(bad)
    assert counts["judged"] >= 0.9 * counts["trials"] and counts["stalled"] <= 0.1 * counts["judged"]
    assert all(r["rt_source"] == "button" for r in rows)


def test_the_matrix_catches_the_old_de_duplication(tmp_path):
    """A scratch copy of the version before the fix, answered by the same bot, fails the matrix."""
    _require_display()
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_VERSION}^{{commit}}"],
                      capture_output=True).returncode != 0:
        pytest.skip(f"commit {OLD_VERSION} is not in this clone's history")
    scratch = tmp_path / "old"
    scratch.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD_VERSION, "experiment",
                              "analysis", "stimuli"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
    config, rows, record, _ = run_matrix(tmp_path, [MATRIX], code=scratch)
    bad, _ = check(config, rows, record, Tolerance(early_ms=0.5, late_ms=3.0))
    trial_level = [b for b in bad if not b.startswith("screen ")]
    print("\nold version:\n" + "\n".join(bad[:20]))
    assert trial_level, "the matrix did not catch the old version's wrong trial RTs"
    assert any("without a fresh key-down" in b for b in bad)
