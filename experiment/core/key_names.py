"""The key names PsychoPy's keyboard (``psychopy.hardware.keyboard``, ptb and ioHub backends)
reports, on any operating system. No PsychoPy import.

A response, control or code key in the config must be one of these, or it can never be
pressed; the session's preflight also checks the names of the platform it runs on
(PsychoPy's ``keyboard.keyNames``). ``tests/experiment/core/test_key_names.py`` keeps this set equal to the union
of PsychoPy's Windows, macOS and Linux tables.
"""
from __future__ import annotations

_LETTERS_DIGITS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
_FUNCTION = [f"f{n}" for n in range(1, 20)]
_NUMPAD = [f"num_{d}" for d in range(10)] + [
    "num_add", "num_decimal", "num_divide", "num_enter", "num_equal", "num_multiply",
    "num_subtract"]
_OTHER = [
    "apostrophe", "backslash", "backspace", "bracketleft", "bracketright", "capslock", "comma",
    "delete", "down", "end", "equal", "escape", "function", "grave", "home", "insert", "lalt",
    "lcommand", "lctrl", "left", "less", "loption", "lshift", "lwindows", "menu", "minus",
    "numlock", "pagedown", "pageup", "pause", "period", "pound", "quoteleft", "ralt", "rcommand",
    "rctrl", "return", "right", "roption", "rshift", "rwindows", "scrolllock", "semicolon",
    "slash", "space", "tab", "up"]

KEY_NAMES = frozenset(_LETTERS_DIGITS + _FUNCTION + _NUMPAD + _OTHER)


def key_problem(name: str) -> str | None:
    """Why no keyboard can produce a key called ``name``, or None if PsychoPy reports such a key."""
    if name in KEY_NAMES:
        return None
    hint = f"; did you mean '{name.lower()}'?" if name.lower() in KEY_NAMES else ""
    return (f"is not a key name PsychoPy's keyboard reports (e.g. a, space, escape, return, "
            f"left, num_1, f1; see experiment/core/key_names.py){hint}")
