"""The column mapping of another lab's trial table (``--columns mapping.toml``), validated.

A mapping says which column holds each role the analysis needs — participant, RT (and its
unit), accuracy — and, when the data have them, session, block, trial order, practice and
the within-subject factors; a role may also be read from the file name (a regular
expression with one group, e.g. BIDS ``sub-([^_]+)``). ``values`` tables map cell text to
what the analysis uses. See ``docs/analysis.md`` for a worked example. Errors are one line
naming the key, the bad value and what is allowed (:class:`MappingError`).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


REQUIRED_ROLES = ("participant", "rt", "accuracy")
OPTIONAL_ROLES = ("session", "block", "trial", "practice")
RT_UNITS = {"ms": 1.0, "s": 1000.0}
DELIMITERS = {"auto": None, ",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t"}
#: Names the analysis gives its own columns; a factor may not take one of them.
RESERVED = ("participant", "session", "block", "trial_in_block", "trial_in_session",
            "is_practice", "rt_ms", "correct", "timeout", "source_file", "condition_order",
            "block_in_condition", "simulated", "rt_source", "response_device",
            "accuracy_code", "speed_actual_kmh", "primary", "valid", "rt_ok")
#: Accuracy cells understood without a ``values`` table.
DEFAULT_ACCURACY = {"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0, "True": 1,
                    "False": 0, "TRUE": 1, "FALSE": 0}
FACTOR_NAME = r"[A-Za-z][A-Za-z0-9_]*"


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Source:
    """Where one role's value comes from: a ``column`` of the table, or the file name
    (``filename``: a regular expression whose first group is the value). ``values``: cell
    text → value (None: the cells are used as they are)."""
    key: str                       # e.g. 'factors.congruency', for messages
    column: str = ""
    filename: str = ""
    values: dict[str, Any] | None = None

    def where(self) -> str:
        return f"column {self.column!r}" if self.column else f"file name pattern {self.filename!r}"


@dataclass(frozen=True)
class Mapping:
    """A validated mapping. ``roles``: participant, rt, accuracy and the optional ones given;
    ``factors``: factor name → source, in the mapping's order; ``rt_unit``: 'ms' or 's'."""
    roles: dict[str, Source]
    factors: dict[str, Source]
    rt_unit: str
    files: tuple[str, ...] = ("*.csv", "*.tsv")
    delimiter: str = "auto"
    missing: tuple[str, ...] = ("NA", "n/a", "N/A", "NaN", "nan", "None")
    require: tuple[str, ...] = ()
    path: str = ""
    source: str = field(default="", repr=False)


