"""``python -m analysis.bids --data DIR --out BIDS_DIR``: the sessions under DIR as a BIDS dataset.

    python -m analysis.bids --data data --out bids [--coder ID] [--name "..."]

Every session (one ``*_trials.csv``, validated by :func:`analysis.input.loader.load_trials`) becomes

- ``sub-<label>/[ses-<n>/]beh/sub-<label>[_ses-<n>]_task-stroopwalk_beh.tsv``: its trials,
  one row per trial, every codebook column plus ``speed_actual_kmh``;
- ``…_task-stroopwalk[_run-<r>]_events.tsv``: fixation, word and response events, ``onset``
  in **seconds** from the first fixation of the run (a session resumed after a crash has
  one events file per run, because each run may have its own clock); the PsychoPy clock
  time of every event is kept in ``psychopy_time_s``;
- ``…_beh.json`` / ``…_events.json``: the session's own record (``Blocks``: its block file's
  rows, with the confirmed treadmill speeds; ``StroopWalkSession``: the ``_session.json`` it
  wrote: seed, order, config, versions, frame timing) and its stimulus software;
- voice sessions: the session's audio folder (every trial's WAV, the noise calibrations,
  ``recordings.csv`` and the coder files) as ``…_task-stroopwalk_audio/`` beside the beh
  files. BIDS 1.11 has no audio recordings for ``beh``, so ``.bidsignore`` lists these
  folders (the validator then skips them) and the events' ``audio_file`` points into them.

plus ``dataset_description.json``, ``README``, ``participants.tsv``/``.json``,
``task-stroopwalk_beh.json``/``_events.json`` (every column's description, units and
levels from the codebook, :mod:`analysis.output.bids_sidecars`) and
``sourcedata/participant_labels.tsv``: the participant IDs as entered and their BIDS labels
(IDs keep their letters and digits; clashes get ``dup2``, ``dup3``, …).

The dataset is written into a new folder next to ``--out`` and renamed to it at the end:
an existing non-empty ``--out`` is refused, nothing in it or in ``--data`` is touched, and a
failed export leaves nothing behind. The same input gives byte-identical files. Bad input:
one line ``error: …`` on stderr, exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.output.bids_sidecars import trial_column_descriptions
from analysis.input.codebook import (AUDIO_DIR_SUFFIX, BLOCK_COLUMN_NAMES, TRIAL_COLUMN_NAMES,
                                     VOICE_DEVICE)
from analysis.input.loader import BLOCKS_SUFFIX, TRIALS_SUFFIX, DataError, load_trials

TASK = "stroopwalk"
BIDS_VERSION = "1.10.1"
SIDECAR_SUFFIX = "_session.json"
NA = "n/a"
LABELS_FILE = "sourcedata/participant_labels.tsv"

EVENT_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "onset": {"Description": "time of the event from the first fixation-cross flip of the "
                             "run (the run's first event)", "Units": "s"},
    "duration": {"Description": "how long the event lasted: fixation, until the word's flip; "
                                "word, n/a (it stays up until the response or the end of the "
                                "response window, see the session's config); response, 0",
                 "Units": "s"},
    "trial_type": {"Description": "what happened",
                   "Levels": {"fixation": "the fixation cross appeared (flip time)",
                              "word": "the colour word appeared in its ink (flip time; RT zero)",
                              "response": "the participant responded (key, button or speech "
                                          "onset)"}},
    "response_time": {"Description": "response time from the word's flip (word and response "
                                     "events; n/a without a response)", "Units": "s"},
    "psychopy_time_s": {"Description": "the event's time on the PsychoPy clock of the run "
                                       "(as fixation_onset_s / stim_onset_s in the trial file), "
                                       "to align the events with other recordings",
                        "Units": "s"},
}
EVENT_TRIAL_COLUMNS = ("trial_in_session", "is_practice", "block", "condition",
                       "speed_set_kmh", "trial_in_block", "word", "word_colour", "ink",
                       "congruency", "correct_response", "response", "correct", "rt_source")
EXTRA_TRIAL_DESCRIPTIONS = {
    "speed_actual_kmh": {"Description": "treadmill speed confirmed or corrected by the "
                                        "experimenter at the end of the block (from the "
                                        "session's block file; n/a without it)",
                         "Units": "km/h"},
}


@dataclass(frozen=True)
class DatasetInfo:
    """What ``dataset_description.json`` says about the dataset (BIDS Name, Authors, License)."""
    name: str = "stroop-walk Stroop dual-task data"
    authors: tuple[str, ...] = ()
    license: str = ""


class ExportError(ValueError):
    """The export cannot be done as asked; the message is one line."""


@dataclass(frozen=True)
class ExportedSession:
    participant: str          # as entered
    label: str                # BIDS subject label
    session: int
    files: tuple[str, ...]    # written, relative to the dataset root


@dataclass(frozen=True)
class BidsExport:
    root: Path
    sessions: tuple[ExportedSession, ...]
    labels: dict[str, str]    # participant ID as entered -> BIDS label


def bids_labels(ids: Sequence[str]) -> dict[str, str]:
    """A BIDS-safe subject label (letters and digits only) for every participant ID; IDs whose
    labels would clash (also when only upper/lower case differs) get ``dup2``, ``dup3``, … in
    sorted order of the IDs. ``P-007`` -> ``P007``; an ID without letters or digits -> ``x``."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for pid in sorted(set(ids)):
        base = re.sub(r"[^A-Za-z0-9]", "", pid) or "x"
        label, n = base, 1
        while label.lower() in used:
            n += 1
            label = f"{base}dup{n}"
        used.add(label.lower())
        out[pid] = label
    return out


