"""Read and validate every session's trial file under a data folder.

:func:`load_trials` finds every ``*_trials.csv`` below the folder (recursively), checks
each against the codebook (``data/README.md``; columns in :mod:`analysis.input.codebook`): the
columns, each cell's type, allowed values and bounds, the timeout/RT/correct consistency,
the rules of voice trials and duplicate trials. Conditions, inks and congruency levels are checked against the session's
saved ``_config.toml`` (:mod:`analysis.input.vocabulary`), not against a list in code. It merges
the confirmed treadmill speed
(``speed_actual_kmh``) from the session's ``_blocks.csv`` when that file exists, and
applies one coder's hand codes from the session's audio folder to its voice trials
(:mod:`analysis.input.coding`). Files are only read, never written.

A bad file raises :class:`DataError` with a one-line message naming the file and row,
unless ``skip_bad`` is set: then the file is left out and listed in ``LoadedData.skipped``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.input import coding
from analysis.input.vocabulary import (CONFIG_SUFFIX, Vocabulary, VocabularyError, config_path,
                                       session_vocabulary, vocabulary_problems)
from analysis.input.consistency import consistency_problems
from analysis.input.planned import plan_problems
from analysis.input.sidecar import sidecar_problems
from analysis.input.codebook import (BLOCK_COLUMNS, CODER_COLUMNS, CODER_FILE_PREFIX, TRIAL_COLUMNS,
                                     VOICE_DEVICE, VOICE_RESPONSE, VOICE_TRIAL_COLUMN_NAMES, Column)

TRIALS_SUFFIX = "_trials.csv"
BLOCKS_SUFFIX = "_blocks.csv"
#: Integers beyond this are refused: a float64 holds every integer up to 2^53 exactly.
MAX_INTEGER = 2**53
# A number as the codebook writes it: digits, optional decimals and exponent (no '_', no
# 'inf'/'nan', no spaces), which is stricter than Python's float().
# ASCII digits only: Python's float() also reads '٣' or '３' as 3.
NUMBER_PATTERN = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
SORT_KEYS = ["participant", "session", "trial_in_session"]


class DataError(ValueError):
    """A data file that does not follow the codebook; the message is one line."""


@dataclass(frozen=True)
class InputFile:
    path: str          # relative to the data folder, POSIX separators
    kind: str          # 'trials', 'blocks' or 'coding' (a coder file whose codes were used)
    sha256: str
    n_rows: int


@dataclass(frozen=True)
class SkippedFile:
    path: str          # relative to the data folder
    reason: str


@dataclass(frozen=True)
class LoadedData:
    """``trials``: one row per trial of every accepted file, codebook columns with their
    types (ints int64, floats float64 — ``rt_ms`` in ms, NaN on timeouts), plus
    ``speed_actual_kmh`` (NaN without a blocks file), ``language`` (the session config's
    ``experiment.language``, '' without a config) and ``source_file``; sorted by
    participant, session, trial_in_session. Voice trials a coder coded carry the coder's
    codes (``rt_source`` voice-corrected). ``voice``: per session with voice trials, how
    they were scored (:class:`analysis.input.coding.VoiceCoding`), in file order."""
    data_dir: Path
    trials: pd.DataFrame
    files: list[InputFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # things worth a line in the report
    voice: list[coding.VoiceCoding] = field(default_factory=list)

    @property
    def simulated_participants(self) -> list[str]:
        t = self.trials
        return sorted(pd.unique(t.loc[t["simulated"] == 1, "participant"]).tolist())

    @property
    def participants(self) -> list[str]:
        return sorted(pd.unique(self.trials["participant"]).tolist())


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utf8_text(raw: bytes, where: str, what: str) -> str:
    """``raw`` decoded as UTF-8 (a BOM dropped); a one-line :class:`DataError` naming ``where``
    if it is not UTF-8 (``what``: the format to save it as) or holds nothing."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{where}: not UTF-8 text (byte {e.start}); {what}") from None
    if not text.strip():
        raise DataError(f"{where}: empty file (no header row)")
    return text


