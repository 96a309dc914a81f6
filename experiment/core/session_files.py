"""A session's files and progress: start or resume, record trials and blocks, keep the sidecar current.

The PsychoPy session and the example-data generator both write through this class, so
their files are the same format (``data/README.md``). Resume state is derived from the
trial and block rows already on disk, never from memory. No PsychoPy import.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import tomli_w

from experiment.core.config import Config, ConfigError, config_from_tables, load_config
from experiment.core.datafile import (CsvAppender, now_iso, DataFileError, SessionPaths,
                                      existing_session_paths, new_session_paths, read_json,
                                      read_rows, write_bytes_atomic, write_json_atomic)
from experiment.core.design import (PlannedBlock, PlannedTrial, SessionPlan, read_conditions_file,
                                    write_conditions_file)
from experiment.core.records import BLOCK_COLUMNS, TRIAL_COLUMNS, BlockRecord, TrialRecord


class SessionExists(DataFileError):
    """The participant's session already has files (complete, or resumable with --resume)."""


def score_response(correct_response: str, response: str, accuracy_code: str = "auto") -> tuple[int, int]:
    """(correct, timeout) for a response; an empty response is a timeout and not correct.

    ``accuracy_code`` 'auto': correct iff ``response == correct_response``; otherwise (a
    vocal trial) the experimenter's code decides: correct iff it is 'correct'.
    """
    timeout = int(response == "")
    if accuracy_code == "auto":
        return int(not timeout and response == correct_response), timeout
    return int(not timeout and accuracy_code == "correct"), timeout


@dataclass(frozen=True)
class SessionInfo:
    """Who and what: entered in the participant dialog or on the command line."""
    participant: str
    session: int
    experimenter: str
    order: tuple[str, ...]
    order_source: str  # 'williams' | 'override'
    simulated: bool


@dataclass(frozen=True)
class TrialOutcome:
    """What happened on one trial. Times on PsychoPy's clock in seconds; RT in milliseconds."""
    response: str              # '' when none in the window
    rt_ms: float | None
    fixation_onset_s: float
    stim_onset_s: float
    dropped_frames: int
    rt_source: str = "keyboard"
    accuracy_code: str = "auto"      # or the experimenter's code of a vocal trial
    audio_file: str = ""
    noise_file: str = ""
    voice_online_rt_ms: float | None = None
    voice_confidence: float | None = None


