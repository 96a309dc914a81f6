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
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

#: Default level order of the study's factors; other factors: sorted levels.
DEFAULT_LEVEL_ORDER = {"congruency": ("congruent", "neutral", "incongruent")}
#: Columns the cleaned trials always have; they cannot be within-subject factors.
RESERVED = ("participant", "rt_ms", "correct")


class DesignError(ValueError):
    """A [design] or [[contrasts.named]] entry that cannot be used; one-line message."""


@dataclass(frozen=True)
class DesignPlan:
    """``[design]``: within-subject factors (column names), optional level orders
    (factor, levels) and whether the factorial results are repeated per session."""
    factors: tuple[str, ...] = ("condition",)
    levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    per_session: bool = False

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


def design_plan_from_table(t: Mapping[str, Any]) -> DesignPlan:
    """Validate ``[design]`` (defaults for missing keys); raises DesignError."""
    allowed = ("factors", "levels", "per_session")
    for k in t:
        if k not in allowed:
            raise DesignError(f"plan key design.{k} is unknown; [design] allows "
                              f"{', '.join(allowed)}")
    factors = t.get("factors", list(DesignPlan.factors))
    if (not isinstance(factors, list) or not factors
            or any(not isinstance(f, str) or not f.strip() for f in factors)):
        raise DesignError(f"plan key design.factors = {factors!r} must be a non-empty array "
                          f"of column names")
    if len(set(factors)) != len(factors):
        raise DesignError(f"plan key design.factors = {factors!r} repeats a factor")
    bad = [f for f in factors if f in RESERVED]
    if bad:
        raise DesignError(f"plan key design.factors = {factors!r}: {bad[0]} is not a factor; "
                          f"name columns that hold within-subject conditions")
    levels = t.get("levels", {})
    if not isinstance(levels, dict):
        raise DesignError("plan key design.levels must be a table of factor = [levels]")
    out = []
    for f, lv in levels.items():
        if f not in factors:
            raise DesignError(f"plan key design.levels.{f}: {f} is not in design.factors "
                              f"({', '.join(factors)})")
        if (not isinstance(lv, list) or len(lv) < 2
                or any(not isinstance(x, str) or not x.strip() for x in lv)):
            raise DesignError(f"plan key design.levels.{f} = {lv!r} must be an array of at "
                              f"least two level names")
        if len(set(lv)) != len(lv):
            raise DesignError(f"plan key design.levels.{f} = {lv!r} repeats a level")
        out.append((f, tuple(lv)))
    per_session = t.get("per_session", False)
    if not isinstance(per_session, bool):
        raise DesignError(f"plan key design.per_session = {per_session!r} must be true or false")
    return DesignPlan(factors=tuple(factors), levels=tuple(out), per_session=per_session)


def named_contrasts_from_list(entries: Any) -> tuple[NamedContrast, ...]:
    """Validate ``[[contrasts.named]]`` entries; raises DesignError."""
    if not isinstance(entries, list):
        raise DesignError("plan key contrasts.named must be an array of tables "
                          "([[contrasts.named]])")
    out, names = [], set()
    for i, e in enumerate(entries, 1):
        key = f"contrasts.named[{i}]"
        if not isinstance(e, dict):
            raise DesignError(f"plan key {key} must be a table with name and factor weights")
        name = e.get("name")
        if not isinstance(name, str) or not name.strip() or "\n" in name:
            raise DesignError(f"plan key {key}.name = {name!r} must be a one-line string")
        if name in names:
            raise DesignError(f"plan key {key}.name = {name!r} repeats a contrast name")
        names.add(name)
        factors = [(f, v) for f, v in e.items() if f != "name"]
        if not factors:
            raise DesignError(f"plan key {key} ({name}) gives no factor; add e.g. "
                              f"condition = [\"backward\", \"forward\"]")
        weights = []
        for f, v in factors:
            weights.append((f, _factor_weights(f"{key}.{f}", v)))
        out.append(NamedContrast(name=name, weights=tuple(weights)))
    return tuple(out)


def _factor_weights(key: str, v: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(v, list):
        if len(v) != 2 or any(not isinstance(x, str) for x in v) or v[0] == v[1]:
            raise DesignError(f"plan key {key} = {v!r} must be a pair of two different "
                              f"levels [a, b] (a − b) or a table of level weights")
        return ((v[0], 1.0), (v[1], -1.0))
    if isinstance(v, dict) and v:
        w = []
        for lv, x in v.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise DesignError(f"plan key {key}.{lv} = {x!r} must be a number")
            w.append((lv, float(x)))
        if abs(sum(x for _, x in w)) > 1e-9 or all(x == 0 for _, x in w):
            raise DesignError(f"plan key {key} = {v!r}: the weights must sum to 0 and not "
                              f"all be 0 (a contrast)")
        return tuple(w)
    raise DesignError(f"plan key {key} = {v!r} must be a pair of levels [a, b] or a table "
                      f"of level weights")


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
