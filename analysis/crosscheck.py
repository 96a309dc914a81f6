"""``python -m analysis.crosscheck``: every statistic of ours next to R's, on the same data.

    python -m analysis.crosscheck --results DIR [--plan FILE] [--out DIR]
    python -m analysis.crosscheck --vonbastian LEF_stroop.csv --plan FILE [--out DIR]

``--results``: an output folder of ``python -m analysis`` (its ``cleaned_trials.csv`` is
the data, exactly as every model saw it); ``--vonbastian``: the von Bastian et al. (2016)
Stroop file, cleaned by its owners' rule (:func:`vonbastian_trials`). Our side runs the
analysis functions on that file (factorial rm-ANOVA, named contrasts, design LMM, primary
LMM, Cousineau–Morey CIs, accuracy GEE); R's side (``analysis/crosscheck.R``: afex
``aov_ez``, emmeans, lmerTest Satterthwaite, geepack, Cousineau–Morey by hand) runs on the
same file. One table is printed and written (``crosscheck.csv``/``.md`` in ``--out``): every
statistic, ours, R's, the difference and the target — F, estimates, SEs, t, CIs and η²
within 1e-4 relative; df within 0.1 (1e-4 relative above 1000); p within 1e-3. Rows that
differ by design are labelled (``by design: …``), never dropped. Exit status 0 when every
unlabelled row meets its target, 1 otherwise, 2 on unusable input (one line).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

R_SCRIPT = Path(__file__).with_name("crosscheck.R")
STRUCTURE_CODES = {1: "slopes", 2: "uncorrelated", 3: "intercept"}
RELATIVE = {"F", "estimate", "SE", "t", "CI low", "CI high", "partial η²", "generalised η²",
            "ε GG", "ε HF", "Mauchly W", "mean", "value"}
#: statistics compared only as a label (the structure R's own fallback chain would choose)
CHOICE = "R's fallback choice (1 slopes, 2 uncorrelated, 3 intercept)"


class CrosscheckError(ValueError):
    """Input the crosscheck cannot use; one-line message."""


@dataclass(frozen=True)
class Target:
    """Agreement target of one statistic: |ours − R| ≤ tolerance (text for the table)."""
    tolerance: float
    text: str


def target(statistic: str, ours: float, theirs: float) -> Target:
    """The issue's targets: rel 1e-4 for F, estimates, SEs (and t, CIs, η², ε); df 0.1
    (rel 1e-4 when df > 1000); p 1e-3. Relative tolerances have a floor of 1e-4 × 1e-3
    for values near 0 (estimates on the log scale)."""
    scale = max(abs(ours), abs(theirs))
    if statistic.startswith("df"):
        return Target(max(0.1, 1e-4 * scale), "±0.1 (rel 1e-4 > 1000)")
    if statistic in ("p", "p GG", "p HF"):
        return Target(1e-3, "±1e-3")
    return Target(1e-4 * max(scale, 1e-3), "rel 1e-4")


def vonbastian_trials(csv: Path) -> pd.DataFrame:
    """von Bastian, Souza & Gade (2016) Stroop trials in the cleaned-trials layout.

    The owners' cleaning (correct trials, no neutral trials, 200 < RT < 2000 ms) sets
    ``valid``; ``half`` (first / second) splits each participant's trials in file order at
    the middle (a second within-subject factor for a factorial check). Columns:
    participant, session, block, trial_in_block, congruency, half, rt_ms, correct, rt_ok,
    valid, primary."""
    d = pd.read_csv(csv, sep=";")
    need = {"ID", "congruency", "RT", "accuracy"}
    if not need <= set(d.columns):
        raise CrosscheckError(f"{csv}: not the von Bastian file (needs columns "
                              f"{', '.join(sorted(need))})")
    d["trial_in_block"] = d.groupby("ID").cumcount() + 1
    d["n_trials"] = d.groupby("ID")["trial_in_block"].transform("max")
    d = d[d["congruency"] != "neutral"]
    rt_ok = (d["accuracy"] == 1) & (d["RT"] > 200) & (d["RT"] < 2000)
    return pd.DataFrame({
        "participant": d["ID"].map(lambda i: f"VB{int(i):03d}"), "session": 1, "block": 1,
        "trial_in_block": d["trial_in_block"], "congruency": d["congruency"],
        "half": np.where(d["trial_in_block"] <= d["n_trials"] / 2, "first", "second"),
        "rt_ms": d["RT"].astype(float), "correct": d["accuracy"].astype(int),
        "rt_ok": rt_ok.astype(int), "valid": rt_ok.astype(int), "primary": 1,
    }).reset_index(drop=True)


def _long(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["analysis", "term", "statistic", "value"])


def ours(trials: pd.DataFrame, plan) -> tuple[pd.DataFrame, dict]:
    """Our statistics (long: analysis, term, statistic, value) and the spec R needs."""
    from analysis.statistics.descriptives import cousineau_morey, participant_means
    from analysis.input.design import resolve_design
    from analysis.design_analysis import design_trials
    from analysis.statistics.factorial import factorial_rm_anova, named_contrast_tests
    from analysis.statistics.factorial_lmm import (fit_factorial_lmm, lmm_anova_table,
                                                   lmm_contrast_table)
    from analysis.statistics.models import NotIdentifiable, fit_condition_lmm

    t = trials.copy()
    for c in ("valid", "primary", "rt_ok"):
        t[c] = t[c].astype(bool)
    dt = design_trials(t, plan)
    conds = [c for c in plan.conditions.order if "condition" in t and c in set(t["condition"])]
    design = resolve_design(dt, plan.design, {"condition": conds})
    rows: list[tuple[str, str, str, float]] = []
    aov = factorial_rm_anova(dt, design)
    for r in aov.itertuples(index=False):
        for stat, v in (("F", r.F), ("df1", r.df1), ("df2", r.df2), ("p", r.p),
                        ("partial η²", r.partial_eta2), ("generalised η²", r.generalized_eta2)):
            rows.append(("rm-ANOVA", r.effect, stat, v))
        if r.df1 > 1:
            rows += [("rm-ANOVA", r.effect, "ε GG", r.epsilon_gg),
                     ("rm-ANOVA", r.effect, "p GG", r.p_gg),
                     ("rm-ANOVA", r.effect, "ε HF", r.epsilon_hf),
                     ("rm-ANOVA", r.effect, "p HF", r.p_hf),
                     ("rm-ANOVA", r.effect, "Mauchly W", r.mauchly_w)]
    named = plan.contrasts.named
    for r in named_contrast_tests(dt, design, named, adjust="none").itertuples(index=False):
        rows += [("contrast (means)", r.contrast, s, v) for s, v in (
            ("estimate", r.estimate_ms), ("SE", r.se_ms), ("df", r.df), ("t", r.t),
            ("p", r.p), ("CI low", r.ci_low_ms), ("CI high", r.ci_high_ms))]
    spec: dict = {"factors": list(design.factors),
                  "levels": {f: list(lv) for f, lv in zip(design.factors, design.levels)},
                  "cells": [list(c) for c in design.cells()],
                  "contrasts": [{"name": c.name, "weights": design.cell_weights(c).tolist()}
                                for c in named],
                  "design_structure": None, "primary": None}
    try:
        fit = fit_factorial_lmm(dt, design)
    except NotIdentifiable as e:
        rows.append(("design LMM", "not fitted", str(e), math.nan))
    else:
        f = fit.chain.fit
        spec["design_structure"] = fit.chain.structure
        spec["design_re_columns"] = [list(fit.coding.names).index(n.split(":", 1)[1])
                                     for n in f.cov_re.index]
        rows.append(("design LMM", "random effects", "structure " + fit.chain.structure,
                     math.nan))
        rows.append(("design LMM", "REML criterion", "value", f.reml_criterion))
        rows += _fixed_rows("design LMM", f)
        for r in lmm_anova_table(fit).itertuples(index=False):
            rows += [("design LMM F", r.term, s, v) for s, v in
                     (("F", r.F), ("df1", r.df1), ("df2", r.df2), ("p", r.p))]
        for r in lmm_contrast_table(fit, named, "none").itertuples(index=False):
            rows += [("design LMM contrast", r.contrast, s, v) for s, v in (
                ("estimate", r.estimate_log), ("SE", r.se), ("df", r.df), ("t", r.t),
                ("p", r.p), ("CI low", r.ci_low_log), ("CI high", r.ci_high_log))]
    if len(conds) >= 2:
        rows += _primary_rows(t, plan, conds, spec, cousineau_morey, participant_means,
                              fit_condition_lmm, NotIdentifiable)
    return _long(rows), spec


def _fixed_rows(analysis: str, f) -> list[tuple[str, str, str, float]]:
    rows = []
    for i, name in enumerate(f.params.index):
        k = f.t_test(np.eye(len(f.params))[i])
        rows += [(analysis, name, s, v) for s, v in (
            ("estimate", k.estimate), ("SE", k.se), ("df", k.df), ("t", k.t), ("p", k.p))]
    return rows


def _primary_rows(t, plan, conds, spec, cousineau_morey, participant_means, fit_condition_lmm,
                  NotIdentifiable) -> list[tuple[str, str, str, float]]:
    from analysis.statistics.accuracy import accuracy_gee
    from analysis.input.plan import condition_pairs

    rows = []
    ref = plan.conditions.reference
    ref = ("stand" if "stand" in conds else conds[0]) if ref == "auto" else ref
    order = [ref] + [c for c in conds if c != ref]
    pv = t[t["valid"] & t["primary"]]
    try:
        fit = fit_condition_lmm(pv, reference=ref)
    except NotIdentifiable as e:
        return [("primary LMM", "not fitted", str(e), math.nan)]
    f = fit.fit
    pairs = condition_pairs(fit.conditions)
    re_cols = [0 if n == "participant" else order.index(n.split(":", 1)[1])
               for n in f.cov_re.index]
    spec["primary"] = {"conditions": order, "structure": fit.structure, "re_columns": re_cols,
                       "pairs": [list(p) for p in pairs], "accuracy": True}
    rows.append(("primary LMM", "random effects", "structure " + fit.structure, math.nan))
    rows.append(("primary LMM", "REML criterion", "value", f.reml_criterion))
    rows += _fixed_rows("primary LMM", f)
    for a, b in pairs:
        k = fit.contrast(a, b)
        rows += [("primary LMM contrast", f"{a} vs {b}", s, v) for s, v in (
            ("estimate", k.estimate), ("SE", k.se), ("df", k.df), ("t", k.t), ("p", k.p),
            ("CI low", k.ci_low), ("CI high", k.ci_high))]
    cm = cousineau_morey(participant_means(pv).reindex(columns=order))
    for c in order:
        rows += [("Cousineau–Morey CI", c, s, float(cm.at[c, col])) for s, col in (
            ("mean", "mean"), ("CI low", "ci_low"), ("CI high", "ci_high"))]
    acc, _ = accuracy_gee(t[t["primary"]], tuple(order), ref)
    for r in acc.itertuples(index=False):
        if r.term.startswith("condition, omnibus"):
            continue
        rows += [("accuracy GEE", r.term, s, v) for s, v in (
            ("estimate", r.log_odds), ("SE", r.se), ("p", r.p))]
    return rows


def run_r(cleaned_csv: Path, spec: dict, workdir: Path) -> pd.DataFrame:
    """Run ``analysis/crosscheck.R`` on ``cleaned_csv``; R's long table."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise CrosscheckError("Rscript not found: install R (as root, `make setup` installs "
                              "r-base-core r-cran-afex r-cran-lmertest r-cran-emmeans …)")
    spec_path, out_path = workdir / "spec.json", workdir / "r.csv"
    spec_path.write_text(json.dumps({**spec, "data": str(cleaned_csv)}), encoding="utf-8")
    proc = subprocess.run([rscript, str(R_SCRIPT), str(spec_path), str(out_path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.strip().splitlines()
                 if ln.strip() and ln.strip() != "Execution halted"]
        error = next((ln for ln in lines if ln.startswith("Error")), None)
        raise CrosscheckError(f"R failed ({R_SCRIPT.name}): "
                              f"{error or (lines or ['(no output)'])[-1]}")
    return pd.read_csv(out_path, encoding="utf-8")


def compare(ours_long: pd.DataFrame, r_long: pd.DataFrame) -> pd.DataFrame:
    """One row per statistic: ours, R's, |difference|, target, and status ``ok``,
    ``DIFFERS`` or ``by design: …`` (labelled, kept). Columns: analysis, term, statistic,
    ours, r, abs_diff, target, status."""
    key = ["analysis", "term", "statistic"]
    m = ours_long.merge(r_long, on=key, how="outer", suffixes=("_ours", "_r"), sort=False)
    labels = _design_labels(ours_long, r_long)
    rows = []
    for r in m.itertuples(index=False):
        a, b = r.value_ours, r.value_r
        row = {"analysis": r.analysis, "term": r.term, "statistic": r.statistic,
               "ours": a, "r": b, "abs_diff": abs(a - b) if pd.notna(a) and pd.notna(b)
               else math.nan, "target": "", "status": ""}
        if r.statistic == CHOICE or r.statistic.startswith("structure "):
            continue
        if pd.isna(a) or pd.isna(b):
            row["status"] = ("only ours" if pd.isna(b) else "only R") if (
                pd.isna(a) != pd.isna(b)) else "—"
        else:
            tg = target(r.statistic, a, b)
            row["target"] = tg.text
            row["status"] = "ok" if row["abs_diff"] <= tg.tolerance else "DIFFERS"
        if r.analysis in labels and row["status"] != "ok":
            row["status"] = labels[r.analysis]
        rows.append(row)
    return pd.DataFrame(rows, columns=["analysis", "term", "statistic", "ours", "r",
                                       "abs_diff", "target", "status"])


def _design_labels(ours_long: pd.DataFrame, r_long: pd.DataFrame) -> dict[str, str]:
    """'by design: …' for model analyses whose structure R's own chain would not choose."""
    out = {}
    for model in ("design LMM", "primary LMM"):
        mine = ours_long[(ours_long["analysis"] == model)
                         & ours_long["statistic"].str.startswith("structure ")]
        theirs = r_long[(r_long["analysis"] == model) & (r_long["statistic"] == CHOICE)]
        if mine.empty or theirs.empty:
            continue
        s = mine["statistic"].iloc[0].removeprefix("structure ")
        choice = STRUCTURE_CODES.get(int(theirs["value"].iloc[0]), "none") \
            if pd.notna(theirs["value"].iloc[0]) else "none"
        if choice != s:
            label = (f"by design: our chain used {s}; lme4's would use {choice} (R fitted "
                     f"{s} too)")
            for a in (model, model + " F", model + " contrast"):
                out[a] = label
    return out


def structure_notes(ours_long: pd.DataFrame, r_long: pd.DataFrame) -> list[str]:
    """One line per model: the random-effects structure used and the one R would choose."""
    notes = []
    for model in ("design LMM", "primary LMM"):
        mine = ours_long[(ours_long["analysis"] == model)]
        used = mine[mine["statistic"].str.startswith("structure ")]
        if used.empty:
            nf = mine[mine["term"] == "not fitted"]
            if len(nf):
                notes.append(f"{model}: not fitted ({nf['statistic'].iloc[0]})")
            continue
        theirs = r_long[(r_long["analysis"] == model) & (r_long["statistic"] == CHOICE)]
        choice = STRUCTURE_CODES.get(int(theirs["value"].iloc[0]), "none") if len(theirs) \
            else "?"
        notes.append(f"{model}: random effects {used['statistic'].iloc[0].split()[-1]} "
                     f"(lme4's first identified structure: {choice})")
    return notes


def crosscheck(trials: pd.DataFrame, plan, out: Path, label: str) -> tuple[pd.DataFrame, str]:
    """Write the cleaned trials used, run both sides, compare; (table, Markdown text)."""
    from analysis.output.tables import CSV_FLOAT

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "cleaned_trials.csv"
        csv.write_text(trials.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n",
                                     na_rep=""), encoding="utf-8")
        same = pd.read_csv(csv)   # both sides read exactly this file
        for c in ("participant", "session"):
            if c in same:
                same[c] = same[c].astype(str)
        mine, spec = ours(same, plan)
        theirs = run_r(csv, spec, Path(tmp))
    table = compare(mine, theirs)
    n_bad = int((table["status"] == "DIFFERS").sum())
    head = [f"# Crosscheck against R: {label}", "",
            f"{len(table)} statistics; {int((table['status'] == 'ok').sum())} within target, "
            f"{n_bad} outside, {int(table['status'].str.startswith('by design').sum())} "
            f"labelled as differing by design.", ""]
    head += [f"- {n}" for n in structure_notes(mine, theirs)] + [""]
    shown = table.copy()
    for c in ("ours", "r", "abs_diff"):
        shown[c] = [f"{v:.8g}" if pd.notna(v) else "—" for v in shown[c]]
    md = "\n".join(head) + shown.to_markdown(index=False) + "\n"
    table.to_csv(out / "crosscheck.csv", index=False, float_format="%.12g",
                 lineterminator="\n")
    (out / "crosscheck.md").write_text(md, encoding="utf-8")
    return table, md


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m analysis.crosscheck",
                                description="Our statistics next to R's on the same data.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--results", type=Path, help="an output folder of python -m analysis")
    src.add_argument("--vonbastian", type=Path, help="von Bastian et al. LEF_stroop.csv")
    p.add_argument("--plan", type=Path, default=None, help="analysis plan (design, contrasts)")
    p.add_argument("--out", type=Path, default=None,
                   help="where crosscheck.csv/.md go (default: the results folder, or "
                        "results/crosscheck/vonbastian)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from analysis.pipeline import CLEANED_TRIALS
    from analysis.input.plan import PlanError, load_plan

    args = parse_args(argv)
    try:
        plan = load_plan(args.plan)
        if args.results is not None:
            csv = args.results / CLEANED_TRIALS
            if not csv.is_file():
                raise CrosscheckError(f"{csv} not found: run python -m analysis --out "
                                      f"{args.results} first")
            trials, label, out = pd.read_csv(csv), str(args.results), args.out or args.results
        else:
            if not args.vonbastian.is_file():
                raise CrosscheckError(f"{args.vonbastian} not found")
            trials = vonbastian_trials(args.vonbastian)
            label = f"von Bastian et al. (2016), {args.vonbastian.name}"
            out = args.out or Path("results/crosscheck/vonbastian")
        table, md = crosscheck(trials, plan, out, label)
    except (CrosscheckError, PlanError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(md)
    return 1 if (table["status"] == "DIFFERS").any() else 0


if __name__ == "__main__":
    sys.exit(main())
