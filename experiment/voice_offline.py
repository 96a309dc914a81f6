"""The command ``python -m experiment.voice_offline``; the code is :mod:`experiment.voice.offline`."""
import sys

from experiment.voice.offline import main

if __name__ == "__main__":
    sys.exit(main())