def _read_rows(raw: bytes, where: str, columns: tuple[Column, ...],
               notes: list[str]) -> list[tuple[str, ...]]:
    """Parse CSV bytes into rows of strings holding the codebook columns in codebook order.

    A last line without a newline and with too few fields is a row torn by a crash (the
    experiment's writer cuts it off when it reopens the file); it is left out with a note."""
    text = utf8_text(raw, where, "the codebook requires UTF-8 CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _parse_rows(reader, text, where, columns, notes)
    except csv.Error as e:
        raise DataError(f"{where}: line {reader.line_num}: not readable as CSV ({e})") from None


def _parse_rows(reader, text: str, where: str, columns: tuple[Column, ...],
                notes: list[str]) -> list[tuple[str, ...]]:
    header = next(reader)
    names = [c.name for c in columns]
    missing = [n for n in names if n not in header]
    if missing and set(missing) <= set(VOICE_TRIAL_COLUMN_NAMES):
        raise DataError(f"{where}: line 1 (header) lacks column {missing[0]}"
                        + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else "")
                        + ": written by an older stroop-walk (before vocal responses); add the "
                        "columns after dropped_frames (accuracy_code = auto on keyboard and "
                        "button rows, the others empty), see data/README.md")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{where}: line 1 (header) lacks column(s) {shown}; not a stroop-walk "
                        f"file as described in data/README.md")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{where}: line 1 (header) repeats column(s) {', '.join(dup)}")
    pick = operator.itemgetter(*[header.index(n) for n in names])
    width = len(header)
    torn = not text.endswith("\n")
    last_line = text.count("\n") + 1
    rows = []
    for row in reader:
        if not row:            # a blank line carries no trial
            continue
        if len(row) != width:
            if torn and len(row) < width and reader.line_num == last_line:
                notes.append(f"{where}: incomplete last line {reader.line_num} left out "
                             f"(torn write)")
                break
            raise DataError(f"{where}: row {len(rows) + 1} (line {reader.line_num}) has "
                            f"{len(row)} fields, the header has {width}")
        rows.append(pick(row))
    return rows


def _number(x: str) -> float:
    try:
        return float(x)
    except ValueError:
        return math.nan


def _numbers(cells: np.ndarray) -> np.ndarray:
    """Floats of string cells; empty or unparsable cells (and 'nan'/'inf') give NaN/inf,
    which the caller tells apart from empty cells."""
    try:
        return np.array([float(x) if x != "" else math.nan for x in cells], dtype="float64")
    except ValueError:
        return np.array([_number(x) if x != "" else math.nan for x in cells], dtype="float64")


def _column_problems(s: pd.Series, col: Column) -> tuple[list[tuple[np.ndarray, str]],
                                                         pd.Series | None]:
    """(mask of bad cells, what is wrong) pairs for one column, and the parsed numbers."""
    empty = (s == "").to_numpy()
    problems = []
    if not col.empty_ok:
        problems.append((empty, "is empty"))
    values = None
    if col.kind in ("int", "float"):
        vals = _numbers(s.to_numpy())
        num = pd.Series(vals, index=s.index)
        finite = np.isfinite(vals) & s.str.fullmatch(NUMBER_PATTERN).to_numpy(dtype=bool)
        notnum = ~empty & ~finite
        if col.kind == "int":
            notnum |= ~empty & finite & (np.where(finite, vals, 0) % 1 != 0)
        problems.append((notnum, "is not an integer" if col.kind == "int" else "is not a number"))
        ok = ~empty & ~notnum
        if col.kind == "int":
            with np.errstate(invalid="ignore"):
                big = ok & (np.abs(np.where(ok, vals, 0)) >= MAX_INTEGER)
            problems.append((big, f"is too large (integers must be below 2^53)"))
            ok &= ~big
        with np.errstate(invalid="ignore"):
            if col.minimum is not None:
                problems.append((ok & (vals < col.minimum), f"is below {col.minimum:g}"))
            if col.maximum is not None:
                problems.append((ok & (vals > col.maximum), f"is above {col.maximum:g}"))
        values = num
    elif col.allowed is not None:
        problems.append((~empty & ~s.isin(col.allowed).to_numpy(),
                         f"is not one of {', '.join(col.allowed)}"))
    elif col.pattern is not None:
        pat = re.compile(col.pattern)
        problems.append((~empty & ~s.map(lambda x: pat.fullmatch(x) is not None).to_numpy(
            dtype=bool), "is not of the form the codebook gives"))
    return [(m, w) for m, w in problems if m.any()], values


