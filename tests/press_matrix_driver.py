"""Runs ``python -m experiment`` with the independent press bot in place of the simulated
participant: ``python tests/press_matrix_driver.py ARGS...`` (ARGS as for ``python -m experiment
--simulate``; the bot's record goes to ``--sim-log``). Run with the code to test first on
``PYTHONPATH`` (a scratch copy of an older version works too: the bot only needs the
participant hooks)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import experiment.__main__ as cli  # noqa: E402
from experiment import simulated  # noqa: E402
from press_bot import PressBot  # noqa: E402

simulated.SimulatedParticipant = PressBot
sys.exit(cli.main(sys.argv[1:]))
