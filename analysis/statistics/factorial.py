"""Repeated-measures ANOVA for any number of within-subject factors, and named contrasts on
participant cell means (the univariate approach, as afex ``aov_ez`` / car ``Anova``).

Each participant's cell means (RT in **ms**) are projected on orthonormal contrasts of every
effect (main effects and all interactions): for an effect with p = its df, the scores S
(n × p) give SS_effect = n Σ mean(S)², SS_error = Σ (S − mean)², F = (SS_effect/p) /
(SS_error/(p(n − 1))). Sphericity: Mauchly's W (χ² approximation, as R's ``mauchly.test``),
Greenhouse–Geisser ε = tr(Σ)² / (p tr(Σ²)) and Huynh–Feldt ε with Lecoutre's correction
((n p ε_GG − 2) / (p (n − 1 − p ε_GG)), as car and afex; reported uncapped, capped at 1 for
its p). Effect sizes: partial η² = SS_effect / (SS_effect + SS_error); generalised η²
(Olejnik & Algina 2003, all factors manipulated) = SS_effect / (SS_effect + SS_subjects +
Σ SS_error of every effect). Participants without a mean in every cell are left out
(listwise, as afex); the table says how many were used.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.input.design import Design, NamedContrast, participant_cells
from analysis.statistics.inference import one_sample_t
from analysis.statistics.models import adjust_p

#: Columns of :func:`factorial_rm_anova`.
ANOVA_COLUMNS = ("effect", "n_participants", "df1", "df2", "F", "p", "epsilon_gg", "df1_gg",
                 "df2_gg", "p_gg", "epsilon_hf", "p_hf", "mauchly_w", "p_mauchly",
                 "sphericity_assumed", "partial_eta2", "generalized_eta2")


def _orthonormal_contrasts(k: int) -> np.ndarray:
    """k × (k − 1) orthonormal columns orthogonal to the constant (Helmert, normalised)."""
    h = np.zeros((k, k - 1))
    for j in range(1, k):
        h[:j, j - 1] = 1.0
        h[j, j - 1] = -j
        h[:, j - 1] /= np.linalg.norm(h[:, j - 1])
    return h


def effect_terms(factors: Sequence[str]) -> list[tuple[str, ...]]:
    """Main effects, then two-way interactions, …, in factor order."""
    return [t for r in range(1, len(factors) + 1) for t in itertools.combinations(factors, r)]


def _effect_matrix(design: Design, term: tuple[str, ...]) -> np.ndarray:
    """cells × df orthonormal contrast matrix of ``term`` (others averaged, normalised)."""
    m = np.ones((1, 1))
    for f, levels in zip(design.factors, design.levels):
        k = len(levels)
        part = _orthonormal_contrasts(k) if f in term else np.full((k, 1), 1 / math.sqrt(k))
        m = np.kron(m, part)
    return m


def _sphericity(S: np.ndarray, n: int) -> tuple[float, float, float, float]:
    """Mauchly W and p, GG ε and HF ε (uncapped) of score matrix S (n × p)."""
    p = S.shape[1]
    if p < 2:
        return 1.0, float("nan"), 1.0, 1.0
    cov = np.cov(S, rowvar=False)
    tr = float(np.trace(cov))
    gg = tr * tr / (p * float(np.trace(cov @ cov)))
    hf = (n * p * gg - 2) / (p * (n - 1 - p * gg))
    w = float(np.linalg.det(cov) / (tr / p) ** p)
    f = 1 - (2 * p * p + p + 2) / (6 * p * (n - 1))
    df = p * (p + 1) / 2 - 1
    p_w = float(stats.chi2.sf(-(n - 1) * f * math.log(w), df)) if w > 0 else 0.0
    return w, p_w, gg, hf


def factorial_rm_anova(data: pd.DataFrame, design: Design, dv: str = "rt_ms",
                       subject: str = "participant", alpha_sphericity: float = 0.05
                       ) -> pd.DataFrame:
    """Every main effect and interaction of ``design`` on participant cell means of ``dv``.

    ``data``: one row per trial (or per cell) with ``subject``, the design's factors and
    ``dv``. Columns: :data:`ANOVA_COLUMNS` (effect names join factors with ' × '; df2 =
    p(n − 1); ``sphericity_assumed``: Mauchly p > ``alpha_sphericity`` or one df).
    Raises ValueError with fewer than two complete participants or a one-level factor."""
    if any(len(lv) < 2 for lv in design.levels):
        one = [f for f, lv in zip(design.factors, design.levels) if len(lv) < 2]
        raise ValueError(f"factor {one[0]} has a single level in the data; an ANOVA needs two")
    wide = participant_cells(data, design, dv, subject).dropna()
    Y = wide.to_numpy(dtype=float)
    n = Y.shape[0]
    if n < 2:
        raise ValueError(f"{n} participant(s) with a mean in every cell; an rm-ANOVA needs two")
    grand = Y.mean()
    ss_subjects = Y.shape[1] * float(((Y.mean(axis=1) - grand) ** 2).sum())
    rows, ss_errors = [], []
    for term in effect_terms(design.factors):
        S = Y @ _effect_matrix(design, term)
        p = S.shape[1]
        mean = S.mean(axis=0)
        ss_eff = n * float(mean @ mean)
        ss_err = float(((S - mean) ** 2).sum())
        ss_errors.append(ss_err)
        df1, df2 = p, p * (n - 1)
        F = (ss_eff / df1) / (ss_err / df2) if ss_err > 0 else float("inf")
        w, p_w, gg, hf = _sphericity(S, n)
        sf = lambda eps: float(stats.f.sf(F, df1 * eps, df2 * eps))  # noqa: E731
        rows.append({"effect": " × ".join(term), "n_participants": n, "df1": float(df1),
                     "df2": float(df2), "F": F, "p": sf(1.0), "epsilon_gg": gg,
                     "df1_gg": df1 * gg, "df2_gg": df2 * gg, "p_gg": sf(gg),
                     "epsilon_hf": hf, "p_hf": sf(min(1.0, hf)), "mauchly_w": w,
                     "p_mauchly": p_w,
                     "sphericity_assumed": bool(p < 2 or p_w > alpha_sphericity),
                     "partial_eta2": ss_eff / (ss_eff + ss_err), "_ss": ss_eff})
    denom = ss_subjects + sum(ss_errors)
    for r in rows:
        r["generalized_eta2"] = r["_ss"] / (r.pop("_ss") + denom)
    return pd.DataFrame(rows, columns=list(ANOVA_COLUMNS))


#: Columns of :func:`named_contrast_tests`.
CONTRAST_COLUMNS = ("contrast", "n", "estimate_ms", "se_ms", "ci_low_ms", "ci_high_ms", "t",
                    "df", "p", "p_adj", "cohen_dz")


def named_contrast_tests(data: pd.DataFrame, design: Design,
                         contrasts: Sequence[NamedContrast], dv: str = "rt_ms",
                         subject: str = "participant", adjust: str = "holm") -> pd.DataFrame:
    """One t test per named contrast on participant contrast scores Σ w_cell × cell mean
    (``dv`` units, ms for RT): estimate, SE, 95% CI, t, df = n − 1, p, ``adjust``-adjusted p
    over the contrasts, Cohen's dz. (= emmeans on an afex model, multivariate option.)
    Participants without every cell are left out. Columns: :data:`CONTRAST_COLUMNS`."""
    wide = participant_cells(data, design, dv, subject).dropna()
    Y = wide.to_numpy(dtype=float)
    n = Y.shape[0]
    rows = []
    for c in contrasts:
        r = one_sample_t(Y @ design.cell_weights(c))
        rows.append({"contrast": c.name, "n": n, "estimate_ms": r.mean, "se_ms": r.se,
                     "ci_low_ms": r.ci_low, "ci_high_ms": r.ci_high, "t": r.t,
                     "df": float(n - 1), "p": r.p, "cohen_dz": r.cohen_dz})
    out = pd.DataFrame(rows, columns=[c for c in CONTRAST_COLUMNS if c != "p_adj"])
    out.insert(out.columns.get_loc("p") + 1, "p_adj",
               adjust_p(out["p"].to_numpy(), adjust) if len(out) else [])
    return out
