"""``python -m analysis.power``: simulation-based power of the primary contrast (backward vs forward).

For every cell of a grid (number of participants × true effect) the study is simulated
``--reps`` times and analysed as the real data would be:

1. **Simulate** trial-level data with :class:`analysis.statistics.simulation.RTModel` (ex-Gaussian RTs,
   seconds; defaults from ``shared/SCIENCE.md`` as in ``experiment/default.toml``): each
   participant gets a random intercept (SD ``participant_sd_s`` = 80 ms) and a random shift
   per condition (SD ``--condition-sd-ms``, default 20 ms: random condition slopes — an
   assumption, SCIENCE.md gives no figure); ``--trials-per-condition`` incongruent trials per
   condition with 5% errors and the 2.5 s response window (timeouts). Standing has shift 0,
   forward +50 ms, and backward is forward minus the effect: ``--effects-ms 20`` means walking
   backward is 20 ms faster than walking forward (difference of mean RTs, ms).
2. **Exclude** with the analysis's own rules, :func:`analysis.cleaning.selection.prepare` under the
   analysis plan (``--plan``, default ``analysis/plan.toml``: correct, non-timeout,
   RT ≥ 200 ms, slow tail per participant × condition, participant exclusions).
3. **Fit** the analysis's primary model, :func:`analysis.statistics.models.fit_condition_lmm` (log-RT
   LMM, random intercept and condition slopes, documented fallback), and test the
   backward − forward contrast; a replication is significant when p < ``--alpha``.

Power per cell is the share of significant replications, with a Wilson 95% Monte-Carlo
interval. Outputs in ``--out`` (default ``results/power``): ``power.csv`` and ``power.md``
(the table), ``power_reps.csv`` (one row per replication), ``power_curve.png`` / ``.svg``.

Determinism: replication r of a cell draws participant i from
``default_rng([seed, r, i])``, whatever the scheduling, worker count or cluster, so results
are identical for the same seed. The same streams are used in every cell (common random
numbers): the cells with 12 participants use the first 12 participants of the 48-participant
cells, and the effect only moves the backward condition's mean. This makes the power curve
smooth; each cell's own interval is still valid.

Parallelism: Dask, one task per ``--batch-size`` replications, collected with
``as_completed`` behind a tqdm progress bar. By default a ``LocalCluster`` of ``--workers``
processes (one thread each) on this machine; ``--scheduler tcp://host:8786`` runs the same tasks on an existing
Dask cluster (its workers need this project installed, e.g. ``pip install .``);
``--workers 0`` runs in this process without Dask (debugging).

Defaults (the question: how many participants for 80% power?): participants 12, 24, 36, 48
(Brysbaert & Stevens 2018 advise ≥ 1,600 observations per condition, e.g. 40 × 40);
effects 0, 10, 20, 30 ms; 96 trials per condition (the default session: 2 blocks × 48);
500 replications per cell (Monte-Carlo 95% CI half-width ≤ 4.4 percentage points); seed 1729;
alpha 0.05; ``--workers`` = the CPU count. The default grid is 8,000 fits: measured 800 fits
of this grid in 7.3 min on a busy two-core machine, so plan on about an hour there — or pass
``--scheduler`` to spread it over a cluster, or fewer ``--reps`` for a first look.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from analysis.cleaning.selection import plan_rules, prepare, trim_text
from analysis.input.plan import PRIMARY_CONTRAST, Plan, PlanError, load_plan
from analysis.statistics.simulation import RTModel

CONDITIONS = ("stand", "forward", "backward")
DEFAULT_PARTICIPANTS = (12, 24, 36, 48)
DEFAULT_EFFECTS_MS = (0.0, 10.0, 20.0, 30.0)
DEFAULT_REPS = 500
DEFAULT_TRIALS = 96
DEFAULT_SEED = 1729
DEFAULT_ALPHA = 0.05
DEFAULT_CONDITION_SD_MS = 20.0
DEFAULT_WINDOW_S = 2.5
DEFAULT_OUT = Path("results/power")
# Okabe & Ito (2008) colour-blind-safe palette, one colour (and marker) per effect size
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7",
             "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
REP_COLUMNS = ("participants", "effect_ms", "rep", "n_included", "n_valid_trials",
               "estimate_log", "se_log", "df", "ms_diff", "p", "significant", "structure",
               "error")


class PowerError(ValueError):
    """Bad power-analysis input (one-line message)."""


@dataclass(frozen=True)
class Scenario:
    """The generative model and analysis settings shared by every cell."""
    model: RTModel
    trials_per_condition: int
    seed: int
    alpha: float = DEFAULT_ALPHA
    window_s: float = DEFAULT_WINDOW_S
    plan: Plan = Plan()  # the analysis plan whose exclusion rules apply

    def model_for(self, effect_ms: float) -> RTModel:
        """``model`` with backward set ``effect_ms`` faster than forward (mean RT, ms)."""
        shifts = dict(self.model.condition_shift_s)
        shifts["backward"] = shifts["forward"] - effect_ms / 1000.0
        return dataclasses.replace(self.model, condition_shift_s=shifts)


@dataclass(frozen=True)
class Cell:
    participants: int
    effect_ms: float


def simulate_trials(model: RTModel, participants: int, trials_per_condition: int, seed: int,
                    rep: int, window_s: float = DEFAULT_WINDOW_S) -> pd.DataFrame:
    """Trial table of one simulated study: one row per test trial (all incongruent).

    Columns as the loader gives them (``participant``, ``condition``, ``block``,
    ``trial_in_block``, ``is_practice`` = 0, ``congruency``, ``rt_ms`` (ms, NaN on timeout),
    ``correct``, ``timeout``). Participant i's draws come from ``default_rng([seed, rep, i])``.
    """
    frames = []
    for i in range(participants):
        rng = np.random.default_rng([seed, rep, i])
        offset = model.participant_offset_s(rng)
        cond_offsets = model.participant_condition_offsets_s(rng, CONDITIONS)
        cond = np.repeat(np.array(CONDITIONS), trials_per_condition)
        mu = np.array([model.location_s(c, "incongruent", offset + cond_offsets[c])
                       for c in CONDITIONS]).repeat(trials_per_condition)
        rt_s, correct = model.responses(rng, mu, window_s)
        frames.append(pd.DataFrame({
            "participant": f"S{i + 1:03d}", "session": 1, "is_practice": 0,
            "condition": cond, "block": np.repeat(np.arange(1, len(CONDITIONS) + 1),
                                                  trials_per_condition),
            "trial_in_block": np.tile(np.arange(1, trials_per_condition + 1), len(CONDITIONS)),
            "congruency": "incongruent", "rt_ms": rt_s * 1000.0,
            "correct": correct.astype(int), "timeout": np.isnan(rt_s).astype(int)}))
    return pd.concat(frames, ignore_index=True)


def valid_trials(trials: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """The trials the primary RT model uses under ``plan`` (default: ``analysis/plan.toml``).

    The analysis's own rule (:func:`analysis.cleaning.selection.prepare`): test trials of the included
    participants that are valid (correct, no timeout, RT ≥ min, not in the slow tail) and of
    the primary congruency.
    """
    prepared = prepare(trials, plan if plan is not None else load_plan())
    t = prepared.test
    return t[t["valid"] & t["primary"]]


def one_replication(scenario: Scenario, cell: Cell, rep: int) -> dict:
    """Simulate, exclude and fit one replication of ``cell``; a row of ``power_reps.csv``."""
    from analysis.statistics.models import fit_condition_lmm
    model = scenario.model_for(cell.effect_ms)
    trials = simulate_trials(model, cell.participants, scenario.trials_per_condition,
                             scenario.seed, rep, scenario.window_s)
    row = {"participants": cell.participants, "effect_ms": cell.effect_ms, "rep": rep,
           "n_included": 0, "n_valid_trials": 0, "estimate_log": math.nan, "se_log": math.nan,
           "df": math.nan, "ms_diff": math.nan, "p": math.nan, "significant": 0,
           "structure": "", "error": ""}
    try:
        valid = valid_trials(trials, scenario.plan)
        row["n_valid_trials"] = len(valid)
        row["n_included"] = int(valid["participant"].nunique())
        fit = fit_condition_lmm(valid, reference="stand")
        c = fit.contrast(*PRIMARY_CONTRAST)
    except (ValueError, np.linalg.LinAlgError, KeyError) as exc:  # counted, not significant
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return row
    row.update(estimate_log=c.estimate, se_log=c.se, df=c.df, ms_diff=c.ms_diff, p=c.p,
               significant=int(bool(c.p < scenario.alpha)), structure=fit.structure)
    return row


def _batch(scenario: Scenario, tasks: Sequence[tuple[Cell, int]]) -> list[dict]:
    return [one_replication(scenario, cell, rep) for cell, rep in tasks]


def task_batches(cells: Sequence[Cell], reps: int, batch_size: int) -> list[list[tuple[Cell, int]]]:
    """(cell, rep) pairs in batches of ``batch_size`` (a Dask task each), fixed order."""
    pairs = [(cell, rep) for cell in cells for rep in range(reps)]
    return [pairs[i:i + batch_size] for i in range(0, len(pairs), batch_size)]


def run_replications(scenario: Scenario, cells: Sequence[Cell], reps: int, *,
                     scheduler: str | None = None, workers: int = 2, batch_size: int = 4,
                     progress: bool = True) -> pd.DataFrame:
    """Every replication of every cell, one row each, sorted by (participants, effect, rep).

    ``scheduler``: address of a running Dask scheduler; else a LocalCluster of ``workers``
    processes (one thread each); ``workers`` = 0 runs serially in this process.
    """
    from tqdm import tqdm
    batches = task_batches(cells, reps, batch_size)
    total = len(cells) * reps
    bar = tqdm(total=total, desc="power: fits", unit="fit", disable=not progress,
               file=sys.stderr, mininterval=0.5)
    rows: list[dict] = []
    with ExitStack() as stack:
        stack.callback(bar.close)
        if scheduler is None and workers == 0:
            for batch in batches:
                rows += _batch(scenario, batch)
                bar.update(len(batch))
        else:
            from dask.distributed import Client, LocalCluster, as_completed
            if scheduler is None:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40))
                scheduler = cluster.scheduler_address
            client = stack.enter_context(Client(scheduler))
            futures = [client.submit(_batch, scenario, batch, pure=False) for batch in batches]
            for future in as_completed(futures):
                part = future.result()
                rows += part
                bar.update(len(part))
                future.release()
    out = pd.DataFrame(rows, columns=list(REP_COLUMNS))
    return out.sort_values(["participants", "effect_ms", "rep"], kind="stable").reset_index(drop=True)


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion (statsmodels ``proportion_confint``)."""
    from statsmodels.stats.proportion import proportion_confint
    if n == 0:
        return math.nan, math.nan
    lo, hi = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def power_table(reps: pd.DataFrame) -> pd.DataFrame:
    """Power per cell with its Monte-Carlo 95% CI, one row per (participants, effect_ms).

    Replications whose fit failed count as not significant (conservative) and are counted in
    ``failed``; ``fallback`` counts fits that used a fallback random-effects structure.
    """
    rows = []
    for (n, effect), g in reps.groupby(["participants", "effect_ms"], sort=True):
        k, total = int(g["significant"].sum()), len(g)
        lo, hi = wilson_interval(k, total)
        rows.append({"participants": int(n), "effect_ms": float(effect), "reps": total,
                     "significant": k, "power": k / total, "ci_low": lo, "ci_high": hi,
                     "mean_est_ms": float(-g["ms_diff"].mean()),
                     "fallback": int(((g["structure"] != "slopes") & (g["error"] == "")).sum()),
                     "failed": int((g["error"] != "").sum())})
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame, settings: dict) -> str:
    lines = ["# Power: backward vs forward walking (simulated)", "",
             "Power = share of simulated studies in which the backward − forward contrast of the "
             f"primary log-RT mixed model has p < {settings['alpha']}; 95% CI = Wilson "
             "Monte-Carlo interval over the replications. `effect_ms`: true difference of mean "
             "RTs, forward − backward (ms). `mean est.`: mean estimate of that difference "
             "(model geometric means, ms). `fallback`: fits on a fallback random-effects "
             "structure; `failed`: fits that raised (counted as not significant).", "",
             "| participants | effect (ms) | reps | power | 95% CI | mean est. (ms) | fallback | failed |",
             "|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in table.itertuples():
        lines.append(f"| {r.participants} | {r.effect_ms:g} | {r.reps} | {r.power:.3f} | "
                     f"{r.ci_low:.3f}–{r.ci_high:.3f} | {r.mean_est_ms:.1f} | {r.fallback} | "
                     f"{r.failed} |")
    lines += ["", "Settings:", "", "```json", json.dumps(settings, indent=2, sort_keys=True), "```",
              ""]
    return "\n".join(lines)


def plot_power(table: pd.DataFrame, alpha: float, out_stem: Path) -> list[Path]:
    """Power curve: power vs participants, one line per effect, 95% CIs; PNG and SVG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with matplotlib.rc_context({"svg.hashsalt": "stroop-walk-power", "font.size": 10}):
        fig, ax = plt.subplots(figsize=(7.2, 4.2))
        effects = sorted(table["effect_ms"].unique())
        ns = sorted(table["participants"].unique())
        # dodge the effect sizes sideways so their error bars do not hide each other
        step = (min(np.diff(ns)) if len(ns) > 1 else max(ns[0], 1)) * 0.06
        for i, effect in enumerate(effects):
            g = table[table["effect_ms"] == effect].sort_values("participants")
            err = np.clip(np.vstack([g["power"] - g["ci_low"], g["ci_high"] - g["power"]]), 0, 1)
            dodge = (i - (len(effects) - 1) / 2) * step
            ax.errorbar(g["participants"] + dodge, g["power"], yerr=err, capsize=3,
                        color=OKABE_ITO[i % len(OKABE_ITO)], marker=MARKERS[i % len(MARKERS)],
                        label=f"{effect:g} ms")
        ax.axhline(0.8, color="0.5", linestyle="--", linewidth=1, label="80% power")
        ax.axhline(alpha, color="0.5", linestyle=":", linewidth=1, label=f"alpha = {alpha:g}")
        ax.set_xlabel("participants (N)")
        ax.set_ylabel(f"power (proportion of studies with p < {alpha:g})")
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ns)
        ax.set_title("Backward vs forward walking: simulated power")
        ax.legend(title="true effect\n(forward − backward\nmean RT)", fontsize=8,
                  title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
        fig.savefig(paths[0], dpi=150, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
        plt.close(fig)
    return paths


def write_outputs(reps: pd.DataFrame, settings: dict, out: Path) -> dict[str, Path]:
    """Write the table (CSV, Markdown), the replications and the figure into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    table = power_table(reps)
    paths = {"table_csv": out / "power.csv", "table_md": out / "power.md",
             "reps_csv": out / "power_reps.csv"}
    table.to_csv(paths["table_csv"], index=False, float_format="%.6g", lineterminator="\n")
    reps.to_csv(paths["reps_csv"], index=False, float_format="%.10g", lineterminator="\n")
    paths["table_md"].write_text(_markdown(table, settings), encoding="utf-8")
    png, svg = plot_power(table, settings["alpha"], out / "power_curve")
    paths.update(figure_png=png, figure_svg=svg)
    return paths


def _numbers(text: str, kind: Callable[[str], float], name: str) -> tuple:
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise PowerError(f"{name} {text!r}: must be comma-separated numbers, e.g. 12,24") from None
    if not values:
        raise PowerError(f"{name} {text!r}: give at least one value")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m analysis.power", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n", 1)[1].strip())
    p.add_argument("--participants", default=",".join(map(str, DEFAULT_PARTICIPANTS)),
                   help="participant numbers, comma-separated (default %(default)s)")
    p.add_argument("--effects-ms", default=",".join(f"{e:g}" for e in DEFAULT_EFFECTS_MS),
                   help="true forward − backward mean RT differences in ms (default %(default)s)")
    p.add_argument("--reps", type=int, default=DEFAULT_REPS,
                   help="simulated studies per cell (default %(default)s)")
    p.add_argument("--trials-per-condition", type=int, default=DEFAULT_TRIALS,
                   help="test trials per participant and condition (default %(default)s)")
    p.add_argument("--condition-sd-ms", type=float, default=DEFAULT_CONDITION_SD_MS,
                   help="SD of each participant's shift per condition, ms (default %(default)s)")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="default %(default)s")
    p.add_argument("--plan", type=Path,
                   help="analysis plan whose exclusion rules apply (default analysis/plan.toml)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: CPU count, %(default)s; 0 = no Dask, "
                        "serial in this process)")
    p.add_argument("--batch-size", type=int, default=4,
                   help="replications per Dask task (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def settings_from_args(args: argparse.Namespace) -> tuple[Scenario, list[Cell], dict]:
    participants = _numbers(args.participants, int, "--participants")
    effects = _numbers(args.effects_ms, float, "--effects-ms")
    if min(participants) < 2:
        raise PowerError(f"--participants {args.participants}: each must be >= 2")
    if args.reps < 1:
        raise PowerError(f"--reps {args.reps}: must be >= 1")
    if args.trials_per_condition < 2:
        raise PowerError(f"--trials-per-condition {args.trials_per_condition}: must be >= 2")
    if not 0 < args.alpha < 1:
        raise PowerError(f"--alpha {args.alpha}: must be in (0, 1)")
    if args.condition_sd_ms < 0:
        raise PowerError(f"--condition-sd-ms {args.condition_sd_ms}: must be >= 0")
    if args.workers < 0 or args.batch_size < 1:
        raise PowerError("--workers must be >= 0 and --batch-size >= 1")
    model = RTModel(condition_sd_s=args.condition_sd_ms / 1000.0)
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        raise PowerError(str(exc)) from None
    scenario = Scenario(model=model, trials_per_condition=args.trials_per_condition,
                        seed=args.seed, alpha=args.alpha, plan=dataclasses.replace(plan, source=""))
    cells = [Cell(n, e) for n in sorted(set(participants)) for e in sorted(set(effects))]
    settings = {"participants": sorted(set(participants)), "effects_ms": sorted(set(effects)),
                "reps": args.reps, "trials_per_condition": args.trials_per_condition,
                "seed": args.seed, "alpha": args.alpha, "window_s": scenario.window_s,
                "model_s": {k: v for k, v in dataclasses.asdict(model).items()},
                "contrast": "-".join(PRIMARY_CONTRAST),
                "plan": str(args.plan) if args.plan else "analysis/plan.toml (default)",
                "valid_trial_rule": trim_text(plan, plan_rules(plan)),
                "min_rt_ms": plan.trials.min_rt_ms,
                "participant_rules": dataclasses.asdict(plan.participants)}
    if plan.exclusions.rules:   # the plan's own rule list replaces the three above
        settings["exclusion_rules"] = [r.describe() for r in plan_rules(plan)]
    return scenario, cells, settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenario, cells, settings = settings_from_args(args)
    except PowerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        reps = run_replications(scenario, cells, args.reps, scheduler=args.scheduler,
                                workers=args.workers, batch_size=args.batch_size,
                                progress=not args.no_progress)
    except OSError as exc:  # e.g. the scheduler cannot be reached
        print(f"error: Dask scheduler {args.scheduler}: {exc}", file=sys.stderr)
        return 2
    paths = write_outputs(reps, settings, args.out)
    seconds = time.perf_counter() - start
    print(f"power: {len(cells)} cells x {args.reps} reps in {seconds:.1f} s -> {paths['table_md']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
