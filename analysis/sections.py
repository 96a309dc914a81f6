"""Results 1–7 of the study's analysis, one function per section, in report order
(:data:`SECTIONS`). Each adds its tables, figures and sentences to a
:class:`analysis.output.results.Results`; none writes a table (the pipeline's write step
does). RTs in ms."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from analysis.cleaning.selection import AnalysisError, Prepared
from analysis.design_analysis import design_results
from analysis.design_analysis import wanted as design_wanted
from analysis.input.codebook import ACCURACY_CODES, VOICE_DEVICE
from analysis.input.design import DesignError
from analysis.input.loader import LoadedData
from analysis.input.plan import condition_pairs
from analysis.output import figures as figs
from analysis.output.figures import FigureFile
from analysis.output.model_tables import (condition_means_table, contrasts_table,
                                          fixed_effects_table, model_info_table, sensitivity_table)
from analysis.output.results import Results
from analysis.output.tables import Table
from analysis.statistics.accuracy import accuracy_gee
from analysis.statistics.anova import paired_contrasts, rm_anova_table
from analysis.statistics.descriptives import (DTE_CONVENTION, descriptives_table, dte_tables,
                                              participant_means, participant_summary)
from analysis.statistics.effects import interference_baseline, interference_tables, order_effects
from analysis.statistics.models import NotIdentifiable, fit_condition_lmm
from analysis.statistics.timing_qa import timing_qa_sentence, timing_qa_table


@dataclass(frozen=True)
class TrialSets:
    """The trial subsets the sections analyse (rows of ``Prepared.test``): ``test`` (every
    congruency level), ``primary`` (primary congruency) and ``valid`` (primary and kept by
    every rule: the RT analyses). ``mapped``: the data were read through a column mapping."""
    test: pd.DataFrame
    primary: pd.DataFrame
    valid: pd.DataFrame
    mapped: bool


def trial_sets(prepared: Prepared, mapped: bool) -> TrialSets:
    """:class:`TrialSets` of ``prepared``; AnalysisError when no valid trial is left."""
    test = prepared.test
    primary = test[test["primary"]]
    valid = primary[primary["valid"]]
    if valid.empty:
        raise AnalysisError("no participant is left after the exclusions (see the plan's "
                            "[participants] rules); nothing to analyse")
    return TrialSets(test, primary, valid, mapped)


@dataclass(frozen=True)
class Section:
    """A result section: its name (shown on the progress bar) and the function that adds
    its tables, figures and sentences."""
    name: str
    add: Callable[[Results, TrialSets], None]


def not_fitted_sentence(model: str, reason: str) -> str:
    """One sentence: which model was not fitted and why."""
    return f"{model} was not fitted: {reason}."


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def voice_coding_table(loaded: LoadedData) -> pd.DataFrame:
    """One row per session with voice trials: the coder summary of the loader
    (:class:`analysis.input.coding.VoiceCoding`: participant, session, file, voice_trials,
    coder, hand_corrected, onsets_moved, mean/median_abs_shift_ms, speech_added,
    speech_removed), code_<code> counts of each final accuracy code, and status."""
    t = loaded.trials
    t = t[t["response_device"] == VOICE_DEVICE]
    codes = (t.groupby(["source_file", "accuracy_code"]).size().unstack(fill_value=0)
             .reindex(columns=list(ACCURACY_CODES[1:]), fill_value=0))
    rows = []
    for v in loaded.voice:
        row = {"participant": v.participant, "session": v.session, "file": v.source_file,
               "voice_trials": v.voice_trials, "coder": v.coder or "—",
               "hand_corrected": v.hand_corrected, "onsets_moved": v.onsets_moved,
               "mean_abs_shift_ms": v.mean_abs_shift_ms,
               "median_abs_shift_ms": v.median_abs_shift_ms,
               "speech_added": v.speech_added, "speech_removed": v.speech_removed}
        for c in ACCURACY_CODES[1:]:
            row[f"code_{c}"] = int(codes.at[v.source_file, c]) if v.source_file in codes.index \
                else 0
        row["status"] = v.status
        rows.append(row)
    return pd.DataFrame(rows)


def _voice_coding(res: Results) -> None:
    vc = voice_coding_table(res.loaded)
    res.tables.append(Table(
        "voice_coding", "Voice trials: hand coding",
        "Per session with vocal responses (all its trials, practice included): "
        "whose codes were applied, how many trials the coder corrected, how far "
        "the moved speech onsets moved, and the final accuracy codes.", vc,
        note="Shifts: |coder's onset − voice key's onset| (ms) over the moved "
             "onsets that have both; speech_added / speech_removed: the coder "
             "found speech the voice key did not / found none where it did.",
        in_report=len(vc) <= 60))


def _timing_qa(res: Results, mapped: bool) -> None:
    """The display-timing table and sentence of stroop-walk sessions (a sentence only for
    data read through a column mapping)."""
    if mapped:   # another lab's table: no frame timing recorded
        res.sentences["timing_qa"] = ("The data were read through a column mapping; "
                                      "they carry no display timing to check.")
        return
    tq = timing_qa_table(res.loaded.trials, res.loaded.data_dir)
    res.tables.append(Table(
        "timing_qa", "Display timing per session",
        "Per session (test trials): the refresh rate the session measured, frames "
        "PsychoPy counted as dropped, the share of word onsets on their planned frame "
        "(fixation flip + fixation duration, within half a frame) and, where the "
        "session saved its frame intervals, the longest interval and the worst "
        "block's share of dropped frames.", tq,
        note="On a virtual display (no vertical blank) these figures say nothing "
             "about a real monitor.", in_report=len(tq) <= 60))
    res.sentences["timing_qa"] = timing_qa_sentence(tq)


def add_descriptives(res: Results, trials: TrialSets) -> None:
    """Section 1: exclusions, participants, voice coding, display timing, descriptives."""
    prepared, pc = res.prepared, res.plan.trials.primary_congruency
    res.tables.append(Table("exclusions", "Exclusions",
                            "Every removed trial and participant, by reason, in the order "
                            "the rules were applied (trial counts per condition).",
                            prepared.exclusions))
    pp = prepared.participants
    res.tables.append(Table("participants", "Participants",
                            "Per participant: test trials, accuracy over all test trials, "
                            "valid primary trials per condition and exclusion reason.",
                            pp, in_report=len(pp) <= 60))
    if res.loaded.voice:
        _voice_coding(res)
    _timing_qa(res, trials.mapped)
    res.tables.append(Table("descriptives", "Descriptives by condition",
                            f"Correct {pc} trials: participant-mean RT (mean, SD across "
                            f"participants, mean of participant medians) with Cousineau–"
                            f"Morey within-subject 95% CI, accuracy and timeouts.",
                            descriptives_table(trials.primary, prepared.conditions)))


PRIMARY_STRUCTURE_TEXT = (
    " Fallback order: intercept + correlated condition slopes → uncorrelated "
    "slopes → (when the uncorrelated fit is singular) the same without the "
    "random effects whose variance it estimates as 0 → random intercept only, "
    "skipping a structure with more random-effect parameters than participants "
    "and taking the first fit that converges and is not singular. ")


def _no_primary_model(res: Results, trials: TrialSets, reason: str) -> None:
    pc = res.plan.trials.primary_congruency
    res.sentences["primary"] = not_fitted_sentence(
        "The mixed model log(rt_ms) ~ condition", reason)
    res.tables.append(Table(
        "participant_summary", "Per-participant summary (no model fitted)",
        f"Per participant and condition, correct {pc} trials: trials, valid "
        f"trials, mean, median and SD of the valid RTs (ms), accuracy and "
        f"timeouts.", participant_summary(trials.primary, res.prepared.conditions),
        in_report=len(trials.primary["participant"].unique()) <= 20))


def add_primary_model(res: Results, trials: TrialSets) -> None:
    """Section 2: the trial-level log-RT mixed model (``res.primary``) and its four tables."""
    conds, ref = res.prepared.conditions, res.prepared.reference
    if len(conds) < 2:
        res.sentences["primary"] = ("Only one condition is in the data, so there is "
                                    "no condition model.")
        return
    try:
        fit = fit_condition_lmm(trials.valid, reference=ref)
    except NotIdentifiable as e:
        _no_primary_model(res, trials, str(e))
        return
    res.primary = fit
    adjust = res.plan.contrasts.adjust
    res.tables += [
        Table("lmm_model", "Primary model: structure and fit",
              "The trial-level log-RT linear mixed model, its random-effects "
              "structure (and fallback, if any) and fit statistics.", model_info_table(fit)),
        Table("lmm_fixed_effects", "Primary model: fixed effects",
              f"Each condition vs {ref} on the log scale, back-transformed to a ratio "
              f"of geometric means and to milliseconds (intercept: geometric-mean RT "
              f"of {ref}).", fixed_effects_table(fit),
              note="value_ms: for the intercept the geometric-mean RT of the "
                   "reference; for a condition its difference from the reference at "
                   f"that RT (CI from the ratio CI). Tests: {fit.fit.df_method}."),
        Table("lmm_condition_means", "Primary model: condition means",
              "Model-estimated geometric-mean RT per condition with 95% CI.",
              condition_means_table(fit)),
        Table("lmm_contrasts", "Primary model: pairwise contrasts",
              f"Every pair of conditions, {adjust}-adjusted over all "
              f"pairs; key = the backward-vs-forward contrast.", contrasts_table(fit, adjust),
              note=f"Tests: {fit.fit.df_method}."),
    ]
    res.sentences["primary"] = (
        f"Random-effects structure used: {fit.structure}"
        + (f" (fallback; {fit.fallback_reason})." if fit.fallback else
           " (the pre-registered structure).")
        + PRIMARY_STRUCTURE_TEXT + f"Tests: {fit.fit.df_method}.")


def add_untrimmed_model(res: Results, trials: TrialSets) -> None:
    """Section 3: the primary model refitted without the slow-tail rule (``res.untrimmed``)."""
    if res.primary is None:
        if "primary" in res.sentences and len(res.prepared.conditions) >= 2:
            res.sentences["sensitivity"] = ("No untrimmed model either: the primary "
                                            "model was not fitted (section 2).")
        return
    unt = trials.primary[trials.primary["rt_ok"]]
    try:
        ufit = fit_condition_lmm(unt, reference=res.prepared.reference)
    except NotIdentifiable as e:
        res.sentences["sensitivity"] = not_fitted_sentence("The untrimmed mixed model", str(e))
        return
    res.untrimmed = ufit
    res.tables.append(Table(
        "sensitivity_untrimmed", "Sensitivity: without the slow-tail rule",
        f"The primary model's contrasts with the slow-tail rule ({res.prepared.trim_rule}) "
        f"and without it ({len(unt)} instead of {len(trials.valid)} trials, same "
        f"participants).", sensitivity_table(res.primary, ufit, res.plan.contrasts.adjust),
        note=f"Untrimmed model structure: {ufit.structure}."))


def add_rm_anova(res: Results, trials: TrialSets) -> None:
    """Section 4: rm-ANOVA and paired contrasts on participant mean RTs."""
    conds, adjust = res.prepared.conditions, res.plan.contrasts.adjust
    wide = participant_means(trials.valid).reindex(columns=list(conds)).dropna()
    if len(conds) < 2 or len(wide) < 2:
        res.sentences["anova"] = not_fitted_sentence(
            "The rm-ANOVA", "it needs two conditions and at least two participants "
            f"with a mean in each; these data have {len(conds)} condition(s) and "
            f"{len(wide)} such participant(s)")
        return
    res.tables.append(Table("rm_anova", "Repeated-measures ANOVA on participant means",
                            "One-way rm-ANOVA of participant mean RT over conditions with "
                            "Mauchly's sphericity test, Greenhouse–Geisser and Huynh–Feldt "
                            "corrections, partial and generalised eta².",
                            rm_anova_table(wide)))
    res.tables.append(Table("paired_contrasts", "Paired contrasts on participant means",
                            f"Mean RT difference a − b (ms) with 95% CI, paired t test, "
                            f"{adjust}-adjusted p and Cohen's dz.",
                            paired_contrasts(wide, condition_pairs(conds), adjust)))


def _accuracy_sentence(omni: dict) -> str:
    fitted = not math.isnan(omni["chi2"])
    head = (f"Omnibus Wald test of condition: χ²({omni['df']}) = {omni['chi2']:.3f}, "
            f"{_fmt_p(omni['p'])}." if fitted else f"Accuracy model not fitted: {omni['note']}.")
    return head + (f" Note: {omni['note']}" if omni["note"] and fitted else "")


def add_accuracy(res: Results, trials: TrialSets) -> None:
    """Section 5: the accuracy GEE (odds ratios vs the reference, omnibus Wald test)."""
    conds, ref = res.prepared.conditions, res.prepared.reference
    pc = res.plan.trials.primary_congruency
    if trials.primary["participant"].nunique() < 2:
        res.sentences["accuracy"] = not_fitted_sentence(
            "The accuracy model (GEE)", "its robust standard errors need at least two "
            "participants and these data have one; the descriptives give accuracy per "
            "condition")
        return
    acc, omni = accuracy_gee(trials.primary, conds, ref)
    res.tables.append(Table("accuracy_model", "Accuracy: GEE logistic model",
                            f"Odds of a correct response on {pc} trials in each condition "
                            f"vs {ref} (binomial GEE, exchangeable correlation within "
                            f"participant, robust SEs; timeouts count as errors).", acc))
    res.sentences["accuracy"] = _accuracy_sentence(omni)


def add_interference(res: Results, trials: TrialSets) -> None:
    """Section 6a: Stroop interference per condition and the congruency × condition
    interaction."""
    test, adjust = trials.test, res.plan.contrasts.adjust
    inter = interference_tables(test, res.prepared.conditions, adjust)
    if inter is None:
        res.sentences["interference"] = (
            "The data hold only " + ", ".join(sorted(set(test["congruency"])))
            + " trials, so there is no interference score (incongruent − congruent "
            "or neutral) and no congruency × condition interaction to test.")
        return
    base = interference_baseline(test)
    res.tables.append(Table("interference", "Stroop interference by condition",
                            "Participant-mean interference (incongruent minus congruent or "
                            "neutral RT, ms) per condition with 95% CI, one-sample t test "
                            "and Cohen's dz.", inter["interference"]))
    if "interaction" not in inter:
        return
    res.tables.append(Table("congruency_by_condition", "Congruency × condition interaction",
                            f"rm-ANOVA of the interference scores (incongruent − "
                            f"{base}) across conditions, i.e. the congruency × "
                            f"condition interaction, with sphericity correction.",
                            inter["interaction"]))
    res.tables.append(Table("interference_contrasts",
                            "Interference differences between conditions",
                            f"Paired differences in interference (ms) between "
                            f"conditions, {adjust}-adjusted, with Cohen's dz.",
                            inter["interaction_contrasts"]))


def add_dual_task_effect(res: Results, trials: TrialSets) -> None:
    """Section 6b: the dual-task effect (DTE%) per walking condition and per participant."""
    conds, ref = res.prepared.conditions, res.prepared.reference
    if len(conds) < 2:
        return
    per, summary = dte_tables(trials.primary, conds, ref)
    res.tables.append(Table("dte_summary", "Dual-task effect on RT",
                            f"DTE% per walking condition relative to {ref}: mean over "
                            f"participants with 95% CI and one-sample t test against 0.",
                            summary, note=DTE_CONVENTION))
    res.tables.append(Table("dte_per_participant", "Dual-task effect per participant",
                            f"Each participant's mean RT in {ref} and each walking "
                            f"condition and their DTE%.", per, note=DTE_CONVENTION,
                            in_report=len(per) <= 60))


def add_order_effects(res: Results, trials: TrialSets) -> None:
    """Section 7: condition-order and block checks, mean RT by position."""
    checks, by_pos = order_effects(trials.primary, res.prepared.conditions)
    res.tables.append(Table("order_effects", "Condition-order and block effects",
                            "Checks that the condition effects are not order artefacts: "
                            "position of a condition in the session, repetition of a "
                            "condition, and condition × order group, on participant "
                            "means.", checks))
    res.tables.append(Table("rt_by_position", "Mean RT by condition and position",
                            "Mean of participant means (ms) for each condition by the "
                            "position at which it was run in the session.", by_pos))


def add_design(res: Results, trials: TrialSets) -> None:
    """The plan's own design ([design] factors, named contrasts), when it has one."""
    if not design_wanted(res.plan):
        return
    try:
        dres = design_results(trials.test, res.plan, res.prepared.conditions)
    except DesignError as e:
        raise AnalysisError(str(e)) from None
    res.tables += dres.tables
    res.sentences["design"] = " ".join(dres.sentences)


