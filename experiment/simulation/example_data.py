"""``python -m experiment.example_data``: a SIMULATED dataset written through the session's recorder.

For each participant SIM01, SIM02, ... the generator builds the session plan exactly as a
real session does (``session_plan`` with the participant's Williams order), draws a response
to every planned trial from the config's simulated participant
(:class:`analysis.statistics.simulation.RTModel` built from the ``[simulation]`` section) and writes the
rows through :class:`experiment.core.session_files.SessionRecorder`, the writer the PsychoPy session
uses, so the files have the codebook's format (``data/README.md``) with ``simulated`` = 1.

The session is walked through on a simulated clock: practice round 1, further rounds only
while accuracy is below the criterion (as :class:`experiment.shell.session.Session` does), then
the test blocks; fixation and word onsets on a 60 Hz frame grid, the response at onset + RT,
the row saved during the inter-trial interval, experimenter screens and the walking settle
countdown in between. Wall times (``date``, ``timestamp``, block and run times) come from
that clock, starting at a fixed date, so the same seed gives byte-identical files.

Random streams: trial lists from the session seed (``experiment.base_seed``, participant,
session), as in a real session; responses from ``default_rng([session seed, 7, run])``, the
stream the ``--simulate`` session uses. ``--seed`` replaces ``experiment.base_seed``.

    python -m experiment.example_data --out data/example/simulated-24 --participants 24 --seed 1729

No PsychoPy import.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from analysis.statistics.simulation import RTModel
from experiment.core.config import Config, ConfigError, load_config, preset_path
from experiment.core.design import PlannedBlock, PlannedTrial, order_for_participant, session_plan
from experiment.core.session_files import SessionInfo, SessionRecorder, TrialOutcome

FRAME_S = 1.0 / 60.0                      # simulated display refresh
FIRST_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # participant 1's session start
START_SPACING = timedelta(hours=2)        # participant k starts (k - 1) x this later
SAVE_DELAY_S = 0.002                      # blank flip -> row written
RESPONSE_STREAM = 7                       # as the --simulate session: [seed, 7, run]
DEFAULT_PRESET = "example"
DEFAULT_CONDITION_SD_MS = 20.0
PARTICIPANT_PREFIX = "SIM"


class ExampleDataError(RuntimeError):
    """Bad generator input (one-line message)."""


@dataclass
class SimulatedClock:
    """PsychoPy-like session clock (s since the window opened) and the wall time it maps to."""
    start: datetime
    t_s: float = 0.0

    def flip(self) -> float:
        """Advance to the next frame boundary (a flip) and return its time (s)."""
        self.t_s = math.ceil(self.t_s / FRAME_S - 1e-6) * FRAME_S
        return self.t_s

    def iso(self) -> str:
        """Wall time now, ISO 8601 with milliseconds (the recorder's ``now``)."""
        return (self.start + timedelta(seconds=self.t_s)).isoformat(timespec="milliseconds")


def psychopy_date(moment: datetime) -> str:
    """``moment`` in PsychoPy's ``data.getDateStr()`` format, e.g. 2026-01-05_09h00.00.000."""
    return moment.strftime("%Y-%m-%d_%Hh%M.%S.") + f"{moment.microsecond // 1000:03d}"


def participant_ids(n: int, first: int = 1) -> list[str]:
    """IDs SIM01 ... (zero-padded to at least two digits; the number picks the Williams order)."""
    width = max(2, len(str(first + n - 1)))
    return [f"{PARTICIPANT_PREFIX}{k:0{width}d}" for k in range(first, first + n)]


def example_config(preset: str | None = DEFAULT_PRESET, seed: int | None = None,
                   overlays: Sequence[Path | Mapping[str, Any]] = ()) -> Config:
    """The generator's config: default + preset + overlays, with ``base_seed`` = ``seed`` if given."""
    layers: list[Path | Mapping[str, Any]] = [preset_path(preset)] if preset else []
    layers += list(overlays)
    if seed is not None:
        layers.append({"experiment": {"base_seed": int(seed)}})
    return load_config(*layers)


def rt_model(config: Config, condition_sd_s: float) -> RTModel:
    """The config's simulated participant with random condition slopes of SD ``condition_sd_s``."""
    return dataclasses.replace(RTModel(**config.simulation.rt_parameters()),
                               condition_sd_s=condition_sd_s)


class _SessionWalk:
    """Runs one simulated session through a recorder, mirroring the PsychoPy Session's flow."""

    def __init__(self, config: Config, recorder: SessionRecorder, clock: SimulatedClock,
                 model: RTModel, rng: np.random.Generator):
        self.config, self.recorder, self.clock, self.model, self.rng = (
            config, recorder, clock, model, rng)
        self.offset_s = model.participant_offset_s(rng)
        self.condition_offsets_s = model.participant_condition_offsets_s(
            rng, config.design.conditions)
        keys = config.response.keys
        self.keys = [keys[c] for c in config.design.colours]

    def screen(self, low_s: float = 2.0, high_s: float = 6.0) -> None:
        """An experimenter/participant screen: read, then the continue key."""
        self.clock.flip()
        self.clock.t_s += float(self.rng.uniform(low_s, high_s))

    def run(self) -> None:
        self.screen(10.0, 30.0)  # instructions
        self.practice()
        for block in self.recorder.plan.blocks:
            self.block(block)
        self.screen()  # end screen
        self.recorder.update_run(trials_saved=len(self.recorder.trial_rows))
        self.recorder.finish("complete")

    def practice(self) -> None:
        p = self.config.practice
        rounds = self.recorder.plan.practice_rounds
        if not rounds:
            return
        for rnd in rounds:
            self.block(rnd)
            if self.recorder.block_accuracy(rnd) >= p.accuracy_criterion:
                self.recorder.update(practice_passed=True)
                return
            if rnd.block < len(rounds):
                self.screen()  # "let's practise once more"
        self.screen()  # practice failed: the experimenter goes on
        self.recorder.update(practice_passed=False)

    def block(self, block: PlannedBlock) -> None:
        speed = self.config.condition(block.condition).treadmill_speed_kmh
        self.screen(5.0, 20.0)  # block start: set the treadmill, participant ready
        if speed > 0:
            self.clock.t_s += self.config.timing.settle_s
        started = self.clock.iso()
        for trial in block.trials:
            self.trial(trial)
        self.screen()  # practice end / block end (speed confirmed)
        self.recorder.record_block(block, speed, started)

    def trial(self, trial: PlannedTrial) -> None:
        t = self.config.timing
        t_fix = self.clock.flip()
        self.clock.t_s = t_fix + t.fixation_s
        t_on = self.clock.flip()
        response = self.model.response(
            self.rng, trial.condition, trial.congruency, t.response_window_s,
            offset_s=self.offset_s + self.condition_offsets_s.get(trial.condition, 0.0))
        if response.rt_s is None:
            key, rt_ms = "", None
            self.clock.t_s = t_on + t.response_window_s
        else:
            key = trial.correct_key
            if not response.correct:
                wrong = sorted(k for k in self.keys if k != trial.correct_key)
                key = wrong[int(self.rng.integers(len(wrong)))]
            rt_ms = response.rt_s * 1000.0
            self.clock.t_s = t_on + response.rt_s
        t_off = self.clock.flip()
        self.clock.t_s = t_off + SAVE_DELAY_S
        self.recorder.record_trial(trial, TrialOutcome(
            response=key, rt_ms=rt_ms, fixation_onset_s=t_fix, stim_onset_s=t_on,
            dropped_frames=0))
        self.clock.t_s = t_off + trial.iti_s + (t.feedback_s if trial.is_practice else 0.0)


def simulate_session(config: Config, model: RTModel, participant: str, data_dir: Path,
                     start: datetime) -> Path:
    """Write one simulated participant's complete session 1 under ``data_dir``; returns the trials file."""
    order = order_for_participant(participant, config.design.conditions)
    plan = session_plan(config, participant, 1, order)
    clock = SimulatedClock(start)
    info = SessionInfo(participant=participant, session=1, experimenter="example_data",
                       order=tuple(order), order_source="williams", simulated=True)
    run_info = {"generator": "experiment.example_data", "simulated_clock": True,
                "frame_rate_hz": round(1.0 / FRAME_S, 3),
                "condition_sd_s": model.condition_sd_s}
    recorder = SessionRecorder.start(config, info, plan, psychopy_date(start), data_dir,
                                     run_info, now=clock.iso)
    clock.t_s = 2.0  # the window opened 2 s before the first screen
    rng = np.random.default_rng([plan.seed, RESPONSE_STREAM, recorder.run])
    _SessionWalk(config, recorder, clock, model, rng).run()
    return recorder.paths.trials


def _one(job: tuple[Config, RTModel, str, Path, datetime]) -> Path:
    return simulate_session(*job)


def generate(out: Path, participants: int = 24, seed: int | None = None,
             preset: str | None = DEFAULT_PRESET,
             overlays: Sequence[Path | Mapping[str, Any]] = (),
             condition_sd_s: float = DEFAULT_CONDITION_SD_MS / 1000.0,
             replace: bool = False, workers: int = 1) -> list[Path]:
    """Write ``participants`` simulated sessions into ``out``; returns their trials files.

    ``out`` must be empty or absent; with ``replace`` the participant folders this call
    would write (SIMnn) are removed first, nothing else. ``workers`` > 1 writes participants
    in parallel processes (the files do not depend on it).
    """
    if participants < 1:
        raise ExampleDataError(f"--participants {participants}: must be >= 1")
    if condition_sd_s < 0:
        raise ExampleDataError(f"condition SD {condition_sd_s} s: must be >= 0")
    config = example_config(preset, seed, overlays)
    model = rt_model(config, condition_sd_s)
    ids = participant_ids(participants)
    out = Path(out)
    if out.exists():
        if replace:
            for pid in ids:
                if (out / pid).is_dir():
                    shutil.rmtree(out / pid)
        leftovers = sorted(p.name for p in out.iterdir() if p.name != "README.md")
        if leftovers:
            raise ExampleDataError(
                f"{out} already holds {', '.join(leftovers[:3])}{' ...' if len(leftovers) > 3 else ''}; "
                "choose an empty folder, or pass --replace to rewrite the SIMnn folders")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(config, model, pid, out, FIRST_START + i * START_SPACING) for i, pid in enumerate(ids)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_one, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    return [_one(job) for job in jobs]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiment.example_data",
                                description=__doc__.splitlines()[0].strip("`: "))
    p.add_argument("--out", type=Path, required=True,
                   help="folder to write (e.g. data/example/simulated-24); must be empty")
    p.add_argument("--participants", type=int, default=24, help="number of participants (default 24)")
    p.add_argument("--seed", type=int, help="experiment.base_seed (default: the config's, 1729)")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help=f"shipped preset laid over the default (default {DEFAULT_PRESET!r}; "
                        "'none' for the full default session)")
    p.add_argument("--config", action="append", default=[], type=Path,
                   help="a TOML config laid over default + preset; repeatable")
    p.add_argument("--condition-sd-ms", type=float, default=DEFAULT_CONDITION_SD_MS,
                   help="SD (ms) of each participant's shift per condition: random condition "
                        f"slopes (default {DEFAULT_CONDITION_SD_MS:g})")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--replace", action="store_true",
                   help="remove the SIMnn folders in --out before writing them again")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        files = generate(args.out, args.participants, args.seed,
                         None if args.preset == "none" else args.preset, args.config,
                         args.condition_sd_ms / 1000.0, args.replace, args.workers)
    except (ConfigError, ExampleDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} simulated sessions to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
