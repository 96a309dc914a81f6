"""Vocal responses: audio capture, the voice key (onset detection), the voice response device,
offline re-detection and hand coding (coder files and the coding tool)."""
