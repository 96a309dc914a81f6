"""The trial-level log-RT mixed model of a declared design, with its F tests and contrasts.

``log(rt_ms) ~ f1 * f2 * …`` with sum-to-zero coding of every factor (R's ``contr.sum``),
REML, random effects by participant falling back through the chain of
:func:`analysis.statistics.models.fit_chain`: every within-subject term as a correlated random slope
(lme4 ``(f1 * f2 | participant)``) → the same slopes uncorrelated (``||``) → random
intercept only. Each term gets a Satterthwaite F test of its sum-coded coefficients (=
lmerTest's type-III ``anova``); named contrasts and cell means are t tests on the log scale
(``exp`` gives ratios of geometric means). RTs in **milliseconds**; estimates in log units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.input.design import Design, NamedContrast, cell_label, empty_cells
from analysis.statistics.factorial import effect_terms
from analysis.statistics.models import (STRUCTURES, ChainFit, NotIdentifiable, REStructure,
                                        adjust_p, fit_chain)


def _sum_coding(k: int) -> np.ndarray:
    """k × (k − 1): R's contr.sum (level j → column j, the last level → all −1)."""
    return np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])


@dataclass(frozen=True)
class CodedDesign:
    """Fixed-effect columns of a design: names (R-style, e.g. ``condition1:congruency1``),
    the term of each column and the design row of every cell (cells × p)."""
    names: tuple[str, ...]
    terms: tuple[tuple[str, ...], ...]
    cell_rows: np.ndarray


def coded_design(design: Design) -> CodedDesign:
    """Sum-coded full-factorial columns, intercept first, terms in :func:`effect_terms` order."""
    codes = {f: _sum_coding(len(lv)) for f, lv in zip(design.factors, design.levels)}
    index = {f: {lv: i for i, lv in enumerate(levels)}
             for f, levels in zip(design.factors, design.levels)}
    names, terms = ["(Intercept)"], [()]
    for term in effect_terms(design.factors):
        cols = [[f"{f}{j + 1}" for j in range(len(dict(zip(design.factors, design.levels))[f])
                                               - 1)] for f in term]
        for combo in _product(cols):
            names.append(":".join(combo))
            terms.append(term)
    rows = []
    for cell in design.cells():
        level = dict(zip(design.factors, cell))
        row = [1.0]
        for term in effect_terms(design.factors):
            v = np.ones(1)
            for f in term:
                v = np.kron(v, codes[f][index[f][level[f]]])
            row += v.tolist()
        rows.append(row)
    return CodedDesign(tuple(names), tuple(terms), np.array(rows))


