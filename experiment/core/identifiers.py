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
# Names Windows keeps for devices (also with an extension, any case): a folder data/COM1/ or
# a file NUL.csv cannot be made there. A name ending in '.' loses it on Windows.
_WINDOWS_RESERVED = re.compile(r"(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(?:\..*)?", re.IGNORECASE)


def name_problem(value: object, what: str, whole_name: bool = True) -> str | None:
    """Why ``value`` cannot be ``what`` (a participant ID or experiment name), or None if it can.
    ``whole_name``: the value is a whole file or folder name (a participant's folder), not only
    a part of one (the experiment name inside a file name)."""
    if not isinstance(value, str) or not value:
        return f"{what} must not be empty"
    if len(value) > MAX_NAME_CHARS:
        return f"{what} is {len(value)} characters long; at most {MAX_NAME_CHARS} are allowed"
    if not _SAFE_NAME.fullmatch(value):
        return (f"{what} {value!r} may only hold letters A-Z, digits, '-', '_' and '.', "
                f"starting with a letter or digit (it names files and folders)")
    if whole_name and (_WINDOWS_RESERVED.fullmatch(value) or value.endswith(".")):
        return (f"{what} {value!r} cannot name a file on Windows (a device name such as CON, "
                f"NUL, COM1, or a trailing '.'); choose another")
    return None


def session_problem(value: object) -> str | None:
    """Why ``value`` cannot be a session number, or None if it can."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"session {value!r} must be a whole number"
    if not 1 <= value <= MAX_SESSION:
        return f"session {value} must be between 1 and {MAX_SESSION}"
    return None
