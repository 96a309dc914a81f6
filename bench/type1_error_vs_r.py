"""The type-I benchmark's fits side by side with lme4/lmerTest, per random-effects structure.

Replications 0 … ``REPS`` − 1 of each null model and N of :mod:`bench.type1_error` (same
seeds, same cleaning) are written out as trial CSVs; for each, the pipeline's REML fit
(:func:`analysis.statistics.models.reml_fit`) and R's (``bench/type1_error_vs_r.R``: lmer with bobyqa
and with nloptwrap, the lower REML criterion kept; contest with Satterthwaite df) are
compared for the structures ``slopes`` (1 + fwd + bwd | participant), ``uncorrelated``
(1 + fwd + bwd || participant) and, where the fallback chain ended there, ``pruned`` (the
uncorrelated structure without its zero-variance slopes). Contrast: backward − forward on
the log scale.

Results: ``bench/results/type1_error_vs_r.md`` (per null model, N and structure: fits,
singularity flags that agree, largest differences of REML criterion, estimate, SE, df and p)
and ``type1_error_vs_r.csv`` (one row per fit).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.statistics.models import REStructure, fit_condition_lmm, reml_fit
from analysis.power import simulate_trials, valid_trials
from bench.type1_error import CONDITION_SDS_MS, NS, scenario_for

REPS = 15
L = np.array([0.0, -1.0, 1.0])
R_TERMS = {"participant": "1", "participant:forward": "fwd", "participant:backward": "bwd"}
FULL = ("participant", "participant:forward", "participant:backward")


def re_term(names: tuple[str, ...], correlated: bool) -> str:
    """lme4 random-effects term for the random effects ``names`` (``FULL`` order)."""
    terms = [R_TERMS[n] for n in names]
    if terms == ["1"]:
        return "(1 | participant)"
    if terms[0] != "1":
        terms = ["0"] + terms
    return f"({' + '.join(terms)} {'|' if correlated else '||'} participant)"


def pipeline_rows(trials: pd.DataFrame, file: str) -> list[dict]:
    """Pipeline fits of one dataset: one dict per structure with its R term and numbers."""
    d = trials.sort_values("participant", kind="stable")
    cond = d["condition"].to_numpy()
    y = np.log(d["rt_ms"].to_numpy(dtype=float))
    groups = d["participant"].astype(str).to_numpy()
    X = np.column_stack([np.ones(len(y)), cond == "forward", cond == "backward"]).astype(float)
    chain = fit_condition_lmm(d, reference="stand")
    fits = []
    for name, diagonal in (("slopes", False), ("uncorrelated", True)):
        fit = reml_fit(y, X, groups, REStructure(name, X, FULL, diagonal, name), "", FULL)
        fits.append((name, fit, re_term(FULL, not diagonal)))
    if chain.structure == "pruned":
        names = tuple(chain.fit.cov_re.index)
        fits.append(("pruned", chain.fit, re_term(names, False)))
    rows = []
    for name, fit, term in fits:
        k = fit.t_test(L)
        rows.append({"file": file, "structure": name, "re": term, "chain": chain.structure,
                     "identified": fit.ok, "singular": fit.singular,
                     "reml": fit.reml_criterion, "estimate": k.estimate, "se": k.se,
                     "df": k.df, "p": k.p})
    return rows


def comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """Per null model, N and structure: fits, identified fits, singular flags equal to R's,
    max |REML criterion − R's| (all fits), fits where bobyqa alone stopped > 1e-4 above R's
    best, and over the identified fits the max |Δ estimate| / SE, max relative ΔSE,
    max |Δ df| and max |Δ p|."""
    out = []
    for (sd, n, s), g in rows.groupby(["condition_sd_ms", "N", "structure"], sort=True):
        ok = g[g["identified"]]
        out.append({
            "condition_sd_ms": sd, "N": n, "structure": s, "fits": len(g),
            "identified": len(ok), "singular_agree": int((g["singular"] == g["r_singular"]).sum()),
            "max_d_reml": float((g["reml"] - g["r_reml"]).abs().max()),
            "bobyqa_short": int((g["reml_bobyqa"] - g["r_reml"] > 1e-4).sum()),
            "max_d_est_per_se": float(((ok["estimate"] - ok["r_estimate"]).abs()
                                       / ok["r_se"]).max()) if len(ok) else np.nan,
            "max_rel_d_se": float((ok["se"] / ok["r_se"] - 1).abs().max()) if len(ok) else np.nan,
            "max_d_df": float((ok["df"] - ok["r_df"]).abs().max()) if len(ok) else np.nan,
            "max_d_p": float((ok["p"] - ok["r_p"]).abs().max()) if len(ok) else np.nan})
    return pd.DataFrame(out)


def main(out_dir: Path, reps: int = REPS) -> Path:
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise RuntimeError("Rscript not found: install R with r-cran-lmertest (make setup)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sd in CONDITION_SDS_MS:
            sc = scenario_for(sd)
            for n in NS:
                for rep in range(reps):
                    trials = simulate_trials(sc.model_for(0.0), n, sc.trials_per_condition,
                                             sc.seed, rep, sc.window_s)
                    valid = valid_trials(trials, sc.plan)[["participant", "condition", "rt_ms"]]
                    file = str(Path(tmp) / f"sd{sd:g}_n{n}_rep{rep}.csv")
                    valid.to_csv(file, index=False)
                    for r in pipeline_rows(valid, file):
                        rows.append({"condition_sd_ms": sd, "N": n, "rep": rep, **r})
        ours = pd.DataFrame(rows)
        manifest = Path(tmp) / "manifest.csv"
        ours[["file", "structure", "re"]].to_csv(manifest, index=False)
        r_out = Path(tmp) / "r.csv"
        subprocess.run([rscript, str(Path(__file__).with_suffix(".R")), str(manifest),
                        str(r_out)], check=True)
        theirs = pd.read_csv(r_out)
    both = ours.merge(theirs, on=["file", "structure"], validate="one_to_one")
    both = both.drop(columns="file")
    table = comparison(both)
    md = ["# Type-I benchmark fits: pipeline against lme4/lmerTest", "",
          f"Replications 0–{reps - 1} of each null model and N of `bench/type1_error.py`; "
          "contrast backward − forward (log scale). R: lmer with bobyqa and with nloptwrap, "
          "the lower REML criterion kept; contest(…, ddf = \"Satterthwaite\").", "",
          table.to_markdown(index=False, floatfmt=".3g"), "",
          "singular_agree: fits whose singularity flag equals isSingular(); max_d_reml: "
          "largest |REML criterion − R's best|; bobyqa_short: fits where bobyqa alone "
          "stopped more than 1e-4 above R's best (the optimiser `make crosscheck` uses); "
          "the other columns compare the identified (converged, non-singular) fits.", ""]
    path = out_dir / "type1_error_vs_r.md"
    path.write_text("\n".join(md), encoding="utf-8")
    both.to_csv(out_dir / "type1_error_vs_r.csv", index=False, float_format="%.10g")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m bench.type1_error_vs_r")
    ap.add_argument("--reps", type=int, default=REPS,
                    help=f"replications per null model and N (default {REPS})")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    a = ap.parse_args()
    try:
        print(main(a.out, a.reps))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        sys.exit(f"type1_error_vs_r: {exc}")
