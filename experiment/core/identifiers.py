"""What a participant ID, a session number and an experiment name may be. No PsychoPy import.

Each becomes part of a file or folder name (``data/<participant>/<participant>_<experiment>_s<session>_…``)
and a cell of every trial row, so each is checked once, at the door, and refused with a
one-line message saying what is allowed.
"""
from __future__ import annotations

import re

MAX_NAME_CHARS = 64
#: Highest session number: the analysis reads sessions as 64-bit integers; 9999 sessions of
#: one participant is far beyond any design.
MAX_SESSION = 9999
# Letters, digits, '-', '_' and '.', starting with a letter or digit: a safe file-name part
# on every operating system, never '.' or '..', no glob characters, no control characters.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Names Windows keeps for devices: no file or folder may be called so, with or without an
# extension ('CON', 'nul.1'); a trailing '.' is dropped there, so 'P1.' would be 'P1'.
WINDOWS_DEVICE_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                                  *(f"LPT{i}" for i in range(1, 10))})


def name_problem(value: object, what: str) -> str | None:
    """Why ``value`` cannot be ``what`` (a participant ID or experiment name), or None if it can."""
    if not isinstance(value, str) or not value:
        return f"{what} must not be empty"
    if len(value) > MAX_NAME_CHARS:
        return f"{what} is {len(value)} characters long; at most {MAX_NAME_CHARS} are allowed"
    if not _SAFE_NAME.fullmatch(value):
        return (f"{what} {value!r} may only hold letters A-Z, digits, '-', '_' and '.', "
                f"starting with a letter or digit (it names files and folders)")
    if value.endswith("."):
        return (f"{what} {value!r} must not end with '.' (Windows drops it from a folder name: "
                f"{value.rstrip('.')!r} and {value!r} would share one)")
    if value.split(".")[0].upper() in WINDOWS_DEVICE_NAMES:
        return (f"{what} {value!r} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, "
                f"LPT1-9) and cannot name a file or folder there")
    return None


def session_problem(value: object) -> str | None:
    """Why ``value`` cannot be a session number, or None if it can."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"session {value!r} must be a whole number"
    if not 1 <= value <= MAX_SESSION:
        return f"session {value} must be between 1 and {MAX_SESSION}"
    return None