def _product(cols: list[list[str]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for c in cols:
        out = [o + (x,) for o in out for x in c]
    return out


@dataclass(frozen=True)
class FactorialFit:
    """The fitted design LMM: the chain's fit, the design and its coding."""
    chain: ChainFit
    design: Design
    coding: CodedDesign

    def cell_vector(self, cell: tuple[str, ...]) -> np.ndarray:
        return self.coding.cell_rows[self.design.cells().index(tuple(cell))]


def fit_factorial_lmm(trials: pd.DataFrame, design: Design,
                      structures: Sequence[str] = STRUCTURES) -> FactorialFit:
    """Fit the design LMM to valid trials (``participant``, the factors, ``rt_ms`` > 0).

    Raises :class:`NotIdentifiable` (one sentence) when a cell has no trials, there is one
    participant, or no random-effects structure gives an identified fit."""
    data = trials[["participant", *design.factors, "rt_ms"]].dropna()
    data = data.sort_values("participant", kind="stable")
    empty = empty_cells(data, design)
    if empty:
        raise NotIdentifiable(f"the cell {cell_label(design, empty[0])} has no valid trials, "
                              f"so its mean (and every effect involving it) cannot be "
                              f"estimated")
    coding = coded_design(design)
    cell_of = {c: i for i, c in enumerate(design.cells())}
    keys = list(zip(*[data[f].astype(str) for f in design.factors]))
    X = coding.cell_rows[[cell_of[k] for k in keys]]
    y = np.log(data["rt_ms"].to_numpy(dtype=float))
    groups = data["participant"].astype(str).to_numpy()
    formula = "log(rt_ms) ~ " + " * ".join(design.factors) + " (sum coding)"
    slopes = " * ".join(design.factors)
    candidates = []
    for s in structures:
        if s == "intercept":
            candidates.append(REStructure("intercept", np.ones((len(y), 1)), ("participant",),
                                          False, "(1 | participant)"))
        else:
            bar = "||" if s == "uncorrelated" else "|"
            candidates.append(REStructure(s, X, tuple(f"participant:{n}" for n in coding.names),
                                          s == "uncorrelated", f"({slopes} {bar} participant)"))
    chain = fit_chain(y, X, groups, list(coding.names), formula, candidates)
    return FactorialFit(chain=chain, design=design, coding=coding)


def lmm_anova_table(fit: FactorialFit) -> pd.DataFrame:
    """One row per term: F, df1, Satterthwaite df2, p (columns: term, F, df1, df2, p,
    method)."""
    f = fit.chain.fit
    rows = []
    for term in effect_terms(fit.design.factors):
        idx = [i for i, t in enumerate(fit.coding.terms) if t == term]
        L = np.eye(len(fit.coding.names))[idx]
        ft = f.f_test(L)
        rows.append({"term": " × ".join(term), "F": ft.F, "df1": float(ft.df1), "df2": ft.df2,
                     "p": ft.p, "method": f.df_method})
    return pd.DataFrame(rows, columns=["term", "F", "df1", "df2", "p", "method"])


#: Columns of :func:`lmm_contrast_table`.
LMM_CONTRAST_COLUMNS = ("contrast", "estimate_log", "se", "df", "t", "p", "p_adj",
                        "ci_low_log", "ci_high_log", "ratio", "ratio_ci_low", "ratio_ci_high")


def lmm_contrast_table(fit: FactorialFit, contrasts: Sequence[NamedContrast],
                       adjust: str = "holm") -> pd.DataFrame:
    """Each named contrast on the model's log cell means: Σ w_cell × log GM_cell, SE,
    Satterthwaite df, t, p, ``adjust``-adjusted p, 95% CI and the ratio exp(estimate).
    Columns: :data:`LMM_CONTRAST_COLUMNS`."""
    f = fit.chain.fit
    rows = []
    for c in contrasts:
        L = fit.design.cell_weights(c) @ fit.coding.cell_rows
        k = f.t_test(L)
        rows.append({"contrast": c.name, "estimate_log": k.estimate, "se": k.se, "df": k.df,
                     "t": k.t, "p": k.p, "ci_low_log": k.ci_low, "ci_high_log": k.ci_high,
                     "ratio": math.exp(k.estimate), "ratio_ci_low": math.exp(k.ci_low),
                     "ratio_ci_high": math.exp(k.ci_high)})
    out = pd.DataFrame(rows, columns=[c for c in LMM_CONTRAST_COLUMNS if c != "p_adj"])
    out.insert(out.columns.get_loc("p") + 1, "p_adj",
               adjust_p(out["p"].to_numpy(), adjust) if len(out) else [])
    return out


def lmm_cell_means(fit: FactorialFit) -> pd.DataFrame:
    """Model geometric-mean RT (ms) per cell with 95% CI (t, Satterthwaite df). Columns: one
    per factor, log_gm, se, df, gm_ms, ci_low_ms, ci_high_ms."""
    f = fit.chain.fit
    rows = []
    for cell, x in zip(fit.design.cells(), fit.coding.cell_rows):
        k = f.t_test(x)
        rows.append({**dict(zip(fit.design.factors, cell)), "log_gm": k.estimate, "se": k.se,
                     "df": k.df, "gm_ms": math.exp(k.estimate), "ci_low_ms": math.exp(k.ci_low),
                     "ci_high_ms": math.exp(k.ci_high)})
    return pd.DataFrame(rows)