def _validate(parts: list[list[tuple[str, ...]]], wheres: list[str],
              columns: tuple[Column, ...]) -> tuple[pd.DataFrame, dict[int, str]]:
    """Type and check the rows of many files at once (vectorised over all of them).

    Returns the typed frame (with ``_file``: index into ``parts``, ``_row``: 1-based row in
    its file) and, per bad file index, the message for its first bad row."""
    n = [len(p) for p in parts]
    file_idx = np.repeat(np.arange(len(parts)), n)
    row_idx = np.concatenate([np.arange(1, k + 1) for k in n]) if n else np.zeros(0, int)
    flat = [r for p in parts for r in p]
    raw = pd.DataFrame(flat, columns=[c.name for c in columns], dtype=object) if flat else \
        pd.DataFrame({c.name: pd.Series([], dtype=object) for c in columns})
    first: dict[int, tuple[int, int, str]] = {}   # file -> (row, column rank, message)
    out = {}
    for rank, col in enumerate(columns):
        s = raw[col.name]
        problems, values = _column_problems(s, col)
        for mask, what in problems:
            for pos in _first_per_file(mask, file_idx):
                f, r = int(file_idx[pos]), int(row_idx[pos])
                msg = (f"{wheres[f]}: row {r}: {col.name} = {s.iloc[pos]!r} {what} "
                       f"(codebook: {col.what})")
                if f not in first or (r, rank) < first[f][:2]:
                    first[f] = (r, rank, msg)
        if col.kind == "int":   # bad cells (reported above) become 0, never an overflow
            v = values.to_numpy()
            with np.errstate(invalid="ignore"):
                safe = np.isfinite(v) & (np.abs(v) < MAX_INTEGER)
            out[col.name] = pd.Series(np.where(safe, v, 0), index=values.index).astype("int64")
        elif col.kind == "float":
            out[col.name] = values
        else:
            out[col.name] = s.astype("str")
    typed = pd.DataFrame(out)
    typed["_file"] = file_idx
    typed["_row"] = row_idx
    return typed, {f: m for f, (_, _, m) in first.items()}


def _first_per_file(mask: np.ndarray, file_idx: np.ndarray) -> list[int]:
    """Positions of the first True of ``mask`` within each file."""
    pos = np.flatnonzero(mask)
    if pos.size == 0:
        return []
    _, first = np.unique(file_idx[pos], return_index=True)
    return pos[first].tolist()


def _rule_problems(t: pd.DataFrame, wheres: list[str]) -> dict[int, str]:
    """Cross-column rules of the codebook: per bad file, its first offending row."""
    rules = [
        ((t["timeout"] == 1) & t["rt_ms"].notna(),
         "timeout = 1 but rt_ms is not empty (a timeout has no RT)"),
        ((t["timeout"] == 0) & t["rt_ms"].isna(),
         "rt_ms is empty but timeout = 0 (a trial without a response is a timeout)"),
        ((t["timeout"] == 1) & (t["correct"] == 1), "timeout = 1 but correct = 1"),
        (t["rt_ms"] <= 0, "rt_ms must be > 0 ms"),
    ]
    voice = t["response_device"] == VOICE_DEVICE
    code, timeout = t["accuracy_code"], t["timeout"] == 1
    rules += [
        (~voice & (code != "auto"),
         "accuracy_code is not auto on a keyboard or button trial (only voice trials are "
         "coded by hand)"),
        (~voice & t["rt_source"].str.startswith("voice"),
         "rt_source is voice-… but response_device is not voice"),
        (~voice & ((t["audio_file"] != "") | (t["noise_file"] != "")
                   | t["voice_online_rt_ms"].notna() | t["voice_confidence"].notna()),
         "audio_file, noise_file, voice_online_rt_ms and voice_confidence must be empty on a "
         "keyboard or button trial"),
        (voice & (code == "auto"),
         "accuracy_code = auto on a voice trial (a voice trial is coded correct, wrong, "
         "unclear or uncoded)"),
        (voice & (t["rt_source"] != "voice-detected"),
         "rt_source of a voice trial must be voice-detected in the trial file"),
        (voice & (t["response"] != np.where(timeout, "", VOICE_RESPONSE)),
         f"response of a voice trial must be {VOICE_RESPONSE!r} when speech was detected "
         f"(timeout = 0) and empty otherwise"),
        (voice & (t["correct"] != ((code == "correct") & ~timeout).astype("int64")),
         "correct of a voice trial must be 1 exactly when accuracy_code = correct and speech "
         "was detected (timeout = 0)"),
    ]
    fidx = t["_file"].to_numpy()
    first: dict[int, tuple[int, str]] = {}
    for mask, msg in rules:
        for pos in _first_per_file(mask.to_numpy(), fidx):
            f, r = int(fidx[pos]), int(t["_row"].iat[pos])
            if f not in first or r < first[f][0]:
                first[f] = (r, f"{wheres[f]}: row {r}: {msg}")
    return {f: m for f, (_, m) in first.items()}


