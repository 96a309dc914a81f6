"""No text is clipped on any screen at any window shape, and participant messages are large.

Every screen type (:func:`experiment.core.screens.every_screen`) of the default config, the
koch2009 preset and the longest condition texts the config allows (longest_texts.toml) is
rendered in real windows from 800x600 to 2560x1440 at 4:3, 16:10 and 16:9 (its own Xvfb
screen, large enough); every text's box must lie inside the window,
texts must not overlap, nothing may be drawn on the window's outermost pixels, and the
participant's message must be at least the word's size.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiment.core import screens
from experiment.core.config import load_config, preset_path

REPO = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("layout_driver.py")

pytestmark = [pytest.mark.display, pytest.mark.slow]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (make test installs it)")
    tmp = tmp_path_factory.mktemp("layout")
    out = tmp / "layout.json"
    configs = [REPO / "experiment" / "default.toml", preset_path("koch2009"),
               Path(__file__).with_name("longest_texts.toml")]
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 2600x1500x24", sys.executable,
                           str(DRIVER), str(out), *map(str, configs)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_text_lies_inside_the_window(rendered):
    bad = []
    for r in rendered:
        w, h = r["size"]
        assert r["frame_size"] == [h, w]
        for b in r["boxes"]:
            if b["left"] < -w / 2 or b["right"] > w / 2 or b["bottom"] < -h / 2 or b["top"] > h / 2:
                bad.append(f"{r['config']} {w}x{h} {r['screen']}: {b['text']!r} at "
                           f"x {b['left']:.0f}..{b['right']:.0f}, y {b['bottom']:.0f}..{b['top']:.0f}")
        if r["edge_pixels"]:
            bad.append(f"{r['config']} {w}x{h} {r['screen']}: {r['edge_pixels']} lit pixels on the edge")
    assert not bad, "\n".join(bad[:30])


def test_texts_do_not_overlap(rendered):
    bad = []
    for r in rendered:
        boxes = sorted(r["boxes"], key=lambda b: -b["top"])
        for upper, lower in zip(boxes, boxes[1:]):
            if lower["top"] > upper["bottom"] + 0.5:
                bad.append(f"{r['config']} {r['size']} {r['screen']}: {upper['text']!r} overlaps "
                           f"{lower['text']!r}")
    assert not bad, "\n".join(bad[:30])


def test_participant_messages_are_at_least_word_size(rendered):
    # 24 W's are wider than any real label: they must fit in the window (the tests above),
    # shrunk below the word's size if need be; the shipped labels must not shrink.
    small = [f"{r['config']} {r['size']} {r['screen']}: {b['text']!r} at {b['height']:.4f}"
             for r in rendered for b in r["boxes"]
             if r["config"] != "longest_texts.toml" and r["message"]
             and b["text"] == r["message"] and b["height"] < r["word_height"] - 1e-9]
    assert not small, "\n".join(small[:30])
    assert sum(1 for r in rendered if r["message"]) >= 100


def test_screens_that_wait_say_which_key_and_who_presses_it():
    config = load_config()
    waiting = [s for s in screens.every_screen(config)
               if s.screen_id not in ("settle", "feedback", "mic-check", "noise-calibration",
                                      "button-test", "pause")]
    for s in waiting:
        assert "Experimenter:" in s.footer or "Participant:" in s.message, s
    practice = screens.block_start(config, "stand", 1, 3, practice=True, max_rounds=3)
    assert practice.title == "Practice round 1 (at most 3)"
    assert "PRACTICE 1 of 3" not in str(practice)
