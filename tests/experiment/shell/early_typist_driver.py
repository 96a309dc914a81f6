"""Runs ``python -m experiment --simulate`` with an experimenter who types the treadmill speed as
soon as the block-end screen appears (``python tests/experiment/shell/early_typist_driver.py
SPEED ARGS...``): the digits go down 0.1-0.4 s after the screen, the continue key 0.9 s after
it. Every other screen and trial is answered by the usual simulated participant.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # this checkout's code, not an installed one

import experiment.__main__ as cli  # noqa: E402
from experiment.simulation import participant as simulated  # noqa: E402

SPEED = sys.argv.pop(1)


class EarlyTypist(simulated.SimulatedParticipant):
    def on_screen(self, screen, keys):
        if screen != "block-end-speed":
            return super().on_screen(screen, keys)
        t = self.clock() + 0.1
        for ch in SPEED:
            self.scheduler.at(t, "period" if ch == "." else ch, "screen speed early", hold_s=0.05)
            t += 0.1
        self.scheduler.at(self.clock() + 0.9, keys[0], f"screen {screen}", hold_s=0.08)


simulated.SimulatedParticipant = EarlyTypist
sys.exit(cli.main(sys.argv[1:]))
