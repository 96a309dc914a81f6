"""The command ``python -m experiment.example_data``; the code is :mod:`experiment.simulation.example_data`."""
import sys

from experiment.simulation.example_data import main

if __name__ == "__main__":
    sys.exit(main())
