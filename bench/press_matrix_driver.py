"""Runs ``python -m experiment`` with the independent press bot in place of the simulated
participant: ``python bench/press_matrix_driver.py ARGS...`` (ARGS as for ``python -m experiment
--simulate``; the bot's record goes to ``--sim-log``). The code under test comes first on
``PYTHONPATH`` (a scratch copy of an older version works too: the bot only needs the
participant hooks); the bot itself is taken from this checkout.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: the code under test wins

import experiment.__main__ as cli  # noqa: E402
from experiment.simulation import participant as simulated# noqa: E402

from bench.press_bot import PressBot  # noqa: E402

simulated.SimulatedParticipant = PressBot
sys.exit(cli.main(sys.argv[1:]))