def add_figures(res: Results, trials: TrialSets) -> None:
    """The figures (PNG and SVG) into ``res.out_dir / 'figures'``."""
    p = res.prepared
    conds, ref = p.conditions, p.reference
    folder = res.out_dir / "figures"
    pc = res.plan.trials.primary_congruency
    add = lambda name, title, text, paths: res.figures.append(  # noqa: E731
        FigureFile(name, title, text, *paths))
    add("rt_by_condition", "RT by condition",
        "Mean RT per condition (coloured markers, Cousineau–Morey within-subject 95% CI) with "
        "one grey line per participant.",
        figs.rt_by_condition(trials.valid, conds, folder, f"Mean RT, correct {pc} trials (ms)"))
    add("rt_distributions", "RT distributions",
        f"Distribution of valid {pc} RTs per condition after the exclusions (20 ms bins).",
        figs.rt_distributions(trials.valid, conds, folder, f"RT, correct {pc} trials (ms)"))
    add("accuracy_by_condition", "Accuracy by condition",
        "Participant accuracy (points) and mean accuracy with within-subject 95% CI per "
        "condition; timeouts count as errors.",
        figs.accuracy_by_condition(trials.primary, conds, folder))
    if len(conds) >= 2:
        per, _ = dte_tables(trials.primary, conds, ref)
        walking = tuple(c for c in conds if c != ref)
        add("dte_per_participant", "Dual-task effect per participant",
            f"Each participant's DTE% on RT per walking condition (points, lines join a "
            f"participant's conditions), mean with 95% CI; positive = slower than {ref}.",
            figs.dte_per_participant(per, walking, ref, folder))
    base = interference_baseline(trials.test)
    if base is not None:
        add("interference_by_condition", "Interference by condition",
            f"Participant interference (incongruent − {base}, ms; grey lines) and its mean "
            f"with within-subject 95% CI per condition.",
            figs.interference_by_condition(trials.test[trials.test["valid"]], conds, base,
                                           folder))


#: The result sections in report order; their names label the progress bar.
SECTIONS: tuple[Section, ...] = (
    Section("descriptives", add_descriptives),
    Section("primary model", add_primary_model),
    Section("untrimmed model", add_untrimmed_model),
    Section("rm-ANOVA", add_rm_anova),
    Section("accuracy", add_accuracy),
    Section("interference", add_interference),
    Section("dual-task effect", add_dual_task_effect),
    Section("order effects", add_order_effects),
    Section("design", add_design),
    Section("figures", add_figures),
)