class SessionRecorder:
    """Owns one session's files. Create with :meth:`start` (new) or :meth:`resume`.

    ``now`` returns the ISO 8601 wall time written into rows and the sidecar (default
    :func:`now_iso`, the real clock); the example-data generator passes a simulated clock so
    its files are reproducible byte for byte.
    """

    def __init__(self, config: Config, info: SessionInfo, plan: SessionPlan, paths: SessionPaths,
                 sidecar: dict[str, Any], now: Callable[[], str] | None = None):
        self.config, self.info, self.plan, self.paths = config, info, plan, paths
        self.now = now or now_iso
        #: called after every saved row and sidecar change (the session flushes its log there)
        self.after_save: Callable[[], None] | None = None
        self.sidecar = sidecar
        self.run = len(sidecar["runs"])
        self.trial_rows = read_rows(paths.trials) if paths.trials.exists() else []
        self.block_rows = read_rows(paths.blocks) if paths.blocks.exists() else []
        self._trials = CsvAppender(paths.trials, TRIAL_COLUMNS)
        self._blocks = CsvAppender(paths.blocks, BLOCK_COLUMNS)
        self._done = {(int(r["is_practice"]), int(r["block"]), int(r["trial_in_block"]))
                      for r in self.trial_rows}

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def start(cls, config: Config, info: SessionInfo, plan: SessionPlan, date: str,
              data_dir: Path, run_info: dict[str, Any],
              now: Callable[[], str] | None = None) -> "SessionRecorder":
        """Create a new session's files; SessionExists if this participant/session has any."""
        existing = existing_session_paths(data_dir, info.participant, config.experiment.name,
                                          info.session)
        if existing is not None:
            status = read_json(existing.sidecar).get("status", "unknown")
            raise SessionExists(_exists_message(info, existing, status))
        paths = new_session_paths(data_dir, info.participant, config.experiment.name,
                                  info.session, date)
        _clear_orphans(paths.folder, f"{info.participant}_{config.experiment.name}_s{info.session}_")
        paths.folder.mkdir(parents=True, exist_ok=True)
        sidecar = {
            "participant": info.participant, "session": info.session,
            "experiment": config.experiment.name, "date": date, "status": "running",
            "experimenter": info.experimenter, "simulated": info.simulated,
            "seed": plan.seed, "condition_order": list(plan.order),
            "order_source": info.order_source, "practice_passed": None,
            "files": {k: getattr(paths, k).name for k in ("trials", "blocks", "config", "plan", "log")},
            "runs": [], "events": [], "config": dict(config.raw),
        }
        # The sidecar comes first: a kill at any later instant leaves a session that --resume
        # finds and completes (missing config, plan or CSV files are written then).
        write_json_atomic(paths.sidecar, sidecar)
        _write_config(config, paths)
        _write_plan(plan, paths, config)
        recorder = cls(config, info, plan, paths, sidecar, now)
        recorder._begin_run(run_info, resumed=False)
        return recorder

    @classmethod
    def resume(cls, info: SessionInfo, data_dir: Path, experiment_name: str,
               run_info: dict[str, Any], plan_for: Any,
               now: Callable[[], str] | None = None) -> "SessionRecorder":
        """Continue an unfinished session with its saved config, order and trial lists.

        ``plan_for(config, participant, session, order) -> SessionPlan`` regenerates the plan;
        it must equal the saved ``_plan.csv`` (else DataFileError: the code or seed changed).
        """
        paths = existing_session_paths(data_dir, info.participant, experiment_name, info.session)
        if paths is None:
            raise DataFileError(f"nothing to resume: no session {info.session} of "
                                f"{info.participant} under {data_dir}")
        sidecar = read_json(paths.sidecar)
        if sidecar.get("status") == "complete":
            raise SessionExists(_exists_message(info, paths, "complete"))
        restored = []
        if not paths.config.exists():
            try:
                config = config_from_tables(sidecar["config"])
            except (KeyError, TypeError, ConfigError) as exc:
                raise DataFileError(f"{paths.config} is missing and the sidecar's config cannot "
                                    f"replace it ({exc}); restore the file from a backup") from None
            _write_config(config, paths)
            restored.append(paths.config.name)
        config = load_config(paths.config)
        order = tuple(sidecar["condition_order"])
        plan = plan_for(config, info.participant, info.session, order)
        if plan.seed != sidecar.get("seed"):
            raise DataFileError(f"{paths.sidecar}: seed {sidecar.get('seed')} but the config and "
                                f"participant give seed {plan.seed}; resume with the software "
                                "version that started the session")
        if not paths.plan.exists():
            _write_plan(plan, paths, config)  # the plan is regenerated from the seed: same trial lists
            restored.append(paths.plan.name)
        elif plan.all_trials() != _saved_plan(paths.plan):
            raise DataFileError(f"{paths.plan}: the regenerated trial lists differ from the saved "
                                "ones; resume with the software version that started the session")
        info = SessionInfo(info.participant, info.session, info.experimenter or
                           sidecar.get("experimenter", ""), order, sidecar["order_source"],
                           bool(sidecar["simulated"]))
        sidecar.pop("sha256", None)  # the files change again; hashed anew at the end
        recorder = cls(config, info, plan, paths, sidecar, now)
        recorder._check_saved_trials()
        recorder._begin_run(run_info, resumed=True)
        recorder.add_event("resumed", trials_already_saved=len(recorder.trial_rows),
                           **({"restored_files": restored} if restored else {}))
        return recorder

    def _check_saved_trials(self) -> None:
        """DataFileError unless every saved trial row is a trial of the plan (same word and ink)."""
        planned = {(t.is_practice, t.block, t.trial_in_block): t for t in self.plan.all_trials()}
        for n, row in enumerate(self.trial_rows, start=1):
            try:
                key = (int(row["is_practice"]), int(row["block"]), int(row["trial_in_block"]))
            except (KeyError, TypeError, ValueError):
                key = None
            trial = planned.get(key)
            if trial is None or (row.get("word"), row.get("ink")) != (trial.word, trial.ink):
                raise DataFileError(f"{self.paths.trials}: row {n} is not a trial of the session's "
                                    "plan; the file was changed since the session ran: restore it")

    def _begin_run(self, run_info: dict[str, Any], resumed: bool) -> None:
        self.sidecar["runs"].append({"run": len(self.sidecar["runs"]) + 1, "started": self.now(),
                                     "ended": None, "resumed": resumed, **run_info})
        self.sidecar["status"] = "running"
        self.run = len(self.sidecar["runs"])
        self._save_sidecar()

    # ---- progress ------------------------------------------------------------------------
    def is_done(self, trial: PlannedTrial) -> bool:
        return (trial.is_practice, trial.block, trial.trial_in_block) in self._done

    def remaining(self, block: PlannedBlock) -> list[PlannedTrial]:
        return [t for t in block.trials if not self.is_done(t)]

    def block_started(self, block: PlannedBlock) -> str:
        """When ``block`` started (ISO 8601): the first start recorded for it, so a block
        resumed after a crash keeps its true start time; else now, recorded."""
        for event in self.sidecar["events"]:
            if (event.get("event") == "block_start" and event.get("block") == block.block
                    and event.get("is_practice") == block.is_practice):
                return event["time"]
        self.add_event("block_start", block=block.block, is_practice=block.is_practice)
        return self.sidecar["events"][-1]["time"]

    def block_row(self, block: PlannedBlock) -> dict[str, str] | None:
        for row in self.block_rows:
            if int(row["is_practice"]) == block.is_practice and int(row["block"]) == block.block:
                return row
        return None

    def block_accuracy(self, block: PlannedBlock) -> float:
        """Proportion correct over the saved trials of ``block`` (0 if none)."""
        rows = [r for r in self.trial_rows if int(r["is_practice"]) == block.is_practice
                and int(r["block"]) == block.block]
        return sum(int(r["correct"]) for r in rows) / len(rows) if rows else 0.0

    # ---- writing -------------------------------------------------------------------------
    def record_trial(self, trial: PlannedTrial, outcome: TrialOutcome) -> float:
        """Append the trial's row (flushed and fsynced); returns the seconds the save took."""
        correct, timeout = score_response(trial.correct_key, outcome.response, outcome.accuracy_code)
        speed = self.config.condition(trial.condition).treadmill_speed_kmh
        record = TrialRecord(
            participant=self.info.participant, session=self.info.session, run=self.run,
            experiment=self.config.experiment.name, date=self.sidecar["date"],
            simulated=int(self.info.simulated), seed=self.plan.seed,
            condition_order="-".join(self.plan.order), is_practice=trial.is_practice,
            block=trial.block, condition=trial.condition,
            block_in_condition=trial.block_in_condition, speed_set_kmh=speed,
            trial_in_block=trial.trial_in_block, trial_in_session=len(self.trial_rows) + 1,
            word=trial.word, word_colour=trial.word_colour, ink=trial.ink,
            congruency=trial.congruency, prev_congruency=trial.prev_congruency,
            correct_response=trial.correct_key, response=outcome.response,
            rt_ms=None if outcome.rt_ms is None else round(outcome.rt_ms, 3),
            correct=correct, timeout=timeout, rt_source=outcome.rt_source,
            response_device=self.config.response.device,
            fixation_onset_s=round(outcome.fixation_onset_s, 6),
            stim_onset_s=round(outcome.stim_onset_s, 6), iti_s=trial.iti_s,
            dropped_frames=outcome.dropped_frames, accuracy_code=outcome.accuracy_code,
            audio_file=outcome.audio_file, noise_file=outcome.noise_file,
            voice_online_rt_ms=_rounded(outcome.voice_online_rt_ms, 3),
            voice_confidence=_rounded(outcome.voice_confidence, 3), timestamp=self.now())
        seconds = self._trials.append(record)
        self.trial_rows.append({k: str(v) for k, v in asdict(record).items()})
        self._done.add((trial.is_practice, trial.block, trial.trial_in_block))
        self._saved()
        return seconds

    def record_block(self, block: PlannedBlock, speed_actual_kmh: float, started: str) -> BlockRecord:
        record = BlockRecord(
            participant=self.info.participant, session=self.info.session, run=self.run,
            is_practice=block.is_practice, block=block.block, condition=block.condition,
            block_in_condition=block.block_in_condition,
            speed_set_kmh=self.config.condition(block.condition).treadmill_speed_kmh,
            speed_actual_kmh=speed_actual_kmh, n_trials=len(block.trials),
            accuracy=round(self.block_accuracy(block), 4), started=started, ended=self.now())
        self._blocks.append(record)
        self.block_rows.append({k: str(v) for k, v in asdict(record).items()})
        self._saved()
        return record

    def add_event(self, kind: str, **details: Any) -> None:
        self.sidecar["events"].append({"event": kind, "time": self.now(), "run": self.run,
                                       **details})
        self._save_sidecar()

    def update(self, **keys: Any) -> None:
        """Set top-level sidecar keys (e.g. practice_passed) and save."""
        self.sidecar.update(keys)
        self._save_sidecar()

    def update_run(self, **keys: Any) -> None:
        """Set keys of the current run's entry (e.g. measured frame rate) and save."""
        self.sidecar["runs"][-1].update(keys)
        self._save_sidecar()

    def finish(self, status: str) -> None:
        """Close the files with status 'complete' or 'aborted'; the sidecar's ``sha256`` then
        holds the hash of every data file, so an edit afterwards can be detected."""
        self.close()
        self.sidecar["status"] = status
        self.sidecar["runs"][-1]["ended"] = self.now()
        self.sidecar["sha256"] = self.file_hashes()
        self._save_sidecar()

    def file_hashes(self) -> dict[str, str]:
        """sha256 (hex) of the trial, block, config and plan files that exist, by file name."""
        out = {}
        for path in (self.paths.trials, self.paths.blocks, self.paths.config, self.paths.plan):
            if path.exists():
                out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out

    def close(self) -> None:
        self._trials.close()
        self._blocks.close()

    def _save_sidecar(self) -> None:
        write_json_atomic(self.paths.sidecar, self.sidecar)
        self._saved()

    def _saved(self) -> None:
        if self.after_save is not None:
            self.after_save()


