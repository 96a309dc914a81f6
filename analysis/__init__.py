"""stroop-walk analysis: reads the trial files described in data/README.md; never imports PsychoPy."""
