"""The report section for the plan's declared design: factorial rm-ANOVA, named contrasts
and the design's mixed model, pooled and (``design.per_session``) per session.

Trials: the valid trials of the included participants; with ``congruency`` among the
factors every congruency level, otherwise the plan's primary congruency only. A model the
data cannot identify is not fitted; the section says which and why, in one sentence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from analysis.input.design import Design, NamedContrast, check_contrasts, resolve_design
from analysis.statistics.factorial import factorial_rm_anova, named_contrast_tests
from analysis.statistics.factorial_lmm import (fit_factorial_lmm, lmm_anova_table, lmm_cell_means,
                                               lmm_contrast_table)
from analysis.statistics.models import NotIdentifiable
from analysis.input.plan import Plan
from analysis.output.tables import Table


@dataclass
class DesignResults:
    """Tables (names ``design_*``) and the sentences that go with them."""
    design: Design
    tables: list[Table] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def design_trials(test: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Valid trials the design's analyses use (see the module docstring)."""
    valid = test[test["valid"]]
    if "congruency" in plan.design.factors:
        return valid
    return valid[valid["primary"]]


def wanted(plan: Plan) -> bool:
    """True when the plan declares anything beyond the study's own design."""
    return not plan.design.is_study_default or bool(plan.contrasts.named)


#: First column of every table of the section with ``design.per_session``: which sessions a
#: row analyses ('all sessions', 'session 1', …).
SESSIONS_COLUMN = "sessions"


def session_design(design: Design, contrasts: Sequence[NamedContrast]
                   ) -> tuple[Design, tuple[NamedContrast, ...]]:
    """The design and the named contrasts of one session's analyses: without ``session``
    when it is a factor (one session has one level), and only the contrasts that do not
    involve it."""
    if "session" not in design.factors:
        return design, tuple(contrasts)
    keep = [i for i, f in enumerate(design.factors) if f != "session"]
    within = Design(factors=tuple(design.factors[i] for i in keep),
                    levels=tuple(design.levels[i] for i in keep))
    return within, tuple(c for c in contrasts if "session" not in c.factor_weights())


def design_results(test: pd.DataFrame, plan: Plan, conditions: tuple[str, ...]
                   ) -> DesignResults:
    """Every table of the section; raises :class:`analysis.input.design.DesignError` when plan
    and data disagree. With ``design.per_session`` the analyses are repeated for each session
    (with ``session`` among the factors: over the other factors, and only the contrasts that
    do not involve session) and every table starts with :data:`SESSIONS_COLUMN`."""
    trials = design_trials(test, plan)
    design = resolve_design(trials, plan.design, {"condition": conditions})
    check_contrasts(design, plan.contrasts.named)
    out = DesignResults(design)
    parts = [("all sessions", trials, design, plan.contrasts.named)]
    if plan.design.per_session:
        within, named = session_design(design, plan.contrasts.named)
        parts += [(f"session {s}", t, within, named)
                  for s, t in trials.groupby("session", sort=True)]
    frames: dict[str, list[pd.DataFrame]] = {}
    for label, part, part_design, named in parts:
        for name, frame in _analyses(part, part_design, plan, named, label,
                                     out.sentences).items():
            if plan.design.per_session:
                frame.insert(0, SESSIONS_COLUMN, label)
            frames.setdefault(name, []).append(frame)
    levels = "; ".join(f"{f}: {', '.join(lv)}" for f, lv in zip(design.factors, design.levels))
    out.sentences.insert(0, f"Declared design (plan [design]): within-subject factors "
                            f"{' × '.join(design.factors)} ({levels}).")
    for name, title, text in _TABLE_TEXT:
        if name in frames:
            out.tables.append(Table(name, title, text,
                                    pd.concat(frames[name], ignore_index=True)))
    return out


_TABLE_TEXT = (
    ("design_anova", "Factorial rm-ANOVA on participant cell means",
     "Every main effect and interaction of the declared factors on participant mean RT (ms): "
     "F, Mauchly's test, Greenhouse–Geisser and Huynh–Feldt corrections, partial and "
     "generalised eta²."),
    ("design_contrasts", "Named contrasts on participant cell means",
     "Each contrast of the plan on participant cell means (ms): estimate with 95% CI, paired "
     "t test (df = n − 1), adjusted p and Cohen's dz."),
    ("design_lmm_model", "Design mixed model: structure",
     "The trial-level log-RT mixed model with the design's fixed effects (sum coding): "
     "random-effects structure used and why, and how its tests are made."),
    ("design_lmm_anova", "Design mixed model: F tests",
     "Type-III F test of each term of the log-RT mixed model."),
    ("design_lmm_contrasts", "Design mixed model: named contrasts",
     "Each contrast of the plan on the model's log cell means, with the ratio of geometric "
     "means exp(estimate)."),
    ("design_lmm_cell_means", "Design mixed model: cell means",
     "Model geometric-mean RT (ms) per cell with 95% CI."),
)


def _analyses(trials: pd.DataFrame, design: Design, plan: Plan,
              named: Sequence[NamedContrast], label: str,
              sentences: list[str]) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    if not design.factors:
        sentences.append(f"No factorial analysis ({label}): session is the design's only "
                         f"factor.")
        return out
    try:
        out["design_anova"] = factorial_rm_anova(trials, design)
    except ValueError as e:
        sentences.append(f"The factorial rm-ANOVA ({label}) was not fitted: {e}.")
    if named:
        out["design_contrasts"] = named_contrast_tests(trials, design, named,
                                                       adjust=plan.contrasts.adjust)
    try:
        fit = fit_factorial_lmm(trials, design)
    except NotIdentifiable as e:
        sentences.append(f"The design's mixed model ({label}) was not fitted: {e}.")
        return out
    f = fit.chain.fit
    out["design_lmm_model"] = pd.DataFrame([
        {"item": "model", "value": f.formula + ", REML"},
        {"item": "random effects", "value": f"{f.re_formula} ({fit.chain.structure})"},
        {"item": "why", "value": fit.chain.reason or "—"},
        {"item": "observations", "value": str(f.n_obs)},
        {"item": "participants", "value": str(f.n_groups)},
        {"item": "tests", "value": f.df_method}])
    out["design_lmm_anova"] = lmm_anova_table(fit)
    if named:
        out["design_lmm_contrasts"] = lmm_contrast_table(fit, named, plan.contrasts.adjust)
    out["design_lmm_cell_means"] = lmm_cell_means(fit)
    return out

