"""The whole analysis: data folder + plan → tables, figures, report (``python -m analysis``).

:func:`run` reads and validates the data (:mod:`analysis.input.loader`), applies the plan's
exclusions (:mod:`analysis.cleaning.selection`), runs results 1–7 of the study's analysis, and writes
``tables/`` (CSV, Markdown, LaTeX), ``figures/`` (PNG, SVG), ``report.md`` and a
self-contained ``report.html`` into the output folder. Nothing is written to the data
folder. Same inputs → byte-identical tables.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.output import figures as figs
from analysis.statistics.accuracy import accuracy_gee
from analysis.statistics.anova import paired_contrasts, rm_anova_table
from analysis.cleaning.selection import AnalysisError, Prepared, prepare
from analysis.input.codebook import ACCURACY_CODES, VOICE_DEVICE
from analysis.statistics.descriptives import (DTE_CONVENTION, descriptives_table, dte_tables, participant_means,
                           participant_summary)
from analysis.input.design import DesignError
from analysis.design_analysis import design_results
from analysis.design_analysis import wanted as design_wanted
from analysis.statistics.effects import interference_baseline, interference_tables, order_effects
from analysis.output.figures import FigureFile
from analysis.input.loader import LoadedData, load_trials
from analysis.input.mapping import Mapping
from analysis.statistics.models import ConditionFit, NotIdentifiable, adjust_p, fit_condition_lmm
from analysis.output.folder import discard, publish, staging_folder
from analysis.input.plan import PRIMARY_CONTRAST, Plan, condition_pairs
from analysis.output.results import Results
from analysis.output.tables import CSV_FLOAT, Table, write_table
from analysis.input.tabular import load_tables
from analysis.statistics.timing_qa import timing_qa_sentence, timing_qa_table

#: File (in the output folder) of the cleaned trial-level data every model was fitted to.
CLEANED_TRIALS = "cleaned_trials.csv"
#: Its leading columns; design factors that are other columns follow, then the flags.
CLEANED_COLUMNS = ("participant", "session", "block", "trial_in_block", "condition",
                   "congruency", "rt_ms", "correct", "timeout")
CLEANED_FLAGS = ("rt_ok", "valid", "primary")


def cleaned_trials(test: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The test trials of the included participants as every analysis saw them: columns
    :data:`CLEANED_COLUMNS` (``rt_ms`` in ms, empty on a timeout), the plan's other design
    factors, then 0/1 flags ``rt_ok`` (correct, no timeout, RT ≥ min), ``valid`` (rt_ok and
    not trimmed: the RT analyses) and ``primary`` (primary congruency), sorted by
    participant, session, block and trial."""
    extra = [f for f in plan.design.factors if f not in CLEANED_COLUMNS and f in test.columns]
    cols = list(CLEANED_COLUMNS) + extra + list(CLEANED_FLAGS)
    out = test[cols].copy()
    for c in CLEANED_FLAGS:
        out[c] = out[c].astype(int)
    out["condition"] = out["condition"].astype(str)
    return out.sort_values(["participant", "session", "block", "trial_in_block"],
                           kind="stable").reset_index(drop=True)