def _duplicate_problems(t: pd.DataFrame, wheres: list[str], keys: list[str],
                        what: str) -> dict[int, str]:
    """A row that repeats ``keys`` of an earlier row (same or earlier file): the later file
    is bad."""
    dup = t.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return {}
    d = t.loc[dup, keys + ["_file", "_row"]]
    earliest = d.groupby(keys, sort=False)[["_file", "_row"]].transform("first")
    later = (d["_file"] != earliest["_file"]) | (d["_row"] != earliest["_row"])
    out: dict[int, str] = {}
    for (i, row), (_, e) in zip(d[later].iterrows(), earliest[later].iterrows()):
        f = int(row["_file"])
        if f in out:
            continue
        ident = " ".join(f"{k} {row[k]}" for k in keys)
        other = "an earlier row" if int(e["_file"]) == f else wheres[int(e["_file"])]
        out[f] = (f"{wheres[f]}: row {int(row['_row'])}: {what} ({ident}) repeats "
                  f"{other}; remove the duplicate")
    return out


@dataclass
class FileReads:
    """What the loader read and found, by trial-file index (files sorted by path): the
    bytes and raw rows of each trial file and of its blocks file (when there is one), and
    the problems so far (index -> one-line message) of trial files (``errors``) and of
    blocks files (``block_errors``). ``notes``: things worth a line in the report."""
    data_dir: Path
    paths: list[Path]
    raws: list[bytes] = field(default_factory=list)
    parts: list[list[tuple[str, ...]]] = field(default_factory=list)
    braws: dict[int, bytes] = field(default_factory=dict)
    bparts: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    block_errors: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rel(self) -> list[str]:
        """Trial-file paths relative to the data folder (POSIX separators)."""
        return [p.relative_to(self.data_dir).as_posix() for p in self.paths]

    @property
    def wheres(self) -> list[str]:
        """Trial-file paths as error messages name them."""
        return [str(p) for p in self.paths]

    @property
    def bpaths(self) -> list[Path]:
        """Each trial file's ``_blocks.csv`` (which may not exist)."""
        return [p.with_name(p.name[: -len(TRIALS_SUFFIX)] + BLOCKS_SUFFIX) for p in self.paths]

    def add_errors(self, found: dict[int, str]) -> None:
        """Record ``found`` problems of files that have none yet."""
        self.errors.update({f: m for f, m in found.items() if f not in self.errors})

    def raise_first(self, skip_bad: bool) -> None:
        """DataError for the first bad trial file, unless ``skip_bad``."""
        if self.errors and not skip_bad:
            raise DataError(self.errors[min(self.errors)])


def trial_file_paths(data_dir: Path) -> list[Path]:
    """Every ``*_trials.csv`` under ``data_dir`` (recursively, sorted by path); DataError
    when the folder does not exist or holds none."""
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such folder; pass --data with the folder that holds "
                        f"the session files")
    # a link to nothing is listed (it is reported as unreadable, never silently left out)
    paths = [p for p in sorted(data_dir.rglob(f"*{TRIALS_SUFFIX}"))
             if p.is_file() or (p.is_symlink() and not p.exists())]
    if not paths:
        raise DataError(f"{data_dir}: no *{TRIALS_SUFFIX} files found (searched recursively)")
    return paths


