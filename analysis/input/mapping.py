"""The column mapping of another lab's trial table (``--columns mapping.toml``), validated.

A mapping says which column holds each role the analysis needs — participant, RT (and its
unit), accuracy — and, when the data have them, session, block, trial order, practice and
the within-subject factors; a role may also be read from the file name (a regular
expression with one group, e.g. BIDS ``sub-([^_]+)``). ``values`` tables map cell text to
what the analysis uses. See ``docs/analysis.md`` for a worked example. Errors are one line
naming the key, the bad value and what is allowed (:class:`MappingError`).
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from analysis.input import toml_schema
from analysis.input.toml_schema import Items, Text, key_error, problem, require, table_of

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


KIND = dataclasses.replace(toml_schema.MAPPING, error=MappingError)
AnyText = Annotated[str, Text(empty=True)]
#: What a ``values`` table maps cells to, per kind of role: (check, what the message asks for).
VALUE_KINDS = {
    "text": (lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string"),
    "binary": (lambda v: type(v) is int and v in (0, 1), "1 (correct) or 0 (error)"),
    "int": (lambda v: type(v) is int and v >= 1, "an integer ≥ 1")}


@dataclass(frozen=True)
class Source:
    """Where one role's value comes from: a ``column`` of the table, or the file name
    (``filename``: a regular expression whose first group is the value). ``values``: cell
    text → value (None: the cells are used as they are)."""
    key: str                       # e.g. 'factors.congruency', for messages
    column: AnyText = ""
    filename: AnyText = ""
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


@dataclass(frozen=True)
class InputTable:
    """``[input]``: which files to read (glob patterns), their delimiter, the cell texts that
    mean 'missing' and the columns every file must have."""
    files: Annotated[tuple[str, ...], Items("file name patterns", allow_empty=False,
                                            distinct=False)] = Mapping.files
    delimiter: str = Mapping.delimiter
    missing: tuple[AnyText, ...] = Mapping.missing
    require: tuple[str, ...] = Mapping.require


def _source(key: str, t: Any, value_kind: str) -> Source:
    """``value_kind``: 'text' (values map to strings), 'binary' (to 0/1), 'int' (to
    integers ≥ 1) or 'none' (no values table)."""
    if isinstance(t, str):
        t = {"column": t}
    require(KIND, isinstance(t, dict), key, t,
            "must be a column name or a table with column or filename")
    ignore = (("values",) if value_kind != "none" else ()) + (("unit",) if key == "rt" else ())
    src = table_of(KIND, Source, t, key, fixed={"key": key, "values": None}, ignore=ignore)
    if bool(src.column.strip()) == bool(src.filename):
        raise key_error(KIND, key, " needs exactly one of column (a column name) or filename "
                        "(a regular expression)")
    if src.filename:
        try:
            groups = re.compile(src.filename).groups
        except re.error as e:
            raise problem(KIND, f"{key}.filename", src.filename,
                          f"is not a regular expression ({e})") from None
        require(KIND, groups >= 1, f"{key}.filename", src.filename,
                "needs one group (…) that captures the value")
    values = t.get("values")
    if values is None:
        return src
    if not isinstance(values, dict) or not values:
        raise key_error(KIND, f"{key}.values", " must be a non-empty table (cell text = value)")
    ok, want = VALUE_KINDS[value_kind]
    for cell, v in values.items():
        require(KIND, ok(v), f"{key}.values.{cell}", v, f"must be {want}")
    return dataclasses.replace(src, values=values)


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
    require(KIND, isinstance(unit, str) and unit in RT_UNITS, "rt.unit", unit,
            'use "ms" or "s" (the unit of the RT column)', "is not allowed")
    if roles["rt"].filename or roles["accuracy"].filename:
        raise MappingError("mapping keys rt and accuracy must name a column, not a filename")
    factors_t = d.get("factors", {})
    if not isinstance(factors_t, dict):
        raise key_error(KIND, "factors", " must be a table of [factors.<name>] tables")
    factors = {}
    for name, t in factors_t.items():
        if not re.fullmatch(FACTOR_NAME, name) or name in RESERVED:
            raise key_error(KIND, f"factors.{name}", ": a factor name must be letters, digits "
                            f"and _ (starting with a letter) and not one of {', '.join(RESERVED)}")
        factors[name] = _source(f"factors.{name}", t, "text")
    inp = table_of(KIND, InputTable, d.get("input", {}), "input")
    require(KIND, inp.delimiter in DELIMITERS, "input.delimiter", inp.delimiter,
            'use "auto", ",", ";" or "tab"', "is not allowed")
    return Mapping(roles=roles, factors=factors, rt_unit=unit, **dataclasses.asdict(inp),
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