def _strings(key: str, v: Any, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(v, list) or any(not isinstance(x, str) for x in v) or \
            (not v and not allow_empty):
        raise MappingError(f"mapping key {key} = {v!r} must be an array of strings")
    return tuple(v)


def _source(key: str, t: Any, value_kind: str) -> Source:
    """``value_kind``: 'text' (values map to strings), 'binary' (to 0/1), 'int' (to
    integers ≥ 1) or 'none' (no values table)."""
    if isinstance(t, str):
        t = {"column": t}
    if not isinstance(t, dict):
        raise MappingError(f"mapping key {key} = {t!r} must be a column name or a table with "
                           f"column or filename")
    allowed = ["column", "filename"] + (["values"] if value_kind != "none" else []) + \
        (["unit"] if key == "rt" else [])
    for k in t:
        if k not in allowed:
            raise MappingError(f"mapping key {key}.{k} is unknown; [{key}] allows "
                               f"{', '.join(allowed)}")
    column, pattern = t.get("column", ""), t.get("filename", "")
    if not isinstance(column, str) or not isinstance(pattern, str) or \
            bool(column.strip()) == bool(pattern):
        raise MappingError(f"mapping key {key} needs exactly one of column (a column name) "
                           f"or filename (a regular expression)")
    if pattern:
        try:
            if re.compile(pattern).groups < 1:
                raise MappingError(f"mapping key {key}.filename = {pattern!r} needs one group "
                                   f"(…) that captures the value")
        except re.error as e:
            raise MappingError(f"mapping key {key}.filename = {pattern!r} is not a regular "
                               f"expression ({e})") from None
    values = t.get("values")
    if values is not None:
        if not isinstance(values, dict) or not values:
            raise MappingError(f"mapping key {key}.values must be a non-empty table (cell text "
                               f"= value)")
        for cell, v in values.items():
            ok = {"text": isinstance(v, str) and v.strip() != "",
                  "binary": v in (0, 1) and not isinstance(v, float) and not isinstance(v, bool),
                  "int": isinstance(v, int) and not isinstance(v, bool) and v >= 1}[value_kind]
            if not ok:
                want = {"text": "a non-empty string", "binary": "1 (correct) or 0 (error)",
                        "int": "an integer ≥ 1"}[value_kind]
                raise MappingError(f"mapping key {key}.values.{cell} = {v!r} must be {want}")
    return Source(key=key, column=column, filename=pattern, values=values)


def mapping_from_dict(d: dict, path: str = "", source: str = "") -> Mapping:
    """Validate a parsed mapping document (see the module docstring)."""
    tables = ("input",) + REQUIRED_ROLES + OPTIONAL_ROLES + ("factors",)
    for k in d:
        if k not in tables:
            raise MappingError(f"mapping has unknown key {k}; allowed: {', '.join(tables)}")
    for role in REQUIRED_ROLES:
        if role not in d:
            raise MappingError(f"mapping lacks [{role}]: name the column that holds the "
                               f"{role} (e.g. [{role}] column = \"...\")")
    kinds = {"participant": "text", "rt": "none", "accuracy": "binary", "session": "int",
             "block": "text", "trial": "none", "practice": "binary"}
    roles = {r: _source(r, d[r], kinds[r]) for r in REQUIRED_ROLES + OPTIONAL_ROLES if r in d}
    rt = d["rt"] if isinstance(d["rt"], dict) else {}
    unit = rt.get("unit")
    if unit not in RT_UNITS:
        raise MappingError(f"mapping key rt.unit = {unit!r} is not allowed; use \"ms\" or "
                           f"\"s\" (the unit of the RT column)")
    if roles["rt"].filename or roles["accuracy"].filename:
        raise MappingError("mapping keys rt and accuracy must name a column, not a filename")
    factors_t = d.get("factors", {})
    if not isinstance(factors_t, dict):
        raise MappingError(f"mapping key factors must be a table of [factors.<name>] tables")
    factors = {}
    for name, t in factors_t.items():
        if not re.fullmatch(FACTOR_NAME, name) or name in RESERVED:
            raise MappingError(f"mapping key factors.{name}: a factor name must be letters, "
                               f"digits and _ (starting with a letter) and not one of "
                               f"{', '.join(RESERVED)}")
        factors[name] = _source(f"factors.{name}", t, "text")
    inp = d.get("input", {})
    if not isinstance(inp, dict):
        raise MappingError("mapping key input must be a table ([input])")
    allowed = ("files", "delimiter", "missing", "require")
    for k in inp:
        if k not in allowed:
            raise MappingError(f"mapping key input.{k} is unknown; [input] allows "
                               f"{', '.join(allowed)}")
    delimiter = inp.get("delimiter", "auto")
    if delimiter not in DELIMITERS:
        raise MappingError(f"mapping key input.delimiter = {delimiter!r} is not allowed; use "
                           f"\"auto\", \",\", \";\" or \"tab\"")
    return Mapping(roles=roles, factors=factors, rt_unit=unit,
                   files=_strings("input.files", inp.get("files", ["*.csv", "*.tsv"]),
                                  allow_empty=False),
                   delimiter=delimiter,
                   missing=_strings("input.missing", inp.get("missing", list(Mapping.missing))),
                   require=_strings("input.require", inp.get("require", [])),
                   path=path, source=source)


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise MappingError(f"{path}: cannot read the column mapping ({e.strerror})") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path}: the column mapping is not UTF-8 text") from None
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"{path}: not valid TOML ({e})") from None
    try:
        return mapping_from_dict(d, path=str(path), source=text)
    except MappingError as e:
        raise MappingError(f"{path}: {e}") from None
