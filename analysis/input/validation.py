"""Checks shared by the TOML files the analysis reads (plan, exclusion rules, column mapping):
one-line messages naming the key, the bad value and what is allowed."""
from __future__ import annotations

import math
from typing import Any


def type_name(v: Any) -> str:
    """'a string', 'an integer', … for messages."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(v), type(v).__name__)


def checked_number(key: str, v: Any, error: type[Exception], lo: float | None = None,
                   hi: float | None = None, integer: bool = False,
                   lo_open: bool = False) -> float:
    """``v`` if it is a finite number (an integer if ``integer``) within [lo, hi] (lo
    excluded if ``lo_open``); else ``error`` with a one-line message naming ``key``."""
    want = "an integer" if integer else "a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise error(f"plan key {key} = {v!r} is {type_name(v)}; it must be {want}")
    if not math.isfinite(v):
        raise error(f"plan key {key} = {v!r} is not a finite number; it must be {want}")
    if (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and v > hi):
        rng = f"{'>' if lo_open else '≥'} {lo:g}" if lo is not None else ""
        if hi is not None:
            rng = f"between {lo:g} and {hi:g}" if lo is not None else f"≤ {hi:g}"
        raise error(f"plan key {key} = {v!r} is out of range; it must be {rng}")
    return v
