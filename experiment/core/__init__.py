"""The pure core of a session: config, stimuli, trial lists and counterbalancing, the records and
the crash-safe session files. Imports no PsychoPy; unit-tested without a display."""
