"""The command ``python -m experiment.coding_tool``; the code is :mod:`experiment.voice.coding_tool`."""
import sys

from experiment.voice.coding_tool import main

if __name__ == "__main__":
    sys.exit(main())