def write_cleaned_trials(test: pd.DataFrame, plan: Plan, path: Path) -> Path:
    """Write :func:`cleaned_trials` as CSV (full precision, like every table)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cleaned_trials(test, plan).to_csv(index=False, float_format=CSV_FLOAT,
                                                      lineterminator="\n", na_rep=""),
                    encoding="utf-8")
    return path


def _check_out_dir(data_dir: Path, out_dir: Path) -> None:
    d, o = data_dir.resolve(), out_dir.resolve()
    if data_dir.is_file():   # one table: only the file itself is off limits
        if o == d:
            raise AnalysisError(f"--out {out_dir} is the data file; choose an output folder")
        return
    if o == d or d in o.parents:
        raise AnalysisError(f"--out {out_dir} is inside the data folder {data_dir}; the "
                            f"analysis never writes there: choose another output folder")


def _lmm_tables(fit: ConditionFit, adjust: str) -> tuple[pd.DataFrame, pd.DataFrame,
                                                         pd.DataFrame, pd.DataFrame]:
    """Model summary, fixed effects (back-transformed), condition means and contrasts."""
    f = fit.fit
    info = [("model", f"log(rt_ms) ~ condition ({fit.reference} = reference), REML"),
            ("random effects", {"slopes": "intercept + condition slopes by participant "
                                "(unstructured covariance)",
                                "uncorrelated": "intercept + condition slopes by participant, "
                                "correlations fixed at 0",
                                "intercept": "intercept by participant"}.get(
                fit.structure, f"{f.re_formula}, correlations fixed at 0")),
            ("fallback", fit.fallback or "none (primary structure used)"),
            ("why", fit.fallback_reason or "—"),
            ("observations", f.n_obs), ("participants", f.n_groups),
            ("REML criterion", f.reml_criterion), ("converged", f.converged),
            ("singular", f.singular), ("tests", f.df_method),
            ("residual SD (log)", math.sqrt(f.scale))]
    sd = f.re_sd
    for name in sd.index:
        info.append((f"random SD {name} (log)", float(sd[name])))
    corr = f.re_corr
    for i, a in enumerate(corr.index):
        for b in corr.columns[i + 1:]:
            if f.cov_re.at[a, b] != 0 or fit.structure == "slopes":
                info.append((f"random corr {a} × {b}", float(corr.at[a, b])))
    if f.warnings:
        info.append(("fit warnings", " | ".join(f.warnings)))
    info_df = pd.DataFrame(info, columns=["item", "value"])
    info_df["value"] = [v if isinstance(v, str) else
                        ("yes" if v else "no") if isinstance(v, (bool, np.bool_)) else
                        str(int(v)) if isinstance(v, (int, np.integer)) else f"{v:.6g}"
                        for v in info_df["value"]]

    means = fit.condition_means()
    fe = []
    for c in fit.conditions:
        if c == fit.reference:
            m = means[means["condition"] == c].iloc[0]
            k0 = f.t_test(np.eye(len(f.params))[0])
            fe.append({"term": f"intercept ({c})", "estimate_log": k0.estimate,
                       "se": k0.se, "df": k0.df, "t": k0.t, "p": np.nan,
                       "ratio": np.nan, "ratio_ci_low": np.nan, "ratio_ci_high": np.nan,
                       "value_ms": m["gm_ms"], "ci_low_ms": m["ci_low_ms"],
                       "ci_high_ms": m["ci_high_ms"]})
            continue
        k = fit.contrast(c, fit.reference)
        fe.append({"term": f"{c} vs {fit.reference}", "estimate_log": k.estimate, "se": k.se,
                   "df": k.df, "t": k.t, "p": k.p, "ratio": k.ratio, "ratio_ci_low": k.ratio_ci_low,
                   "ratio_ci_high": k.ratio_ci_high, "value_ms": k.ms_diff,
                   "ci_low_ms": k.ms_ci_low, "ci_high_ms": k.ms_ci_high})
    fe_df = pd.DataFrame(fe)

    means_df = means[["condition", "gm_ms", "ci_low_ms", "ci_high_ms"]].rename(
        columns={"gm_ms": "geometric_mean_ms"})

    pw = _contrast_frame(fit, adjust)
    return info_df, fe_df, means_df, pw


def _contrast_frame(fit: ConditionFit, adjust: str) -> pd.DataFrame:
    conds = fit.conditions
    pairs = condition_pairs(conds)
    rows = []
    for a, b in pairs:
        k = fit.contrast(a, b)
        rows.append({"contrast": f"{a} vs {b}", "key": (a, b) == PRIMARY_CONTRAST,
                     "estimate_log": k.estimate, "se": k.se, "df": k.df, "t": k.t, "p": k.p,
                     "ratio": k.ratio, "ratio_ci_low": k.ratio_ci_low,
                     "ratio_ci_high": k.ratio_ci_high, "diff_ms": k.ms_diff,
                     "ci_low_ms": k.ms_ci_low, "ci_high_ms": k.ms_ci_high})
    df = pd.DataFrame(rows)
    df.insert(df.columns.get_loc("p") + 1, "p_adj", adjust_p(df["p"].to_numpy(), adjust))
    return df


def not_fitted_sentence(model: str, reason: str) -> str:
    """One sentence: which model was not fitted and why."""
    return f"{model} was not fitted: {reason}."


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def run(data_dir: Path, out_dir: Path, plan: Plan, skip_bad: bool = False,
        progress: bool | None = None, command: str = "", mapping: Mapping | None = None,
        force: bool = False, accept_edited: bool = False,
        include_simulated: bool = False) -> Results:
    """Run the analysis; see the module docstring. ``mapping``: read ``data_dir`` (a file
    or folder of another lab's tables) through this column mapping instead of as
    stroop-walk sessions. Raises DataError / PlanError / AnalysisError / OutputError
    (one-line messages) on unusable input.

    The outputs are written into a fresh folder beside ``out_dir`` and put in its place
    only when complete (:mod:`analysis.output.folder`; ``force``: write into an existing folder
    that this tool did not write). ``accept_edited``, ``include_simulated``: see
    :func:`analysis.input.loader.load_trials`."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    _check_out_dir(data_dir, out_dir)
    loaded = (load_tables(data_dir, mapping) if mapping is not None else
              load_trials(data_dir, skip_bad=skip_bad, progress=progress,
                          coder=plan.voice.coder, accept_edited=accept_edited,
                          include_simulated=include_simulated))
    prepared = prepare(loaded.trials, plan)
    staging = staging_folder(out_dir, force)
    try:
        res = _analyse(plan, loaded, prepared, staging, progress, command, mapping)
        publish(staging, out_dir)
    except BaseException:
        discard(staging)
        raise
    res.out_dir = out_dir
    return res


def _analyse(plan: Plan, loaded: LoadedData, prepared: Prepared, out_dir: Path,
             progress: bool | None, command: str, mapping: Mapping | None) -> Results:
    """Results 1-7: every table, figure and the report written into ``out_dir``
    (``mapping``: the column mapping the data were read through, if any)."""
    from tqdm.auto import tqdm

    from analysis.output.report import write_report

    res = Results(plan=plan, loaded=loaded, prepared=prepared, out_dir=out_dir)
    conds, ref = prepared.conditions, prepared.reference
    test = prepared.test
    primary_test = test[test["primary"]]
    valid = primary_test[primary_test["valid"]]
    pc = plan.trials.primary_congruency
    if valid.empty:
        raise AnalysisError("no participant is left after the exclusions (see the plan's "
                            "[participants] rules); nothing to analyse")
    tables = res.tables
    pairs = condition_pairs(conds)
    rt_label = f"Mean RT, correct {pc} trials (ms)"

    steps = ["descriptives", "primary model", "untrimmed model", "rm-ANOVA", "accuracy",
             "interference", "dual-task effect", "order effects", "design", "figures"]
    bar = tqdm(steps, desc="analysis", unit="step", leave=False,
               disable=None if progress is None else not progress)
    for step in bar:
        bar.set_postfix_str(step)
        if step == "descriptives":
            tables.append(Table("exclusions", "Exclusions",
                                "Every removed trial and participant, by reason, in the order "
                                "the rules were applied (trial counts per condition).",
                                prepared.exclusions))
            pp = prepared.participants
            tables.append(Table("participants", "Participants",
                                "Per participant: test trials, accuracy over all test trials, "
                                "valid primary trials per condition and exclusion reason.",
                                pp, in_report=len(pp) <= 60))
            if loaded.voice:
                vc = voice_coding_table(loaded)
                tables.append(Table(
                    "voice_coding", "Voice trials: hand coding",
                    "Per session with vocal responses (all its trials, practice included): "
                    "whose codes were applied, how many trials the coder corrected, how far "
                    "the moved speech onsets moved, and the final accuracy codes.", vc,
                    note="Shifts: |coder's onset − voice key's onset| (ms) over the moved "
                         "onsets that have both; speech_added / speech_removed: the coder "
                         "found speech the voice key did not / found none where it did.",
                    in_report=len(vc) <= 60))
            if mapping is not None:   # another lab's table: no frame timing recorded
                res.sentences["timing_qa"] = ("The data were read through a column mapping; "
                                              "they carry no display timing to check.")
            else:
                _timing_qa(res, tables)
            tables.append(Table("descriptives", "Descriptives by condition",
                                f"Correct {pc} trials: participant-mean RT (mean, SD across "
                                f"participants, mean of participant medians) with Cousineau–"
                                f"Morey within-subject 95% CI, accuracy and timeouts.",
                                descriptives_table(primary_test, conds)))
        elif step == "primary model":
            if len(conds) < 2:
                res.sentences["primary"] = ("Only one condition is in the data, so there is "
                                            "no condition model.")
                continue
            try:
                fit = fit_condition_lmm(valid, reference=ref)
            except NotIdentifiable as e:
                res.sentences["primary"] = not_fitted_sentence(
                    "The mixed model log(rt_ms) ~ condition", str(e))
                tables.append(Table(
                    "participant_summary", "Per-participant summary (no model fitted)",
                    f"Per participant and condition, correct {pc} trials: trials, valid "
                    f"trials, mean, median and SD of the valid RTs (ms), accuracy and "
                    f"timeouts.", participant_summary(primary_test, conds),
                    in_report=len(primary_test["participant"].unique()) <= 20))
                continue
            res.primary = fit
            info, fe, means, pw = _lmm_tables(fit, plan.contrasts.adjust)
            tables += [
                Table("lmm_model", "Primary model: structure and fit",
                      "The trial-level log-RT linear mixed model, its random-effects "
                      "structure (and fallback, if any) and fit statistics.", info),
                Table("lmm_fixed_effects", "Primary model: fixed effects",
                      f"Each condition vs {ref} on the log scale, back-transformed to a ratio "
                      f"of geometric means and to milliseconds (intercept: geometric-mean RT "
                      f"of {ref}).", fe,
                      note="value_ms: for the intercept the geometric-mean RT of the "
                           "reference; for a condition its difference from the reference at "
                           f"that RT (CI from the ratio CI). Tests: {fit.fit.df_method}."),
                Table("lmm_condition_means", "Primary model: condition means",
                      "Model-estimated geometric-mean RT per condition with 95% CI.", means),
                Table("lmm_contrasts", "Primary model: pairwise contrasts",
                      f"Every pair of conditions, {plan.contrasts.adjust}-adjusted over all "
                      f"pairs; key = the backward-vs-forward contrast.", pw,
                      note=f"Tests: {fit.fit.df_method}."),
            ]
            res.sentences["primary"] = (
                f"Random-effects structure used: {fit.structure}"
                + (f" (fallback; {fit.fallback_reason})." if fit.fallback else
                   " (the pre-registered structure).")
                + " Fallback order: intercept + correlated condition slopes → uncorrelated "
                  "slopes → (when the uncorrelated fit is singular) the same without the "
                  "random effects whose variance it estimates as 0 → random intercept only, "
                  "skipping a structure with more random-effect parameters than participants "
                  "and taking the first fit that converges and is not singular. "
                + f"Tests: {fit.fit.df_method}.")
        elif step == "untrimmed model":
            if res.primary is None:
                if "primary" in res.sentences and len(conds) >= 2:
                    res.sentences["sensitivity"] = ("No untrimmed model either: the primary "
                                                    "model was not fitted (section 2).")
                continue
            unt = primary_test[primary_test["rt_ok"]]
            try:
                ufit = fit_condition_lmm(unt, reference=ref)
            except NotIdentifiable as e:
                res.sentences["sensitivity"] = not_fitted_sentence(
                    "The untrimmed mixed model", str(e))
                continue
            res.untrimmed = ufit
            a = _contrast_frame(res.primary, plan.contrasts.adjust)
            b = _contrast_frame(ufit, plan.contrasts.adjust)
            sens = pd.DataFrame({
                "contrast": a["contrast"],
                "trimmed_ratio": a["ratio"], "trimmed_diff_ms": a["diff_ms"],
                "p_adj_trimmed": a["p_adj"],
                "untrimmed_ratio": b["ratio"], "untrimmed_ratio_ci_low": b["ratio_ci_low"],
                "untrimmed_ratio_ci_high": b["ratio_ci_high"], "untrimmed_diff_ms": b["diff_ms"],
                "p_adj_untrimmed": b["p_adj"]})
            tables.append(Table(
                "sensitivity_untrimmed", "Sensitivity: without the slow-tail rule",
                f"The primary model's contrasts with the slow-tail rule ({prepared.trim_rule}) "
                f"and without it ({len(unt)} instead of {len(valid)} trials, same "
                f"participants).", sens,
                note=f"Untrimmed model structure: {ufit.structure}."))
        elif step == "rm-ANOVA":
            wide = participant_means(valid).reindex(columns=list(conds)).dropna()
            if len(conds) < 2 or len(wide) < 2:
                res.sentences["anova"] = not_fitted_sentence(
                    "The rm-ANOVA", "it needs two conditions and at least two participants "
                    f"with a mean in each; these data have {len(conds)} condition(s) and "
                    f"{len(wide)} such participant(s)")
                continue
            tables.append(Table("rm_anova", "Repeated-measures ANOVA on participant means",
                                "One-way rm-ANOVA of participant mean RT over conditions with "
                                "Mauchly's sphericity test, Greenhouse–Geisser and Huynh–Feldt "
                                "corrections, partial and generalised eta².",
                                rm_anova_table(wide)))
            tables.append(Table("paired_contrasts", "Paired contrasts on participant means",
                                f"Mean RT difference a − b (ms) with 95% CI, paired t test, "
                                f"{plan.contrasts.adjust}-adjusted p and Cohen's dz.",
                                paired_contrasts(wide, pairs, plan.contrasts.adjust)))
        elif step == "accuracy":
            n_people = primary_test["participant"].nunique()
            if n_people < 2:
                res.sentences["accuracy"] = not_fitted_sentence(
                    "The accuracy model (GEE)", "its robust standard errors need at least two "
                    "participants and these data have one; the descriptives give accuracy per "
                    "condition")
                continue
            acc, omni = accuracy_gee(primary_test, conds, ref)
            tables.append(Table("accuracy_model", "Accuracy: GEE logistic model",
                                f"Odds of a correct response on {pc} trials in each condition "
                                f"vs {ref} (binomial GEE, exchangeable correlation within "
                                f"participant, robust SEs; timeouts count as errors).", acc))
            res.sentences["accuracy"] = (
                f"Omnibus Wald test of condition: χ²({omni['df']}) = {omni['chi2']:.3f}, "
                f"{_fmt_p(omni['p'])}." if not math.isnan(omni["chi2"]) else
                f"Accuracy model not fitted: {omni['note']}.") + (
                f" Note: {omni['note']}" if omni["note"] and not math.isnan(omni["chi2"]) else "")
        elif step == "interference":
            inter = interference_tables(test, conds, plan.contrasts.adjust)
            if inter is None:
                res.sentences["interference"] = (
                    "The data hold only " + ", ".join(sorted(set(test["congruency"])))
                    + " trials, so there is no interference score (incongruent − congruent "
                    "or neutral) and no congruency × condition interaction to test.")
                continue
            base = interference_baseline(test)
            tables.append(Table("interference", "Stroop interference by condition",
                                "Participant-mean interference (incongruent minus congruent or "
                                "neutral RT, ms) per condition with 95% CI, one-sample t test "
                                "and Cohen's dz.", inter["interference"]))
            if "interaction" in inter:
                tables.append(Table("congruency_by_condition",
                                    "Congruency × condition interaction",
                                    f"rm-ANOVA of the interference scores (incongruent − "
                                    f"{base}) across conditions, i.e. the congruency × "
                                    f"condition interaction, with sphericity correction.",
                                    inter["interaction"]))
                tables.append(Table("interference_contrasts",
                                    "Interference differences between conditions",
                                    f"Paired differences in interference (ms) between "
                                    f"conditions, {plan.contrasts.adjust}-adjusted, with "
                                    f"Cohen's dz.", inter["interaction_contrasts"]))
        elif step == "dual-task effect":
            if len(conds) < 2:
                continue
            per, summary = dte_tables(primary_test, conds, ref)
            tables.append(Table("dte_summary", "Dual-task effect on RT",
                                f"DTE% per walking condition relative to {ref}: mean over "
                                f"participants with 95% CI and one-sample t test against 0.",
                                summary, note=DTE_CONVENTION))
            tables.append(Table("dte_per_participant", "Dual-task effect per participant",
                                f"Each participant's mean RT in {ref} and each walking "
                                f"condition and their DTE%.", per, note=DTE_CONVENTION,
                                in_report=len(per) <= 60))
        elif step == "order effects":
            checks, by_pos = order_effects(primary_test, conds)
            tables.append(Table("order_effects", "Condition-order and block effects",
                                "Checks that the condition effects are not order artefacts: "
                                "position of a condition in the session, repetition of a "
                                "condition, and condition × order group, on participant "
                                "means.", checks))
            tables.append(Table("rt_by_position", "Mean RT by condition and position",
                                "Mean of participant means (ms) for each condition by the "
                                "position at which it was run in the session.", by_pos))
        elif step == "design":
            if design_wanted(plan):
                try:
                    dres = design_results(test, plan, conds)
                except DesignError as e:
                    raise AnalysisError(str(e)) from None
                tables += dres.tables
                res.sentences["design"] = " ".join(dres.sentences)
        elif step == "figures":
            _figures(res, primary_test, valid, test, rt_label)
    bar.close()
    for t in tables:
        write_table(t, out_dir / "tables")
    write_cleaned_trials(test, plan, out_dir / CLEANED_TRIALS)
    write_report(res, command=command)
    return res


def _timing_qa(res: Results, tables: list[Table]) -> None:
    """The display-timing table and sentence of stroop-walk sessions."""
    tq = timing_qa_table(res.loaded.trials, res.loaded.data_dir)
    tables.append(Table(
        "timing_qa", "Display timing per session",
        "Per session (test trials): the refresh rate the session measured, frames "
        "PsychoPy counted as dropped, the share of word onsets on their planned frame "
        "(fixation flip + fixation duration, within half a frame) and, where the "
        "session saved its frame intervals, the longest interval and the worst "
        "block's share of dropped frames.", tq,
        note="On a virtual display (no vertical blank) these figures say nothing "
             "about a real monitor.", in_report=len(tq) <= 60))
    res.sentences["timing_qa"] = timing_qa_sentence(tq)


def voice_coding_table(loaded: LoadedData) -> pd.DataFrame:
    """One row per session with voice trials: the coder summary of the loader
    (:class:`analysis.input.coding.VoiceCoding`) and the count of each final accuracy code."""
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


def _figures(res: Results, primary_test: pd.DataFrame, valid: pd.DataFrame,
             test: pd.DataFrame, rt_label: str) -> None:
    p = res.prepared
    conds, ref = p.conditions, p.reference
    folder = res.out_dir / "figures"
    pc = res.plan.trials.primary_congruency
    add = lambda name, title, text, paths: res.figures.append(  # noqa: E731
        FigureFile(name, title, text, *paths))
    add("rt_by_condition", "RT by condition",
        "Mean RT per condition (coloured markers, Cousineau–Morey within-subject 95% CI) with "
        "one grey line per participant.",
        figs.rt_by_condition(valid, conds, folder, rt_label))
    add("rt_distributions", "RT distributions",
        f"Distribution of valid {pc} RTs per condition after the exclusions (20 ms bins).",
        figs.rt_distributions(valid, conds, folder, f"RT, correct {pc} trials (ms)"))
    add("accuracy_by_condition", "Accuracy by condition",
        "Participant accuracy (points) and mean accuracy with within-subject 95% CI per "
        "condition; timeouts count as errors.",
        figs.accuracy_by_condition(primary_test, conds, folder))
    if len(conds) >= 2:
        per, _ = dte_tables(primary_test, conds, ref)
        walking = tuple(c for c in conds if c != ref)
        add("dte_per_participant", "Dual-task effect per participant",
            f"Each participant's DTE% on RT per walking condition (points, lines join a "
            f"participant's conditions), mean with 95% CI; positive = slower than {ref}.",
            figs.dte_per_participant(per, walking, ref, folder))
    base = interference_baseline(test)
    if base is not None:
        add("interference_by_condition", "Interference by condition",
            f"Participant interference (incongruent − {base}, ms; grey lines) and its mean "
            f"with within-subject 95% CI per condition.",
            figs.interference_by_condition(test[test["valid"]], conds, base, folder))
