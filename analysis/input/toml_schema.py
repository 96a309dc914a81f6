"""One validator for the TOML files of both sides (session config, analysis plan with its
exclusion rules and design, column mapping): a TOML table becomes a frozen dataclass, and
every problem is a one-line error naming the key path, the bad value and what is allowed.

A field's annotation says what it takes: ``bool``, ``int``, ``float`` (finite; an integer is
taken as a float), ``str``, ``tuple[T, ...]`` (a TOML array), ``Mapping[str, T]`` (a table),
``T | None`` (may be left out). ``Annotated`` adds a constraint: :class:`Range`,
:class:`OneOf`, :class:`Text`, :class:`Items` or :class:`Parsed`. Checks across fields stay in
the module that owns the file and raise through :func:`problem` / :func:`require`.

How a message reads is the file's :class:`FileKind`. Both kinds put the key path and the
value first and what is allowed after; the wording differs only where the tests pin each
file's established messages::

    timing.iti_max_s = inf: must be a finite number                                 (config)
    plan key trimming.k = nan is not a finite number; it must be a finite number    (plan)

Standard library only: the experiment imports it without the analysis extra.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class FileKind:
    """Which file a table comes from, and how its errors read.

    ``error``: the exception raised; ``prefix``: text before a key path (``'plan key '``);
    ``sentence``: the plan's form (``K = V is a string; it must be a number``) rather than the
    config's (``K = V: must be a number``); ``integer``: what a whole number is called;
    ``choices``: how the allowed values are offered ('{}' is the list); ``checks_stored``:
    ranges judge (and show) the value as stored (an integer given for a float: ``-1.0``)."""
    name: str
    error: type[ValueError]
    prefix: str
    sentence: bool
    integer: str
    choices: str
    checks_stored: bool


CONFIG = FileKind("config", ValueError, "", False, "a whole number", "allowed: {}", True)
PLAN = FileKind("plan", ValueError, "plan key ", True, "an integer", "use one of {}", False)
MAPPING = dataclasses.replace(PLAN, name="mapping", prefix="mapping key ")


@dataclass(frozen=True)
class Range:
    """A number in [lo, hi] (lo excluded if ``lo_open``; None: no bound); ``suffix`` follows
    the bounds in the message (a unit: ``' s'``)."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    suffix: str = ""

    def text(self) -> str:
        if self.lo is not None and self.hi is not None:
            return (f"> {self.lo:g} and at most {self.hi:g}{self.suffix}" if self.lo_open else
                    f"between {self.lo:g} and {self.hi:g}{self.suffix}")
        if self.hi is not None:
            return f"≤ {self.hi:g}{self.suffix}"
        return f"{'>' if self.lo_open else '≥'} {self.lo:g}{self.suffix}"

    def holds(self, v: float) -> bool:
        return ((self.lo is None or (v > self.lo if self.lo_open else v >= self.lo))
                and (self.hi is None or v <= self.hi))


@dataclass(frozen=True)
class OneOf:
    """One of ``values``; ``note`` follows the list in the message."""
    values: tuple[Any, ...]
    note: str = ""


@dataclass(frozen=True)
class Text:
    """A string: not blank unless ``empty``; one line if ``one_line``; ``what`` names it in
    the message (default: 'a one-line string' / 'a non-empty string')."""
    one_line: bool = False
    empty: bool = False
    what: str = ""


@dataclass(frozen=True)
class Items:
    """An array of one-line non-blank strings (``choices``: each one of them), reported as a
    whole: ``what`` names the items; ``distinct``: no value twice."""
    what: str = "non-empty strings"
    allow_empty: bool = True
    distinct: bool = True
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Parsed:
    """A value its owning module validates: ``parse(kind, key, value)`` returns the field's
    value or raises ``kind.error``."""
    parse: Callable[[FileKind, str, Any], Any]


def type_name(v: Any) -> str:
    """'a string', 'an integer', … for messages."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(v), type(v).__name__)


def shown_value(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (with the full length) so
    that a 100 000-character value still gives a one-line error of readable length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters shown"
    return f"{text[:limit]}... ({size})"


def problem(kind: FileKind, key: str, value: Any, requirement: str, found: str = "") -> ValueError:
    """The one-line error for ``key = value``: ``requirement`` says what is allowed ('must be
    a number'), ``found`` what the value is ('is a string'; the plan's form states it)."""
    if not kind.sentence:
        return kind.error(f"{key} = {shown_value(value)}: {requirement}")
    if found:
        requirement = f"{found}; {'it ' if requirement.startswith('must ') else ''}{requirement}"
    return kind.error(f"{kind.prefix}{key} = {shown_value(value)} {requirement}")


def require(kind: FileKind, ok: bool, key: str, value: Any, requirement: str,
            found: str = "") -> None:
    """Raise :func:`problem` unless ``ok``."""
    if not ok:
        raise problem(kind, key, value, requirement, found)


def key_error(kind: FileKind, key: str, text: str) -> ValueError:
    """An error about a key rather than its value: ``plan key design.levels.x: <text>``."""
    return kind.error(f"{kind.prefix}{key}{text}")


def choice(kind: FileKind, key: str, value: Any, allowed: Sequence[Any], note: str = "") -> Any:
    """``value`` if it is one of ``allowed``; else the file's 'not allowed' error."""
    require(kind, isinstance(value, collections.abc.Hashable) and value in allowed, key, value,
            kind.choices.format(", ".join(map(str, allowed))) + note, "is not allowed")
    return value