def _clear_orphans(folder: Path, prefix: str) -> None:
    """Before a new session's first file: remove a half-written first sidecar (``.tmp``) left
    by a kill, and refuse files of an earlier start that has no sidecar (written by an
    older version killed before its sidecar), so a session never gets two sets of files."""
    if not folder.is_dir():
        return
    for tmp in folder.glob(f"{prefix}*_session.json.tmp"):
        tmp.unlink()  # the first sidecar, interrupted: no other file of that start exists
    orphans = sorted(p.name for p in folder.glob(f"{prefix}*") if p.is_file())
    if orphans:
        raise SessionExists(f"{folder} holds files of an earlier start of this session without "
                            f"its sidecar ({', '.join(orphans[:3])}); move them away, then start "
                            "again")


def _write_config(config: Config, paths: SessionPaths) -> None:
    write_bytes_atomic(paths.config, tomli_w.dumps(dict(config.raw)).encode("utf-8"))


def _write_plan(plan: SessionPlan, paths: SessionPaths, config: Config) -> None:
    """The plan file, written whole or not at all (a kill leaves no half plan)."""
    tmp = paths.plan.with_name(paths.plan.name + ".part")
    try:
        write_conditions_file(plan.all_trials(), tmp, config.stimuli.rgb)
        write_bytes_atomic(paths.plan, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


def _saved_plan(path: Path) -> list[PlannedTrial]:
    try:
        return read_conditions_file(path)
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable plan ({exc}); delete it and --resume "
                            "writes it again from the session's seed") from None


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _exists_message(info: SessionInfo, paths: SessionPaths, status: str) -> str:
    if status == "complete":
        return (f"participant {info.participant} session {info.session} is already complete "
                f"({paths.sidecar}); use another session number")
    return (f"participant {info.participant} session {info.session} was started before and is "
            f"'{status}' ({paths.sidecar}); continue it with --resume, or move its files away")