def read_files(data_dir: Path, paths: list[Path], progress: bool | None) -> FileReads:
    """:class:`FileReads` of the trial files ``paths`` and their blocks files: bytes and raw
    rows, unreadable or malformed files in ``errors`` / ``block_errors``."""
    from tqdm.auto import tqdm

    r = FileReads(data_dir, paths)
    wheres, bpaths = r.wheres, r.bpaths
    for i in tqdm(range(len(paths)), desc="reading files", unit="file", leave=False,
                  disable=None if progress is None else not progress):
        raw, rows = b"", []
        try:
            raw = paths[i].read_bytes()
            rows = _read_rows(raw, wheres[i], TRIAL_COLUMNS, r.notes)
        except OSError as e:
            r.errors[i] = f"{wheres[i]}: cannot read ({e.strerror})"
        except DataError as e:
            r.errors[i] = str(e)
        r.raws.append(raw)
        r.parts.append(rows)
        if bpaths[i].is_file():
            try:
                r.braws[i] = bpaths[i].read_bytes()
                r.bparts[i] = _read_rows(r.braws[i], str(bpaths[i]), BLOCK_COLUMNS, r.notes)
            except OSError as e:
                r.block_errors[i] = f"{bpaths[i]}: cannot read ({e.strerror})"
            except DataError as e:
                r.block_errors[i] = str(e)
    return r


def typed_trials(r: FileReads, include_simulated: bool) -> tuple[pd.DataFrame, set[int]]:
    """The typed trial rows (codebook columns, ``_file``/``_row``, ``language``) of the files
    without problems of their own, their rules or their session's vocabulary, and the indices
    of the simulated files left out (:func:`_simulated_left_out`). Adds problems to
    ``r.errors``; the rows of bad files are still in the frame."""
    vocab = _vocabularies(r.paths, r.errors, r.notes)
    parts = [[] if i in r.errors else rows for i, rows in enumerate(r.parts)]
    left_out = _simulated_left_out(parts, r.rel, r.errors, include_simulated, r.notes)
    parts = [[] if i in left_out else rows for i, rows in enumerate(parts)]
    wheres = r.wheres
    t, bad = _validate(parts, wheres, TRIAL_COLUMNS)
    r.add_errors(bad)
    r.add_errors(_rule_problems(t, wheres))
    r.add_errors(vocabulary_problems(t[~t["_file"].isin(list(r.errors))], vocab, wheres))
    t["language"] = np.asarray([vocab[i].language if i in vocab else "" for i in
                                range(len(r.paths))], dtype=object)[t["_file"].to_numpy()] \
        if len(t) else pd.Series([], dtype=object)
    t["language"] = t["language"].astype("str")
    return t, left_out


def _without_bad(t: pd.DataFrame, errors: dict[int, str], column: str = "_file") -> pd.DataFrame:
    """``t`` without the rows of files that have a problem."""
    return t[~t[column].isin(list(errors))]


def session_checked_trials(t: pd.DataFrame, r: FileReads, accept_edited: bool
                           ) -> pd.DataFrame:
    """``t`` without bad files after the whole-session checks: each file consistent in
    itself, with its sidecar (``accept_edited``: an edited file with a note) and without
    duplicate trials. Adds problems to ``r.errors``."""
    wheres = r.wheres
    t = _without_bad(t, r.errors)
    text_columns = tuple(c.name for c in TRIAL_COLUMNS if c.kind == "str")
    r.errors.update(consistency_problems(t, wheres, text_columns))
    t = _without_bad(t, r.errors)
    r.errors.update(plan_problems(t, r.paths, wheres, TRIALS_SUFFIX))
    t = _without_bad(t, r.errors)
    read = {i: {r.paths[i].name: r.raws[i],
                **({r.bpaths[i].name: r.braws[i]} if i in r.braws else {})}
            for i in range(len(r.paths))}
    header_only = tuple(i for i, rows in enumerate(r.parts) if not rows and i not in r.errors)
    r.errors.update(sidecar_problems(t, r.paths, wheres, read, TRIALS_SUFFIX, accept_edited,
                                     r.notes, header_only))
    t = _without_bad(t, r.errors)
    r.errors.update(_duplicate_problems(t, wheres, ["participant", "session",
                                                    "trial_in_session"], "trial"))
    return t