def unknown_key(kind: FileKind, key: str, allowed: Sequence[str], where: str) -> ValueError:
    """``key`` is not one of ``allowed`` (the keys of the table ``where``)."""
    if not kind.sentence:
        return kind.error(f"unknown key '{key}'; allowed here: {', '.join(allowed) or '(none)'}")
    return key_error(kind, key, f" is unknown; {where} allows {', '.join(allowed)}")


def _missing(kind: FileKind, key: str, where: str) -> ValueError:
    if not kind.sentence:
        return kind.error(f"{key}: missing (add it to the {kind.name})")
    return key_error(kind, key, f" is missing; {where} needs it")


def not_table(kind: FileKind, key: str, value: Any, where: str) -> ValueError:
    """``key`` holds ``value`` where a table (``where``, e.g. '[trimming]') belongs."""
    if not kind.sentence:
        return kind.error(f"{key}: missing table [{key}]" if value is None else
                          f"'{key}' must be a table, got {value!r}")
    return key_error(kind, key, f" must be a table ({where}), not {type_name(value)}")


def table_of(kind: FileKind, cls: type[T], table: Any, key: str, where: str = "",
             fixed: dict[str, Any] | None = None, ignore: Sequence[str] = ()) -> T:
    """``table`` as a ``cls`` dataclass: each key a field (``ignore``: keys the caller has read
    itself; ``fixed``: fields the caller sets), a field without default required, each value
    checked against its annotation. ``key``: the table's key path; ``where``: how messages
    name the table ('[trimming]', "rule 'sd'")."""
    where = where or f"[{key}]"
    if not isinstance(table, dict):
        raise not_table(kind, key, table, where)
    fixed = fixed or {}
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in fixed]
    allowed = list(ignore) + [f.name for f in fields]
    for k in table:
        if k not in allowed:
            raise unknown_key(kind, f"{key}.{k}", allowed, where)
    values = dict(fixed)
    for f in fields:
        if f.name in table:
            values[f.name] = value_of(kind, table[f.name], hints[f.name], f"{key}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _missing(kind, f"{key}.{f.name}", where)
    return cls(**values)


def value_of(kind: FileKind, value: Any, hint: Any, key: str) -> Any:
    """``value`` checked against the annotation ``hint`` (see the module docstring) and
    converted to it (arrays to tuples, integers to floats)."""
    meta = None
    if typing.get_origin(hint) is typing.Annotated:
        hint, meta = typing.get_args(hint)[:2]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # T | None: None only as a default
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(meta, Parsed):
        return meta.parse(kind, key, value)
    if isinstance(meta, Items):
        return _items(kind, key, value, meta)
    if origin is tuple:
        require(kind, isinstance(value, list), key, value, "must be an array")
        return tuple(value_of(kind, v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict):
        require(kind, isinstance(value, dict), key, value, "must be a table")
        return {k: value_of(kind, v, args[1], f"{key}.{k}") for k, v in value.items()}
    if hint is str:
        stored = _text(kind, key, value, meta if isinstance(meta, Text) else Text())
    else:
        stored = _scalar(kind, key, value, hint)
    if isinstance(meta, Range):
        shown = stored if kind.checks_stored else value
        require(kind, meta.holds(shown), key, shown, f"must be {meta.text()}", "is out of range")
    if isinstance(meta, OneOf):
        choice(kind, key, stored, meta.values, meta.note)
    return stored


def _scalar(kind: FileKind, key: str, value: Any, hint: type) -> Any:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    want = {bool: "true or false", int: kind.integer, float: "a number"}
    if hint not in want:
        raise TypeError(f"{key}: unsupported annotation {hint}")  # a programming error
    ok = {bool: isinstance(value, bool), int: is_number and isinstance(value, int),
          float: is_number}[hint]
    require(kind, ok, key, value, f"must be {want[hint]}", f"is {type_name(value)}")
    if hint is float:
        require(kind, math.isfinite(value), key, value, "must be a finite number",
                "is not a finite number")
        return float(value)
    return value


def _text(kind: FileKind, key: str, value: Any, spec: Text) -> str:
    what = spec.what or ("a one-line string" if spec.one_line else
                         "a string" if spec.empty else "a non-empty string")
    require(kind, isinstance(value, str) and (spec.empty or value.strip() != "")
            and not (spec.one_line and "\n" in value), key, value, f"must be {what}")
    return value


def _items(kind: FileKind, key: str, value: Any, spec: Items) -> tuple[str, ...]:
    ok = isinstance(value, list) and (spec.allow_empty or value) and all(
        isinstance(v, str) and v.strip() and "\n" not in v for v in value)
    require(kind, bool(ok), key, value, f"must be a{'n' if spec.allow_empty else ' non-empty'} "
            f"array of {spec.what}")
    for v in value if spec.choices else ():
        choice(kind, key, v, spec.choices)
    require(kind, not spec.distinct or len(set(value)) == len(value), key, value,
            "repeats a value")
    return tuple(value)
