"""The declared design of the RT analyses: within-subject factors, their level order and
named 1-df contrasts (plan tables ``[design]`` and ``[[contrasts.named]]``).

A factor is any column of the cleaned trials (condition, congruency, session, language,
trial type …). Its levels come from the data, in the order the plan gives (``[design.levels]``)
or, without one, the default order (:func:`resolve_design`). A named contrast gives, per
factor it involves, either weights per level (``{backward = 1, forward = -1}``) or a level
pair (``["backward", "forward"]`` = backward − forward); each factor's weights sum to 0, and
factors it does not name are averaged over. The weight of a design cell is the product of
its levels' weights, so a contrast over two factors is their interaction contrast (e.g.
"backward vs forward on interference").
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.input.toml_schema import FileKind, Items, Parsed, Text, key_error, not_table, \
    require, value_of

#: Default level order of the study's factors; other factors: sorted levels.
DEFAULT_LEVEL_ORDER = {"congruency": ("congruent", "neutral", "incongruent")}
#: Columns the cleaned trials always have; they cannot be within-subject factors.
RESERVED = ("participant", "rt_ms", "correct")


class DesignError(ValueError):
    """A [design] or [[contrasts.named]] entry that cannot be used; one-line message."""


def _levels_table(kind: FileKind, key: str, t: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``[design.levels]``: factor = [at least two distinct level names]."""
    if not isinstance(t, dict):
        raise key_error(kind, key, " must be a table of factor = [levels]")
    spec = Items("at least two level names", allow_empty=False, distinct=False)
    out = []
    for f, lv in t.items():
        require(kind, isinstance(lv, list) and len(lv) >= 2, f"{key}.{f}", lv,
                f"must be an array of {spec.what}")
        levels = value_of(kind, lv, Annotated[tuple[str, ...], spec], f"{key}.{f}")
        require(kind, len(set(levels)) == len(levels), f"{key}.{f}", lv, "repeats a level")
        out.append((f, levels))
    return tuple(out)


def _flag(kind: FileKind, key: str, v: Any) -> bool:
    require(kind, isinstance(v, bool), key, v, "must be true or false")
    return v


@dataclass(frozen=True)
class DesignPlan:
    """``[design]``: within-subject factors (column names), optional level orders
    (factor, levels) and whether the factorial results are repeated per session."""
    factors: Annotated[tuple[str, ...], Items("column names", allow_empty=False,
                                              distinct=False)] = ("condition",)
    levels: Annotated[tuple[tuple[str, tuple[str, ...]], ...], Parsed(_levels_table)] = ()
    per_session: Annotated[bool, Parsed(_flag)] = False

    def level_order(self, factor: str) -> tuple[str, ...] | None:
        return dict(self.levels).get(factor)

    @property
    def is_study_default(self) -> bool:
        """True for the study's own design (condition only, no per-session results)."""
        return self.factors == ("condition",) and not self.per_session


@dataclass(frozen=True)
class NamedContrast:
    """One ``[[contrasts.named]]`` entry: a name and, per factor, (level, weight) pairs."""
    name: str
    weights: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]

    def factor_weights(self) -> dict[str, dict[str, float]]:
        return {f: dict(w) for f, w in self.weights}


@dataclass(frozen=True)
class Design:
    """A design resolved against data: factors and the levels present, in order."""
    factors: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]

    def cells(self) -> list[tuple[str, ...]]:
        """Every cell (one level per factor), first factor varying slowest."""
        return list(itertools.product(*self.levels))

    def cell_index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_tuples(self.cells(), names=list(self.factors))

    def cell_weights(self, contrast: NamedContrast) -> np.ndarray:
        """The contrast's weight for every cell of :meth:`cells` (unnamed factors averaged)."""
        fw = contrast.factor_weights()
        per_factor = []
        for f, levels in zip(self.factors, self.levels):
            if f in fw:
                unknown = sorted(set(fw[f]) - set(levels))
                if unknown:
                    raise DesignError(f"contrast {contrast.name!r}: {f} has no level "
                                      f"{unknown[0]!r} in the data; levels: {', '.join(levels)}")
                per_factor.append(np.array([fw[f].get(lv, 0.0) for lv in levels]))
            else:
                per_factor.append(np.full(len(levels), 1.0 / len(levels)))
        w = per_factor[0]
        for v in per_factor[1:]:
            w = np.kron(w, v)
        return w


def check_design_plan(kind: FileKind, plan: DesignPlan) -> None:
    """The checks of ``[design]`` across its keys: distinct factors, none of them reserved,
    level orders only for factors of the design."""
    factors = list(plan.factors)
    require(kind, len(set(factors)) == len(factors), "design.factors", factors,
            "repeats a factor")
    bad = [f for f in factors if f in RESERVED]
    if bad:
        raise key_error(kind, "design.factors", f" = {factors!r}: {bad[0]} is not a factor; "
                        f"name columns that hold within-subject conditions")
    for f, _ in plan.levels:
        if f not in factors:
            raise key_error(kind, f"design.levels.{f}", f": {f} is not in design.factors "
                            f"({', '.join(factors)})")


