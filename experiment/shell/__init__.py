"""The PsychoPy shell: the session (owns window, clock and devices; a trial owns its phases),
the display, and what a session reports besides its trials (frame timing, LSL markers)."""