def _tsv(frame: pd.DataFrame, path: Path) -> None:
    """A BIDS TSV: tab-separated, ``n/a`` for missing (NaN or empty) cells, '\\n' lines."""
    frame = frame.replace("", np.nan)
    path.write_text(frame.to_csv(sep="\t", index=False, na_rep=NA, lineterminator="\n"),
                    encoding="utf-8")


def _json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _session_sidecar(trials_file: Path) -> dict[str, Any]:
    path = trials_file.with_name(trials_file.name[: -len(TRIALS_SUFFIX)] + SIDECAR_SUFFIX)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: not a readable JSON sidecar ({e}); fix or remove it") from None


def events_of_run(trials: pd.DataFrame, audio_prefix: str | None) -> pd.DataFrame:
    """The BIDS events of one run's trials: one ``fixation`` and one ``word`` row per trial
    with an onset, a ``response`` row per response. Columns: onset, duration (s), trial_type,
    response_time (s), psychopy_time_s, the trial columns :data:`EVENT_TRIAL_COLUMNS`, and
    ``audio_file`` (path from the beh folder) when ``audio_prefix`` is given. Sorted by onset."""
    t = trials[trials["fixation_onset_s"].notna() & trials["stim_onset_s"].notna()]
    if t.empty:
        return pd.DataFrame(columns=["onset", "duration", "trial_type"])
    zero = float(t["fixation_onset_s"].min())
    rt_s = t["rt_ms"] / 1000.0
    common = t[list(EVENT_TRIAL_COLUMNS)].reset_index(drop=True)
    if audio_prefix is not None:
        common["audio_file"] = [f"{audio_prefix}/{f}" if f else "" for f in t["audio_file"]]
    parts = []
    for kind, time_s, duration, rt in (
            ("fixation", t["fixation_onset_s"], t["stim_onset_s"] - t["fixation_onset_s"],
             np.nan),
            ("word", t["stim_onset_s"], np.nan, rt_s),
            ("response", t["stim_onset_s"] + rt_s, 0.0, rt_s)):
        part = pd.DataFrame({"onset": (np.asarray(time_s, float) - zero),
                             "duration": duration if np.isscalar(duration)
                             else np.asarray(duration, float),
                             "trial_type": kind,
                             "response_time": rt if np.isscalar(rt) else np.asarray(rt, float),
                             "psychopy_time_s": np.asarray(time_s, float)})
        part = pd.concat([part, common], axis=1)
        parts.append(part[part["onset"].notna()])
    events = pd.concat(parts, ignore_index=True)
    order = {"fixation": 0, "word": 1, "response": 2}
    events["_k"] = events["trial_type"].map(order)
    events = events.sort_values(["onset", "trial_in_session", "_k"], kind="stable").drop(columns="_k")
    for col in ("onset", "duration", "response_time", "psychopy_time_s"):
        events[col] = events[col].round(6)
    return events.reset_index(drop=True)


def _software(sidecar: dict[str, Any]) -> dict[str, Any]:
    """BIDS ``StimulusPresentation`` from the versions the session's first run recorded."""
    runs = sidecar.get("runs") or [{}]
    versions = runs[0].get("versions") or {}
    out: dict[str, Any] = {}
    if "platform" in versions:
        out["OperatingSystem"] = versions["platform"]
    if "psychopy" in versions:
        out.update(SoftwareName="PsychoPy", SoftwareRRID="RRID:SCR_006571",
                   SoftwareVersion=versions["psychopy"])
    elif runs[0].get("generator"):
        out["SoftwareName"] = runs[0]["generator"]
    return out  # stroop-walk's own version and commit: in the beh sidecar's StroopWalkSession


