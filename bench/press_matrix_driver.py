"""Runs ``python -m experiment`` with the independent press bot in place of the simulated
participant: ``python bench/press_matrix_driver.py ARGS...`` (ARGS as for ``python -m experiment
--simulate``; the bot's record goes to ``--sim-log``). The code under test comes first on
``PYTHONPATH`` (a scratch copy of an older version works too: the bot only needs the
participant hooks); the bot itself is taken from this checkout.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: the code under test wins

import importlib  # noqa: E402

import experiment.__main__ as cli  # noqa: E402

# the simulated participant's module in the code under test: this layout, or the flat one
# before issue 10 (decided by the files, not by an import: the editable install of this
# checkout would supply the new module to an old tree)
_new_layout = (Path(cli.__file__).parent / "simulation" / "participant.py").is_file()
simulated = importlib.import_module("experiment.simulation.participant" if _new_layout
                                    else "experiment.simulated")

from bench.press_bot import PressBot  # noqa: E402

simulated.SimulatedParticipant = PressBot
sys.exit(cli.main(sys.argv[1:]))