def named_contrasts_from_list(kind: FileKind, key: str, entries: Any) -> tuple[NamedContrast, ...]:
    """Validate ``[[contrasts.named]]`` entries (``key``: their key path)."""
    if not isinstance(entries, list):
        raise key_error(kind, key, f" must be an array of tables ([[{key}]])")
    out, names = [], set()
    for i, e in enumerate(entries, 1):
        at = f"{key}[{i}]"
        if not isinstance(e, dict):
            raise not_table(kind, at, e, f"[[{key}]]")
        name = value_of(kind, e.get("name"), Annotated[str, Text(one_line=True)], f"{at}.name")
        require(kind, name not in names, f"{at}.name", name, "repeats a contrast name")
        names.add(name)
        factors = [(f, v) for f, v in e.items() if f != "name"]
        if not factors:
            raise key_error(kind, at, f" ({name}) gives no factor; add e.g. "
                            f"condition = [\"backward\", \"forward\"]")
        weights = tuple((f, _factor_weights(kind, f"{at}.{f}", v)) for f, v in factors)
        out.append(NamedContrast(name=name, weights=weights))
    return tuple(out)


def _factor_weights(kind: FileKind, key: str, v: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(v, list):
        require(kind, len(v) == 2 and all(isinstance(x, str) for x in v) and v[0] != v[1], key,
                v, "must be a pair of two different levels [a, b] (a − b) or a table of level "
                "weights")
        return ((v[0], 1.0), (v[1], -1.0))
    require(kind, isinstance(v, dict) and bool(v), key, v,
            "must be a pair of levels [a, b] or a table of level weights")
    w = tuple((lv, value_of(kind, x, float, f"{key}.{lv}")) for lv, x in v.items())
    if abs(sum(x for _, x in w)) > 1e-9 or all(x == 0 for _, x in w):
        raise key_error(kind, key, f" = {v!r}: the weights must sum to 0 and not all be 0 "
                        f"(a contrast)")
    return w


def check_declared_levels(test: pd.DataFrame, plan: DesignPlan) -> None:
    """Every test trial's value of a factor with a declared level order (``[design.levels]``)
    is one of its levels — on every test trial, not only the valid ones, so that a stray
    level is found even when its trials are excluded. DesignError naming the file
    (``source_file``), row (``source_row``, else ``trial_in_session``: the row of a
    stroop-walk trial file), factor and value."""
    for f, order in plan.levels:
        if f not in test.columns:
            continue
        bad = ~test[f].astype(str).isin(order)
        if bad.any():
            r = test[bad].iloc[0]
            row = r["source_row"] if "source_row" in test.columns else r["trial_in_session"]
            raise DesignError(f"{r['source_file']}: row {int(row)}: {f} = {str(r[f])!r} is not a "
                              f"level of plan key design.levels.{f} ({', '.join(order)}); add it "
                              f"to the plan or correct the data")


def resolve_design(trials: pd.DataFrame, plan: DesignPlan,
                   known_orders: Mapping[str, Sequence[str]] | None = None) -> Design:
    """The design's factors with their levels in order: the plan's order, else
    ``known_orders`` (e.g. the plan's condition order), else :data:`DEFAULT_LEVEL_ORDER`,
    else sorted. Levels the plan lists but the data lack are kept (an empty cell, reported
    by the analyses); levels in the data that a given order lacks are a DesignError."""
    levels = []
    for f in plan.factors:
        if f not in trials.columns:
            raise DesignError(f"plan key design.factors names {f!r}, which is not a column of "
                              f"the trials; columns: {', '.join(map(str, trials.columns))}")
        present = [str(x) for x in pd.unique(trials[f].dropna().astype(str))]
        order = plan.level_order(f)
        if order is not None:
            extra = sorted(set(present) - set(order))
            if extra:
                raise DesignError(f"the data hold {f} = {extra[0]!r}, which plan key "
                                  f"design.levels.{f} does not list; add it")
            levels.append(tuple(order))
            continue
        base = list((known_orders or {}).get(f, DEFAULT_LEVEL_ORDER.get(f, ())))
        ordered = [x for x in base if x in present] + sorted(set(present) - set(base))
        levels.append(tuple(ordered))
    return Design(factors=tuple(plan.factors), levels=tuple(levels))


def check_contrasts(design: Design, contrasts: Sequence[NamedContrast]) -> None:
    """Every factor a named contrast uses is a design factor (else DesignError)."""
    for c in contrasts:
        for f, _ in c.weights:
            if f not in design.factors:
                raise DesignError(f"contrast {c.name!r} uses {f!r}, which is not in "
                                  f"design.factors ({', '.join(design.factors)})")
        design.cell_weights(c)


def participant_cells(trials: pd.DataFrame, design: Design, value: str = "rt_ms",
                      subject: str = "participant") -> pd.DataFrame:
    """Participants × cells (columns: :meth:`Design.cell_index`) of the mean ``value``; a
    cell without trials is NaN."""
    keys = [subject] + list(design.factors)
    d = trials[keys + [value]].copy()
    for f in design.factors:
        d[f] = d[f].astype(str)
    means = d.groupby(keys, observed=True)[value].mean()
    wide = means.unstack(list(design.factors))
    if not isinstance(wide.columns, pd.MultiIndex):   # one factor
        wide.columns = pd.MultiIndex.from_arrays([wide.columns], names=list(design.factors))
    return wide.reindex(columns=design.cell_index())


def empty_cells(trials: pd.DataFrame, design: Design) -> list[tuple[str, ...]]:
    """Cells of the design without a single trial."""
    d = trials[list(design.factors)].astype(str)
    present = set(map(tuple, d.drop_duplicates().to_numpy().tolist()))
    return [c for c in design.cells() if c not in present]


def cell_label(design: Design, cell: tuple[str, ...]) -> str:
    """'condition = backward, congruency = congruent'."""
    return ", ".join(f"{f} = {lv}" for f, lv in zip(design.factors, cell))
