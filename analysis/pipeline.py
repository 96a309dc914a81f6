"""The whole analysis: data folder + plan → tables, figures, report (``python -m analysis``).

:func:`run` goes through :data:`STEPS`, one job each, in order, with a progress bar naming
the step: ``load`` reads and validates the data (:mod:`analysis.input.loader`, or
:mod:`analysis.input.tabular` through a column mapping), ``clean`` applies the plan's
exclusions (:mod:`analysis.cleaning.selection`), ``output folder`` opens a fresh folder beside
the output folder (:mod:`analysis.output.folder`), each result section 1–7 adds its tables,
figures and sentences (:mod:`analysis.sections`), and ``write`` writes ``tables/`` (CSV,
Markdown, LaTeX), the cleaned trials, ``report.md`` and a self-contained ``report.html``.
The new folder replaces the output folder only when every step succeeded. Nothing is written
to the data folder. Same inputs → byte-identical tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from analysis.cleaning.selection import AnalysisError, Prepared, prepare
from analysis.input.loader import LoadedData, load_trials
from analysis.input.mapping import Mapping
from analysis.input.plan import Plan
from analysis.input.tabular import load_tables
from analysis.output.folder import discard, publish, staging_folder
from analysis.output.results import Results
from analysis.output.tables import CSV_FLOAT, write_table
from analysis.sections import SECTIONS, Section, TrialSets, trial_sets

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


@dataclass(frozen=True)
class RunOptions:
    """How to read the data and where to write (the command-line switches of
    ``python -m analysis``; see :func:`run`)."""
    skip_bad: bool = False
    progress: bool | None = None
    command: str = ""
    mapping: Mapping | None = None
    force: bool = False
    accept_edited: bool = False
    include_simulated: bool = False


@dataclass
class AnalysisRun:
    """What the steps of one run share, filled in step order: ``loaded`` (load),
    ``prepared`` (clean), ``results`` (output folder: its ``out_dir`` is the fresh folder
    being written), then the sections fill ``results``."""
    data_dir: Path
    out_dir: Path
    plan: Plan
    options: RunOptions
    loaded: LoadedData | None = None
    prepared: Prepared | None = None
    results: Results | None = None
    _trials: TrialSets | None = field(default=None, repr=False)

    @property
    def trials(self) -> TrialSets:
        """The trial subsets the sections analyse (AnalysisError when none is valid)."""
        if self._trials is None:
            self._trials = trial_sets(self.prepared, self.options.mapping is not None)
        return self._trials


@dataclass(frozen=True)
class Step:
    """One step of :func:`run`: its name (shown on the progress bar) and what it does."""
    name: str
    do: Callable[[AnalysisRun], None]


def load_data(data_dir: Path, plan: Plan, options: RunOptions) -> LoadedData:
    """The data of ``data_dir``: stroop-walk sessions, or another lab's tables read
    through ``options.mapping``."""
    if options.mapping is not None:
        return load_tables(data_dir, options.mapping, skip_bad=options.skip_bad,
                           levels=dict(plan.design.levels))
    return load_trials(data_dir, skip_bad=options.skip_bad, progress=options.progress,
                       coder=plan.voice.coder, accept_edited=options.accept_edited,
                       include_simulated=options.include_simulated)


def _load(r: AnalysisRun) -> None:
    r.loaded = load_data(r.data_dir, r.plan, r.options)


def _clean(r: AnalysisRun) -> None:
    r.prepared = prepare(r.loaded.trials, r.plan)


def _open_output(r: AnalysisRun) -> None:
    r.results = Results(plan=r.plan, loaded=r.loaded, prepared=r.prepared,
                        out_dir=staging_folder(r.out_dir, r.options.force))


def _write(r: AnalysisRun) -> None:
    from analysis.output.report import write_report

    res = r.results
    for t in res.tables:
        write_table(t, res.out_dir / "tables")
    write_cleaned_trials(res.prepared.test, r.plan, res.out_dir / CLEANED_TRIALS)
    write_report(res, command=r.options.command)


def section_step(section: Section) -> Step:
    """The step that adds ``section`` to the run's results."""
    return Step(section.name, lambda r: section.add(r.results, r.trials))


#: Every step of an analysis, in order.
STEPS: tuple[Step, ...] = (Step("load", _load), Step("clean", _clean),
                           Step("output folder", _open_output),
                           *(section_step(s) for s in SECTIONS),
                           Step("write", _write))


def run(data_dir: Path, out_dir: Path, plan: Plan, skip_bad: bool = False,
        progress: bool | None = None, command: str = "", mapping: Mapping | None = None,
        force: bool = False, accept_edited: bool = False,
        include_simulated: bool = False) -> Results:
    """Run the analysis (:data:`STEPS`; see the module docstring). ``mapping``: read
    ``data_dir`` (a file or folder of another lab's tables) through this column mapping
    instead of as stroop-walk sessions. ``progress``: the progress bar (None: only on a
    terminal). Raises DataError / PlanError / AnalysisError / OutputError (one-line
    messages) on unusable input.

    The outputs are written into a fresh folder beside ``out_dir`` and put in its place
    only when complete (:mod:`analysis.output.folder`; ``force``: write into an existing folder
    that this tool did not write). ``accept_edited``, ``include_simulated``: see
    :func:`analysis.input.loader.load_trials`."""
    from tqdm.auto import tqdm

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    _check_out_dir(data_dir, out_dir)
    r = AnalysisRun(data_dir, out_dir, plan, RunOptions(
        skip_bad=skip_bad, progress=progress, command=command, mapping=mapping, force=force,
        accept_edited=accept_edited, include_simulated=include_simulated))
    bar = tqdm(STEPS, desc="analysis", unit="step", leave=False,
               disable=None if progress is None else not progress)
    try:
        for step in bar:
            bar.set_postfix_str(step.name)
            step.do(r)
        bar.close()
        publish(r.results.out_dir, out_dir)
    except BaseException:
        bar.close()
        if r.results is not None:
            discard(r.results.out_dir)
        raise
    r.results.out_dir = out_dir
    return r.results