def _task_sidecars(root: Path) -> None:
    trial_desc = trial_column_descriptions(EXTRA_TRIAL_DESCRIPTIONS)
    task_text = ("Colour-word Stroop task while standing, walking forward or walking backward "
                 "on a treadmill (or right after stepping, in the step-then-respond design).")
    instructions = ("Respond to the INK colour, not the word (keys, buttons, or naming it "
                    "aloud). Be fast and accurate.")
    _json({"TaskName": TASK, "TaskDescription": task_text + " One row per trial.",
           "Instructions": instructions, **trial_desc}, root / f"task-{TASK}_beh.json")
    event_desc: dict[str, Any] = {"TaskName": TASK, "TaskDescription": task_text,
                                  "Instructions": instructions}
    event_desc.update(EVENT_DESCRIPTIONS)
    event_desc.update({c: trial_desc[c] for c in EVENT_TRIAL_COLUMNS})
    event_desc["audio_file"] = {"Description": "voice sessions: the trial's recording (WAV, "
                                               "sample 0 at the word's flip), relative to the "
                                               "beh folder"}
    _json(event_desc, root / f"task-{TASK}_events.json")


def _dataset_files(root: Path, about: DatasetInfo, labels: dict[str, str],
                   trials: pd.DataFrame, sessions: dict[str, list[int]], any_audio: bool) -> None:
    name = about.name
    description: dict[str, Any] = {"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw"}
    if about.authors:
        description["Authors"] = list(about.authors)
    if about.license:
        description["License"] = about.license
    description["GeneratedBy"] = [{"Name": "stroop-walk", "Description": "python -m analysis.bids"}]
    _json(description, root / "dataset_description.json")
    simulated = trials.groupby("participant")["simulated"].max()
    participants = pd.DataFrame({
        "participant_id": [f"sub-{labels[p]}" for p in sorted(labels)],
        "simulated": [int(simulated[p]) for p in sorted(labels)],
        "n_sessions": [len(sessions[p]) for p in sorted(labels)]})
    _tsv(participants, root / "participants.tsv")
    _json({"participant_id": {"Description": "BIDS subject label; the ID as entered in the "
                                             f"session is in {LABELS_FILE}"},
           "simulated": {"Description": "1 if a simulated participant responded (demo, tests, "
                                        "example data)", "Levels": {"0": "no", "1": "yes"}},
           "n_sessions": {"Description": "sessions of this participant in the dataset"}},
          root / "participants.json")
    (root / "sourcedata").mkdir()
    _tsv(pd.DataFrame({"participant_id": [f"sub-{labels[p]}" for p in sorted(labels)],
                       "stroopwalk_participant": sorted(labels)}), root / LABELS_FILE)
    if any_audio:
        (root / ".bidsignore").write_text(f"**/*_task-{TASK}{AUDIO_DIR_SUFFIX}\n",
                                          encoding="utf-8")
    (root / "README").write_text(
        f"{name}\n\nStroop colour-word task during standing, forward and backward walking, "
        "recorded with stroop-walk and exported by `python -m analysis.bids`.\n\n"
        "- `*_beh.tsv`: one row per trial; the columns, units and levels are described in "
        f"`task-{TASK}_beh.json` (from the stroop-walk codebook). RTs (`rt_ms`) are in "
        "milliseconds; practice trials have `is_practice` = 1.\n"
        "- `*_events.tsv`: fixation, word and response events; `onset` in seconds from the "
        "run's first fixation; `psychopy_time_s` is the PsychoPy clock.\n"
        "- `*_beh.json`: each session's own record: its blocks (with the confirmed treadmill "
        "speeds) and its stroop-walk sidecar (seed, condition order, config, software, frame "
        "timing).\n"
        + (f"- `*_task-{TASK}_audio/`: voice sessions' recordings (one WAV per trial) and "
           "their index; listed in `.bidsignore` because BIDS has no audio for `beh`.\n"
           if any_audio else "")
        + f"- `{LABELS_FILE}`: participant IDs as entered -> subject labels. Remove it "
        "before sharing if those IDs could identify anyone.\n",
        encoding="utf-8")


