"""Presses as events with their own down time: the ledger, the raw key decoder, press durations."""
from __future__ import annotations

import numpy as np
import pytest

from experiment.devices.keyboard import KeyEvent, KeyEvents
from experiment.devices.protocol import Press, PressLedger
from experiment.simulation.participant import PressDurations

NAMES = {40: "d", 41: "f", 44: "j", 66: "space"}


def test_a_press_counts_once_and_only_after_the_flip():
    ledger = PressLedger()
    held = Press("d", 9.95)          # went down before the word (still held at its flip)
    answer = Press("f", 10.4)
    ledger.add([held, answer])
    assert ledger.take(["d", "f"], after_s=10.0) == answer
    assert ledger.take(["d", "f"], after_s=10.0) is None       # counted: never again
    assert ledger.take(["d", "f"], after_s=9.0) == held        # it would count for a screen shown before it


def test_a_press_reread_after_a_reset_is_the_same_press():
    """The old bug: a release re-delivered a press after the clock reset, with its old RT."""
    ledger = PressLedger()
    first = Press("j", 5.7096)
    ledger.add([first])
    assert ledger.take(["j"], after_s=5.0) == first
    ledger.add([Press("j", 5.7096)])   # the same event handed over again
    assert ledger.take(["j"], after_s=7.0) is None               # its down time is old
    assert ledger.take(["j"], after_s=5.0) is None               # and it was counted


def test_take_finds_the_earliest_in_the_window_and_take_all_counts_them_all():
    ledger = PressLedger()
    ledger.add([Press("2", 3.5), Press("period", 3.2), Press("1", 3.0), Press("space", 3.8)])
    assert ledger.take(["space", "1"], after_s=2.0, before_s=3.6).name == "1"
    assert [p.name for p in ledger.take_all(["2", "period", "space"], after_s=2.0)] == \
        ["period", "2", "space"]
    assert ledger.take_all(["2", "period", "space"], after_s=2.0) == []


def test_forget_before_keeps_what_can_still_count():
    ledger = PressLedger()
    ledger.add([Press("d", 1.0), Press("f", 2.0)])
    ledger.take(["f"], after_s=1.5)
    ledger.forget_before(1.5)
    assert ledger.presses == [Press("f", 2.0)] and ledger.counted == {Press("f", 2.0)}


def test_rt_is_down_time_minus_the_flip_in_ms():
    assert Press("d", 12.3456).rt_ms(12.0) == pytest.approx(345.6)


def test_key_events_one_press_per_down_of_a_key_that_was_up():
    events = KeyEvents(NAMES)
    # a tap (down and up in one batch), then a held key with auto-repeat downs, then released
    batch = [KeyEvent(3, 40, True, 1.000), KeyEvent(3, 40, False, 1.000),
             KeyEvent(3, 41, True, 1.2), KeyEvent(3, 41, True, 1.7), KeyEvent(3, 41, True, 1.75)]
    assert events.presses(batch) == [Press("d", 1.0), Press("f", 1.2)]
    assert events.presses([KeyEvent(3, 41, True, 1.8), KeyEvent(3, 41, False, 2.7)]) == []
    assert events.presses([KeyEvent(3, 41, True, 3.0)]) == [Press("f", 3.0)]


def test_key_events_keep_keyboards_apart_and_name_unknown_codes():
    events = KeyEvents(NAMES)
    out = events.presses([KeyEvent(4, 44, True, 2.0), KeyEvent(3, 44, True, 1.5),
                          KeyEvent(3, 250, True, 2.5)])
    assert out == [Press("j", 1.5), Press("j", 2.0), Press("keycode250", 2.5)]


def test_press_durations_are_human():
    rng = np.random.default_rng(1)
    d = PressDurations(min_s=0.06, max_s=0.2, long_rate=0.05, long_s=0.6)
    holds = np.array([d.draw(rng) for _ in range(4000)])
    long = holds == 0.6
    assert 0.035 < long.mean() < 0.065
    assert holds[~long].min() >= 0.06 and holds[~long].max() <= 0.2
    assert abs(np.median(holds[~long]) - 0.13) < 0.01
