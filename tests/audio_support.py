"""What the audio tests need (PulseAudio, PortAudio, espeak-ng, a display), checked in one place.

Without it a test skips, except under CI (``CI=true``), where it fails: CI installs it all.
"""
from __future__ import annotations

import ctypes.util
import os

import pytest


def audio_missing(espeak: bool = False, display: bool = False) -> str | None:
    """What is missing for a test through the virtual microphone (None if nothing)."""
    from experiment.simulation.speech import espeak_available
    from experiment.simulation.virtual_microphone import missing_tools
    missing = missing_tools()
    if ctypes.util.find_library("portaudio") is None:
        missing.append("libportaudio2")
    if espeak and not espeak_available():
        missing.append("espeak-ng")
    if display and not os.environ.get("DISPLAY"):
        missing.append("an X display (run under xvfb-run)")
    if missing:
        return (f"needs {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils "
                "libportaudio2 espeak-ng; make test runs under Xvfb)")
    return None


def require_audio(espeak: bool = False, display: bool = False) -> None:
    """Skip the calling test (fail it under CI) unless everything it needs is installed."""
    reason = audio_missing(espeak, display)
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the audio tests cannot run: {reason}")
        pytest.skip(reason)