def export_bids(data_dir: Path, out: Path, coder: str = "",
                about: DatasetInfo = DatasetInfo()) -> BidsExport:
    """Write every session under ``data_dir`` to the new BIDS dataset ``out`` (see the module
    docstring). Raises DataError (bad data) or ExportError (``out`` not empty, unreadable
    sidecar)."""
    data_dir, out = Path(data_dir), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty folder; choose a new --out "
                          "folder (the export never overwrites files)")
    loaded = load_trials(data_dir, coder=coder, progress=False)
    trials = loaded.trials
    labels = bids_labels(trials["participant"].unique().tolist())
    sessions = {p: sorted(g["session"].unique().tolist())
                for p, g in trials.groupby("participant")}
    with_ses = any(len(s) > 1 or s != [1] for s in sessions.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        exported = []
        for source, t in trials.groupby("source_file", sort=True):
            exported.append(_export_session(data_dir / source, t, labels, with_ses, tmp))
        _task_sidecars(tmp)
        _dataset_files(tmp, about, labels, trials, sessions,
                       any_audio=bool((trials["response_device"] == VOICE_DEVICE).any()))
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BidsExport(out, tuple(exported), labels)


def _block_rows(trials_file: Path) -> list[dict[str, str]]:
    """The session's block file as rows (codebook columns, cells as written; [] without one)."""
    path = trials_file.with_name(trials_file.name[: -len(TRIALS_SUFFIX)] + BLOCKS_SUFFIX)
    if not path.is_file():
        return []
    blocks = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return blocks[list(BLOCK_COLUMN_NAMES)].to_dict(orient="records")


def _export_session(trials_file: Path, t: pd.DataFrame, labels: dict[str, str],
                    with_ses: bool, root: Path) -> ExportedSession:
    participant, session = str(t["participant"].iloc[0]), int(t["session"].iloc[0])
    sub = f"sub-{labels[participant]}"
    folder = Path(sub) / (f"ses-{session}" if with_ses else "") / "beh"
    prefix = f"{sub}{f'_ses-{session}' if with_ses else ''}_task-{TASK}"
    (root / folder).mkdir(parents=True, exist_ok=True)
    written = []

    def out(name: str) -> Path:
        written.append((folder / name).as_posix())
        return root / folder / name

    t = t.sort_values("trial_in_session", kind="stable")
    _tsv(t[list(TRIAL_COLUMN_NAMES) + ["speed_actual_kmh"]], out(f"{prefix}_beh.tsv"))
    sidecar = _session_sidecar(trials_file)
    _json({"TaskName": TASK, "Blocks": _block_rows(trials_file), "StroopWalkSession": sidecar},
          out(f"{prefix}_beh.json"))
    voice = bool((t["response_device"] == VOICE_DEVICE).any())
    audio_name = f"{prefix}{AUDIO_DIR_SUFFIX}"
    runs = sorted(t["run"].unique().tolist())
    for run in runs:
        run_part = f"_run-{run}" if len(runs) > 1 else ""
        events = events_of_run(t[t["run"] == run], audio_name if voice else None)
        _tsv(events, out(f"{prefix}{run_part}_events.tsv"))
        _json({"TaskName": TASK, "StimulusPresentation": _software(sidecar)},
              out(f"{prefix}{run_part}_events.json"))
    audio_dir = trials_file.with_name(trials_file.name[: -len(TRIALS_SUFFIX)] + AUDIO_DIR_SUFFIX)
    if voice and audio_dir.is_dir():
        shutil.copytree(audio_dir, root / folder / audio_name, copy_function=shutil.copy2)
        written.append((folder / audio_name).as_posix() + "/")
    return ExportedSession(participant, labels[participant], session, tuple(written))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m analysis.bids",
                                description="Export stroop-walk sessions as a BIDS dataset "
                                            "(behavioural data, events, voice recordings).")
    p.add_argument("--data", type=Path, required=True,
                   help="folder searched recursively for *_trials.csv (as python -m analysis)")
    p.add_argument("--out", type=Path, required=True,
                   help="the new BIDS dataset folder (must not exist, or be empty)")
    p.add_argument("--coder", default="",
                   help="voice sessions: whose hand codes to apply ('' = the only coder)")
    p.add_argument("--name", default=DatasetInfo.name,
                   help="dataset name in dataset_description.json and the README")
    p.add_argument("--author", action="append", default=[],
                   help="an author of the dataset (repeat for several), in dataset_description.json")
    p.add_argument("--license", default="",
                   help="the data's licence, e.g. CC0 or CC-BY-4.0 (dataset_description.json)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        res = export_bids(args.data, args.out, coder=args.coder,
                          about=DatasetInfo(args.name, tuple(args.author), args.license))
    except (DataError, ExportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote the BIDS dataset {res.root}: {len(res.labels)} participants, "
          f"{len(res.sessions)} sessions (participant labels in {res.root / LABELS_FILE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
