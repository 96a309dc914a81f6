"""The keyboard floor: a bare PsychoPy loop (window + ptb keyboard, nothing else) timed like the session.

``python -m bench.ptb_floor N OUT.json``: N trials; each flips, resets the keyboard clock on
that flip, has a key injected by XTEST at a random delay, and records recorded RT minus the
injection time (ms). Run in its own process: PsychoPy picks the keyboard backend once.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def main(n_trials: int, out: str) -> None:
    from psychopy import core, visual
    from psychopy.hardware import keyboard

    from experiment.simulation.participant import KeyInjector, KeyScheduler

    win = visual.Window((800, 600), fullscr=False, checkTiming=False, color="black")
    kb = keyboard.Keyboard()
    scheduler = KeyScheduler(KeyInjector(), core.getTime)
    rng = np.random.default_rng(2026)
    stim = visual.TextStim(win, text="RED", color="blue")
    results = []
    for i in range(n_trials):
        stim.draw()
        win.callOnFlip(kb.clock.reset)
        win.callOnFlip(kb.clearEvents)
        onset = win.flip()
        scheduler.at(onset + float(rng.uniform(0.25, 0.6)), "f", f"floor {i}", onset)
        keys = []
        while not keys and core.getTime() < onset + 1.5:
            keys = kb.getKeys(["f"], waitRelease=True)
            stim.draw()
            win.flip()
        win.flip()
        core.wait(0.1)  # let the release and the log entry land
        inj = scheduler.log[-1] if scheduler.log and scheduler.log[-1].label == f"floor {i}" else None
        results.append({"recorded_rt_ms": keys[0].rt * 1000 if keys else None,
                        "injected_rt_ms": inj.rt_ms if inj else None,
                        "injected_rt_max_ms": inj.rt_max_ms if inj else None})
    scheduler.stop()
    win.close()
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"backend": kb.getBackend(), "trials": results}, fh)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