def block_rows(r: FileReads, skip_bad: bool) -> pd.DataFrame:
    """The typed rows of the accepted blocks files: the codebook's block columns
    (:data:`analysis.input.codebook.BLOCK_COLUMNS`; ``speed_actual_kmh`` in km/h), ``_file``
    and ``_row``, and ``_trials_file`` (their trial file's index). Problems go into
    ``r.block_errors`` (DataError for the first unless ``skip_bad``)."""
    bidx = sorted(i for i in r.bparts if i not in r.errors and i not in r.block_errors)
    bpaths = r.bpaths
    b, bbad = _validate([r.bparts[i] for i in bidx], [str(bpaths[i]) for i in bidx],
                        BLOCK_COLUMNS)
    for k, m in bbad.items():
        r.block_errors[bidx[k]] = m
    if r.block_errors and not skip_bad:
        raise DataError(r.block_errors[min(r.block_errors)])
    b["_trials_file"] = [bidx[k] for k in b["_file"]] if len(b) else []
    return _without_bad(b, r.block_errors, "_trials_file")


def with_block_speeds(t: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """``t`` (``_file`` renamed ``_trials_file``) with ``speed_actual_kmh``, the confirmed
    treadmill speed (km/h) of each trial's block from ``b`` (:func:`block_rows`), NaN
    without one."""
    bkeys = ["_trials_file", "participant", "session", "is_practice", "block"]
    # a block re-run after a resume has a second row; the last one describes what ran
    speed = b[bkeys + ["speed_actual_kmh"]].drop_duplicates(bkeys, keep="last")
    return t.rename(columns={"_file": "_trials_file"}).merge(speed, on=bkeys, how="left")


def file_lists(r: FileReads, t: pd.DataFrame, b: pd.DataFrame, left_out: set[int],
               coder_files: dict[int, InputFile]) -> tuple[list[InputFile], list[SkippedFile]]:
    """The files analysed (trials, blocks and coder files, with sha256 and row counts) and
    the files skipped as bad, in trial-file order; simulated files left out are in neither."""
    files: list[InputFile] = []
    skipped: list[SkippedFile] = []
    counts = t["_trials_file"].value_counts()
    bcounts = b["_trials_file"].value_counts()
    rel, bpaths = r.rel, r.bpaths
    for i in range(len(r.paths)):
        if i in left_out:
            continue
        if i in r.errors:
            skipped.append(SkippedFile(rel[i], r.errors[i]))
            continue
        files.append(InputFile(rel[i], "trials", sha256_of(r.raws[i]), int(counts.get(i, 0))))
        brel = bpaths[i].relative_to(r.data_dir).as_posix()
        if i in r.block_errors:
            skipped.append(SkippedFile(brel, r.block_errors[i]))
        elif i in r.braws:
            files.append(InputFile(brel, "blocks", sha256_of(r.braws[i]),
                                   int(bcounts.get(i, 0))))
        if i in coder_files:
            files.append(coder_files[i])
    return files, skipped


def load_trials(data_dir: Path, skip_bad: bool = False, progress: bool | None = None,
                coder: str = "", accept_edited: bool = False,
                include_simulated: bool = False) -> LoadedData:
    """Every ``*_trials.csv`` under ``data_dir`` (recursively, sorted by path), validated
    and concatenated. ``skip_bad``: leave bad files out (listed in ``skipped``) instead of
    raising :class:`DataError` for the first bad file (a bad coder file makes its session
    bad). ``progress``: tqdm bar (None: only on a terminal). ``coder``: whose coder files
    to apply to voice trials (the plan's ``voice.coder``; "" = the only coder of a session;
    several coders in a session and none named is a :class:`DataError` even with
    ``skip_bad``). Each file must be consistent in itself (:mod:`analysis.input.consistency`)
    and with its sidecar (:mod:`analysis.input.sidecar`; ``accept_edited``: a file changed since
    the session ended is analysed, with a note, instead of refused). Simulated sessions
    (``simulated`` = 1) are left out, with a note, of a folder that also holds real ones,
    unless ``include_simulated``; a folder of simulated sessions only is analysed."""
    data_dir = Path(data_dir)
    r = read_files(data_dir, trial_file_paths(data_dir), progress)
    t, left_out = typed_trials(r, include_simulated)
    t = session_checked_trials(t, r, accept_edited)
    r.raise_first(skip_bad)
    t = _without_bad(t, r.errors)
    t, voice, coder_files = _apply_coder_files(t, r.paths, r.rel, r.wheres, r.errors, r.notes,
                                               coder, data_dir)
    r.raise_first(skip_bad)
    t = _without_bad(t, r.errors)
    b = block_rows(r, skip_bad)
    t = with_block_speeds(t, b)
    files, skipped = file_lists(r, t, b, left_out, coder_files)
    if t.empty and len(r.errors) + len(left_out) == len(r.paths):
        raise DataError(f"{data_dir}: every trial file was skipped as bad; nothing to analyse")
    if t.empty:
        raise DataError(f"{data_dir}: the trial files hold no trials (a header only: sessions "
                        f"stopped before their first trial); nothing to analyse")
    t["source_file"] = np.asarray(r.rel, dtype=object)[t["_trials_file"].to_numpy()]
    t["source_file"] = t["source_file"].astype("str")
    trials = (t.drop(columns=["_trials_file", "_row"])
              .sort_values(SORT_KEYS, kind="stable").reset_index(drop=True))
    return LoadedData(data_dir=data_dir, trials=trials, files=files, skipped=skipped,
                      notes=r.notes, voice=voice)


def _vocabularies(paths: list[Path], errors: dict[int, str], notes: list[str]
                  ) -> dict[int, Vocabulary]:
    """Per trial-file index, the vocabulary of its session's saved config (files whose
    config cannot be read go into ``errors``; sessions without a config get a note)."""
    vocab: dict[int, Vocabulary] = {}
    missing = 0
    for i, p in enumerate(paths):
        try:
            v = session_vocabulary(config_path(p, TRIALS_SUFFIX))
        except VocabularyError as e:
            errors.setdefault(i, str(e))
            continue
        if v is None:
            missing += 1
        else:
            vocab[i] = v
    if missing:
        notes.append(f"{missing} session(s) without a saved *{CONFIG_SUFFIX}: their condition, "
                     f"ink and congruency values were not checked against a config")
    return vocab
def _simulated_left_out(parts: list[list[tuple[str, ...]]], rel: list[str],
                        errors: dict[int, str], include: bool, notes: list[str]) -> set[int]:
    """Files of simulated sessions (every row ``simulated`` = 1) to leave out: those of a
    folder that also holds real sessions, unless ``include``. Recognised by their rows, never
    by a folder name."""
    col = [c.name for c in TRIAL_COLUMNS].index("simulated")
    simulated = {i for i, rows in enumerate(parts)
                 if rows and i not in errors and all(r[col] == "1" for r in rows)}
    real = [i for i, rows in enumerate(parts) if rows and i not in errors and i not in simulated]
    if include or not simulated or not real:
        return set()
    shown = ", ".join(rel[i] for i in sorted(simulated)[:3]) + (", …" if len(simulated) > 3 else "")
    notes.append(f"left out {len(simulated)} simulated session(s) (simulated = 1: {shown}) of a "
                 f"folder with real sessions; analyse them on their own (--data their folder) "
                 f"or with the real ones (--include-simulated)")
    return simulated


def _chosen_coders(t: pd.DataFrame, paths: list[Path], rel: list[str], errors: dict[int, str],
                   notes: list[str], wanted: str, data_dir: Path
                   ) -> tuple[dict[int, tuple[str, Path]], dict[int, dict]]:
    """Per accepted session (trial-file index in ``t['_file']``): the coder whose file is
    applied and its path (sessions with one), and what the report says of it (source_file,
    coder, status, coder_file). A badly named coder file goes into ``errors``; several
    coders and none ``wanted`` is a DataError."""
    has_voice = set(t.loc[t["response_device"] == VOICE_DEVICE, "_file"].unique().tolist())
    chosen: dict[int, tuple[str, Path]] = {}
    info: dict[int, dict] = {}
    for i in sorted(set(t["_file"].unique().tolist())):
        audio = coding.audio_dir_of(paths[i], TRIALS_SUFFIX)
        found, badly_named = coding.coder_files(audio)
        if badly_named:
            errors[i] = (f"{badly_named[0]}: the coder ID in the file name is not letters, "
                         f"digits, - and _ only; rename it {CODER_FILE_PREFIX}<coder>.csv")
            continue
        try:
            who = coding.choose_coder(sorted(found), wanted)
        except ValueError:
            raise DataError(f"{audio}: coder files of several coders ({', '.join(sorted(found))}) "
                            f"for session {rel[i]}; set plan key voice.coder to the coder "
                            f"whose codes the analysis uses") from None
        status = ""
        if who is not None:
            chosen[i] = (who, found[who])
            status = f"hand-coded by {who}"
        elif i in has_voice:
            status = _uncoded_status(wanted, found)
            if wanted:
                notes.append(f"{rel[i]}: {status}; its voice trials keep the detected onsets "
                             f"and the experimenter's codes")
        info[i] = {"source_file": rel[i], "coder": who or "", "status": status,
                   "coder_file": (found[who].relative_to(data_dir).as_posix()
                                  if who is not None else "")}
    return chosen, info


def _uncoded_status(wanted: str, found: dict[str, Path]) -> str:
    """Why a session with voice trials is not hand-coded."""
    if not wanted:
        return "not hand-coded (no coder file)"
    return (f"not hand-coded: no {CODER_FILE_PREFIX}{wanted}.csv (plan key "
            f"voice.coder = {wanted!r}"
            + (f"; coders present: {', '.join(sorted(found))}" if found else "") + ")")


def _coder_rows(chosen: dict[int, tuple[str, Path]], t: pd.DataFrame, wheres: list[str],
                errors: dict[int, str], notes: list[str]
                ) -> tuple[pd.DataFrame, dict[int, bytes]]:
    """The typed rows of the chosen coder files (``_file``: their trial file's index) that
    pass every check against their trials, and each file's bytes; problems go into
    ``errors``."""
    raws: dict[int, bytes] = {}
    parts, cidx, cwheres = [], [], []
    for i, (who, path) in chosen.items():
        try:
            raws[i] = path.read_bytes()
            rows = _read_rows(raws[i], str(path), CODER_COLUMNS, notes)
        except OSError as e:
            errors[i] = f"{path}: cannot read ({e.strerror})"
            continue
        except DataError as e:
            errors[i] = str(e)
            continue
        parts.append(rows)
        cidx.append(i)
        cwheres.append(str(path))
    c, bad = _validate(parts, cwheres, CODER_COLUMNS)
    for k, m in bad.items():
        errors.setdefault(cidx[k], m)
    c["_file"] = np.asarray(cidx, dtype="int64")[c["_file"].to_numpy()] if len(c) else \
        c["_file"].astype("int64")
    c = c[~c["_file"].isin(list(errors))]
    coder_of = pd.Series({i: who for i, (who, _) in chosen.items()}, dtype=object)
    all_wheres = {i: str(p) for i, (_, p) in chosen.items()}
    for f, m in coding.coder_row_problems(c, t, coder_of, all_wheres, wheres).items():
        errors.setdefault(f, m)
    return c[~c["_file"].isin(list(errors))], raws


def _apply_coder_files(t: pd.DataFrame, paths: list[Path], rel: list[str], wheres: list[str],
                       errors: dict[int, str], notes: list[str], wanted: str, data_dir: Path
                       ) -> tuple[pd.DataFrame, list[coding.VoiceCoding], dict[int, InputFile]]:
    """Find, read, check and apply the chosen coder's file of every accepted session.

    ``t``: typed trial rows with ``_file``/``_row``. Problems of a coder file go into
    ``errors`` under its trial file's index; what is worth a line in the report into
    ``notes``. Returns the trials with the codes applied, the per-session summaries and the
    coder files used (per trial-file index)."""
    chosen, info = _chosen_coders(t, paths, rel, errors, notes, wanted, data_dir)
    c, raws = _coder_rows(chosen, t, wheres, errors, notes)
    last = coding.last_codes(c)
    t, detected = coding.apply_codes(t, last)
    for f, n in coding.detection_mismatches(last, detected, t).items():
        notes.append(f"{info[int(f)]['coder_file']}: {n} coded trial(s) have a detected_rt_ms "
                     f"that is not the trial file's rt_ms (coded against another detection); "
                     f"the coder's onsets are used")
    voice = coding.coding_summary(t[~t["_file"].isin(list(errors))], last, detected,
                                  {i: v for i, v in info.items() if i not in errors})
    used = {i: InputFile(info[i]["coder_file"], "coding", sha256_of(raws[i]),
                         int((c["_file"] == i).sum()))
            for i in chosen if i not in errors and i in raws}
    return t, voice, used
