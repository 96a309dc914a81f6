"""Offline coding of vocal responses: what a coder hears, sees and decides, and the coder file.

The coding tool (``experiment.voice.coding_tool``, the PsychoPy layer over this module) shows each
voice trial of a session; the coder listens, moves the speech onset if the voice key missed
it, and codes the response. Every decision is appended to the coder file

    <participant folder>/<stem>_audio/coding_<coder>.csv

(:data:`CODER_COLUMNS`, one fsynced row per decision, :class:`experiment.core.datafile.CsvAppender`).
A trial may be coded again: the LAST row for a (is_practice, block, trial_in_block) key wins
(:func:`latest_codes`). Raw WAVs, the trial file, the recordings index and earlier coder rows
are only read, never written.

Times: ``*_ms`` are milliseconds from the stimulus flip (the trial file's RT zero); sample
indices count from sample 0 of the trial's WAV. No PsychoPy import.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from experiment.core.datafile import TRIALS_SUFFIX, CsvAppender, SessionPaths, now_iso, read_rows
from experiment.core.config import stimuli_folder
from experiment.voice.device import AUDIO_DIR_SUFFIX, INDEX_NAME, read_wav_float

CODES = ("correct", "wrong", "unclear")
CODER_PREFIX = "coding_"
CODER_ID = re.compile(r"[A-Za-z0-9_-]+")
VOICE_DEVICE = "voice"
ZOOM_HALF_MS = 150.0
MIN_ONSET_MS = 1.0      # an onset is after the flip (the analysis requires onset_ms > 0)

TrialKey = tuple[int, int, int]   # (is_practice, block, trial_in_block)

# trial-file columns the tool cannot work without (others are shown when present)
REQUIRED_TRIAL_COLUMNS = ("is_practice", "block", "trial_in_block", "trial_in_session", "word",
                          "ink", "rt_ms", "response_device")


class CodingError(RuntimeError):
    """Bad input for the coding tool (one-line message saying what is wrong and how to fix it)."""


# ------------------------------------------------------------------ the coder file
@dataclass(frozen=True)
class CodeRecord:
    """One row of the coder file: a coder's decision about one trial.

    ``code``: correct | wrong | unclear. ``onset_ms``: the coder's speech onset (ms from the
    stimulus flip; written with 3 decimals); None = the coder judged there is no speech
    response. ``detected_rt_ms``: the trial file's ``rt_ms`` when the trial was coded (None if
    empty). ``onset_moved``: 1 if ``onset_ms`` differs from ``detected_rt_ms`` (to 3
    decimals; a cleared onset counts as moved when the voice key had found one).
    ``timestamp``: ISO 8601 local time the decision was made.
    """
    coder: str
    is_practice: int
    block: int
    trial_in_block: int
    trial_in_session: int
    audio_file: str
    code: str
    onset_ms: float | None
    detected_rt_ms: float | None
    onset_moved: int
    timestamp: str

    @property
    def key(self) -> TrialKey:
        return (self.is_practice, self.block, self.trial_in_block)

    def as_row(self) -> dict[str, str]:
        """The record as the coder file's cells (strings; empty = missing)."""
        return {"coder": self.coder, "is_practice": str(self.is_practice), "block": str(self.block),
                "trial_in_block": str(self.trial_in_block),
                "trial_in_session": str(self.trial_in_session), "audio_file": self.audio_file,
                "code": self.code, "onset_ms": format_ms(self.onset_ms),
                "detected_rt_ms": "" if self.detected_rt_ms is None else repr(round(self.detected_rt_ms, 6)),
                "onset_moved": str(self.onset_moved), "timestamp": self.timestamp}

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> "CodeRecord":
        """Parse one coder-file row (ValueError/KeyError if a cell is malformed)."""
        code = row["code"]
        if code not in CODES:
            raise ValueError(f"code {code!r} is not one of {', '.join(CODES)}")
        moved = int(row["onset_moved"])
        if moved not in (0, 1):
            raise ValueError(f"onset_moved {moved} is not 0 or 1")
        return cls(coder=row["coder"], is_practice=int(row["is_practice"]), block=int(row["block"]),
                   trial_in_block=int(row["trial_in_block"]),
                   trial_in_session=int(row["trial_in_session"]), audio_file=row["audio_file"],
                   code=code, onset_ms=_float(row["onset_ms"]),
                   detected_rt_ms=_float(row["detected_rt_ms"]), onset_moved=moved,
                   timestamp=row["timestamp"])


CODER_COLUMNS = tuple(f.name for f in fields(CodeRecord))


def format_ms(ms: float | None) -> str:
    """A time in ms as the coder file writes it: 3 decimals, '' for None."""
    return "" if ms is None else f"{ms:.3f}"


def onset_moved(onset_ms: float | None, detected_rt_ms: float | None) -> int:
    """1 if the coder's onset differs from the detected one (compared as written, 3 decimals)."""
    if onset_ms is None or detected_rt_ms is None:
        return int((onset_ms is None) != (detected_rt_ms is None))
    return int(format_ms(onset_ms) != format_ms(detected_rt_ms))


def check_coder(coder: str) -> str:
    """``coder`` if it is a valid coder ID (letters, digits, '-', '_'), else CodingError."""
    if not isinstance(coder, str) or not CODER_ID.fullmatch(coder):
        raise CodingError(f"coder ID {coder!r} is not allowed: use only letters, digits, '-' and "
                          "'_' (e.g. --coder AB or --coder rater_2)")
    return coder


def read_codes(path: Path) -> list[CodeRecord]:
    """Every row of a coder file, in file order ([] if it does not exist); CodingError if damaged."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split(",")
    if tuple(header) != CODER_COLUMNS:
        raise CodingError(f"{path}: its columns are not those of a coder file "
                          f"({','.join(CODER_COLUMNS)}); move it away or use another coder ID")
    out = []
    for line, row in enumerate(read_rows(path), start=2):
        try:
            out.append(CodeRecord.from_row(row))
        except (KeyError, ValueError, TypeError) as exc:
            raise CodingError(f"{path}, line {line}: malformed row ({exc}); restore the file "
                              "from the backup or use another coder ID") from None
    return out


def latest_codes(records: Iterable[CodeRecord]) -> dict[TrialKey, CodeRecord]:
    """Trial key -> the last record for it (later rows win)."""
    out: dict[TrialKey, CodeRecord] = {}
    for r in records:
        out[r.key] = r
    return out


class CoderFile:
    """A coder's file: its records so far, and :meth:`append` (fsynced; created at the first row)."""

    def __init__(self, path: Path, coder: str):
        self.path = Path(path)
        self.coder = check_coder(coder)
        self.records: list[CodeRecord] = read_codes(self.path)
        self._appender: CsvAppender | None = None

    def latest(self) -> dict[TrialKey, CodeRecord]:
        return latest_codes(self.records)

    def append(self, record: CodeRecord) -> None:
        if record.coder != self.coder:
            raise ValueError(f"record of coder {record.coder!r} in {self.coder!r}'s file")
        if self._appender is None:
            self._appender = CsvAppender(self.path, CODER_COLUMNS)
        self._appender.append(record.as_row())
        self.records.append(record)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()


# ------------------------------------------------------------------ where a session's files are
@dataclass(frozen=True)
class SessionFiles(SessionPaths):
    """One session's files (:class:`SessionPaths`) and its audio folder ``<stem>_audio/``."""

    @property
    def audio_dir(self) -> Path:
        return self.folder / f"{self.stem}{AUDIO_DIR_SUFFIX}"

    @property
    def index(self) -> Path:
        return self.audio_dir / INDEX_NAME

    def coding_path(self, coder: str) -> Path:
        return self.audio_dir / f"{CODER_PREFIX}{check_coder(coder)}.csv"


def _has_voice_rows(trials: Path) -> bool:
    try:
        return any(r.get("response_device") == VOICE_DEVICE for r in read_rows(trials))
    except (OSError, UnicodeDecodeError):
        return False


def locate_session(path: Path) -> SessionFiles:
    """The session named by a participant folder, a ``*_trials.csv`` file or a ``*_audio`` folder.

    A participant folder must hold exactly one session with voice trials (else give its
    trials file). CodingError (one line) for anything else.
    """
    path = Path(path)
    if not path.exists():
        raise CodingError(f"{path}: no such file or folder; give a participant folder "
                          f"(<data>/<participant>) or a session's *{TRIALS_SUFFIX}")
    if path.is_file():
        if not path.name.endswith(TRIALS_SUFFIX):
            raise CodingError(f"{path}: not a trials file; give a participant folder "
                              f"(<data>/<participant>) or a session's *{TRIALS_SUFFIX}")
        return SessionFiles(path.parent, path.name[: -len(TRIALS_SUFFIX)])
    if path.name.endswith(AUDIO_DIR_SUFFIX) and (path.parent / (
            path.name[: -len(AUDIO_DIR_SUFFIX)] + TRIALS_SUFFIX)).is_file():
        return SessionFiles(path.parent, path.name[: -len(AUDIO_DIR_SUFFIX)])
    trials = sorted(path.glob(f"*{TRIALS_SUFFIX}"))
    if not trials:
        hint = (" (a session's recordings folder? give its participant folder)"
                if path.name.endswith(AUDIO_DIR_SUFFIX) else "")
        raise CodingError(f"{path}: not a stroop-walk session folder (no *{TRIALS_SUFFIX}){hint}; "
                          "give a participant folder (<data>/<participant>)")
    voiced = [t for t in trials if _has_voice_rows(t)]
    if not voiced:
        raise CodingError(f"{path}: no voice trials in its session(s) (response_device is never "
                          f"'{VOICE_DEVICE}'); only vocal sessions are coded")
    if len(voiced) > 1:
        names = ", ".join(t.name for t in voiced)
        raise CodingError(f"{path} holds {len(voiced)} vocal sessions ({names}); give one "
                          "session's trials file instead of the folder")
    return SessionFiles(path, voiced[0].name[: -len(TRIALS_SUFFIX)])


def coding_path(session_folder_or_trials_file: Path, coder: str) -> Path:
    """``<participant folder>/<stem>_audio/coding_<coder>.csv`` for a session and coder."""
    check_coder(coder)
    return locate_session(session_folder_or_trials_file).coding_path(coder)


# ------------------------------------------------------------------ timing: ms <-> samples
@dataclass(frozen=True)
class AudioTiming:
    """How a trial WAV's samples map to time from the stimulus flip.

    Sample ``i`` is at ``offset_s + i / clock_rate_hz`` seconds after the flip: ``offset_s``
    = the index's ``audio_start_s - start_s`` (within half a sample of 0), ``clock_rate_hz``
    = the index's ``audio_clock_rate_hz`` (samples per PsychoPy second). Without an index
    row: offset 0 and the nominal rate (``exact`` False).
    """
    rate_hz: int
    clock_rate_hz: float
    offset_s: float = 0.0
    exact: bool = True

    def ms_of_index(self, index: float) -> float:
        """ms from the flip of sample ``index`` (fractional indices allowed)."""
        return (self.offset_s + index / self.clock_rate_hz) * 1000.0

    def index_of_ms(self, ms: float) -> float:
        """(Fractional) sample index at ``ms`` from the flip."""
        return (ms / 1000.0 - self.offset_s) * self.clock_rate_hz


def clamp_onset_ms(ms: float, n_samples: int, timing: AudioTiming) -> float:
    """``ms`` kept within the recording and after the flip: [MIN_ONSET_MS, end of recording]."""
    return min(max(ms, MIN_ONSET_MS), max(timing.ms_of_index(n_samples), MIN_ONSET_MS))


def ms_from_index(index: float, timing: AudioTiming) -> float:
    """ms from the stimulus flip of sample ``index`` of a trial WAV."""
    return timing.ms_of_index(index)


def index_from_ms(ms: float, timing: AudioTiming) -> int:
    """The sample of a trial WAV nearest ``ms`` from the stimulus flip (may be out of range)."""
    return int(math.floor(timing.index_of_ms(ms) + 0.5))


# ------------------------------------------------------------------ the trials to code
@dataclass(frozen=True)
class CodingTrial:
    """One voice trial as the coder sees it.

    ``audio_path``: the trial's WAV (None if the trial file names none). ``problem``: why its
    audio cannot be shown (missing file), else None -- such a trial can still be coded
    'unclear'. ``timing``: from ``recordings.csv`` when the file is listed there, else None
    (the nominal rate of the WAV is used). ``detected_rt_ms``: the trial file's ``rt_ms``.
    ``live_code``: the experimenter's code during the session (``accuracy_code``; '' if the
    trial file has none). ``codes``: this coder's earlier rows for the trial, in file order.
    ``snr_db``: the word's SNR from ``recordings.csv`` (None if not there): below about 15 dB
    the detected onset deserves a close look.
    """
    is_practice: int
    block: int
    trial_in_block: int
    trial_in_session: int
    condition: str
    word: str
    word_colour: str
    ink: str
    congruency: str
    correct_response: str
    audio_file: str
    audio_path: Path | None
    problem: str | None
    timing: AudioTiming | None
    detected_rt_ms: float | None
    online_rt_ms: float | None
    confidence: float | None
    live_code: str
    noise_file: str
    codes: tuple[CodeRecord, ...] = field(default=())
    snr_db: float | None = None

    @property
    def key(self) -> TrialKey:
        return (self.is_practice, self.block, self.trial_in_block)

    @property
    def label(self) -> str:
        kind = "PRACTICE round" if self.is_practice else "block"
        return f"{kind} {self.block}, trial {self.trial_in_block}"

    def record(self, coder: str, code: str, onset_ms: float | None,
               timestamp: str | None = None) -> CodeRecord:
        """The coder-file row for coding this trial ``code`` with onset ``onset_ms``."""
        if code not in CODES:
            raise ValueError(f"code {code!r} is not one of {', '.join(CODES)}")
        if onset_ms is not None and not onset_ms > 0:
            raise ValueError(f"onset_ms = {onset_ms}: an onset is > 0 ms after the flip "
                             "(None = no speech)")
        return CodeRecord(coder=check_coder(coder), is_practice=self.is_practice, block=self.block,
                          trial_in_block=self.trial_in_block, trial_in_session=self.trial_in_session,
                          audio_file=self.audio_file, code=code,
                          onset_ms=None if onset_ms is None else round(float(onset_ms), 3),
                          detected_rt_ms=self.detected_rt_ms,
                          onset_moved=onset_moved(onset_ms, self.detected_rt_ms),
                          timestamp=timestamp or now_iso())


@dataclass(frozen=True)
class CodingSession:
    """A session's voice trials (trial-file order) and the coder's file."""
    files: SessionFiles
    coder: str
    trials: tuple[CodingTrial, ...]
    coder_path: Path
    n_keyboard_rows: int = 0   # rows of the trials file that are not voice trials (skipped)


def _float(value: str | None) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    return float(value)


def _int(value: str) -> int:
    return int(float(value))


def _index_rows(files: SessionFiles) -> dict[str, dict]:
    """recordings.csv trial rows by file name ({} without an index)."""
    if not files.index.is_file():
        return {}
    by_file = {}
    for r in read_rows(files.index):
        if r.get("kind") != "trial":
            continue
        if not r.get("file"):
            raise CodingError(f"{files.index}: a trial row names no file; the index is damaged "
                              "or from another version (restore it from the backup)")
        by_file[r["file"]] = r
    return by_file


def timing_from_index_row(row: Mapping[str, str]) -> AudioTiming:
    """The timing of a trial WAV from its recordings.csv row (ValueError if malformed)."""
    return AudioTiming(rate_hz=int(float(row["audio_rate_hz"])),
                       clock_rate_hz=float(row["audio_clock_rate_hz"]),
                       offset_s=float(row["audio_start_s"]) - float(row["start_s"]), exact=True)


def load_session(path: Path, coder: str) -> CodingSession:
    """The voice trials of the session at ``path`` (see :func:`locate_session`) for ``coder``.

    Reads the trials file (rows with ``response_device`` 'voice'; a trial saved twice keeps
    its last row), the recordings index (each WAV's timing) and the coder's earlier rows. CodingError (one line) for a bad coder ID, a wrong
    folder, a trials file without the needed columns, or a session without voice trials.
    A missing WAV is not an error: the trial carries a ``problem``.
    """
    check_coder(coder)
    files = locate_session(path)
    try:
        rows = read_rows(files.trials)
    except (OSError, UnicodeDecodeError) as exc:
        raise CodingError(f"{files.trials}: cannot be read ({exc})") from None
    if rows:
        missing = [c for c in REQUIRED_TRIAL_COLUMNS if c not in rows[0]]
        if missing:
            raise CodingError(f"{files.trials}: no column {missing[0]!r}; it is not a stroop-walk "
                              "trials file with voice responses")
    voice = [r for r in rows if r.get("response_device") == VOICE_DEVICE]
    if not voice:
        raise CodingError(f"{files.trials}: no voice trials in this session (response_device is "
                          f"never '{VOICE_DEVICE}'); only vocal sessions are coded")
    by_file = _index_rows(files)
    coder_path = files.coding_path(coder)
    earlier: dict[TrialKey, list[CodeRecord]] = {}
    for rec in read_codes(coder_path):
        earlier.setdefault(rec.key, []).append(rec)
    trials: dict[TrialKey, CodingTrial] = {}
    for n, r in enumerate(voice, start=1):
        try:
            key = (_int(r["is_practice"]), _int(r["block"]), _int(r["trial_in_block"]))
            detected = _float(r["rt_ms"])
            audio_file = (r.get("audio_file") or "").strip()
            index_row = by_file.get(audio_file) if audio_file else None
            timing = _timing_of(index_row, files)
            trial = CodingTrial(
                is_practice=key[0], block=key[1], trial_in_block=key[2],
                trial_in_session=_int(r["trial_in_session"]), condition=r.get("condition", ""),
                word=r["word"], word_colour=r.get("word_colour", ""), ink=r["ink"],
                congruency=r.get("congruency", ""), correct_response=r.get("correct_response", ""),
                audio_file=audio_file,
                audio_path=files.audio_dir / audio_file if audio_file else None,
                problem=None, timing=timing, detected_rt_ms=detected,
                online_rt_ms=_float(r.get("voice_online_rt_ms")),
                confidence=_float(r.get("voice_confidence")),
                live_code=r.get("accuracy_code", "") or "", noise_file=r.get("noise_file", "") or "",
                codes=tuple(earlier.get(key, ())),
                snr_db=_float((index_row or {}).get("snr_db")))
        except (KeyError, ValueError) as exc:
            raise CodingError(f"{files.trials}: voice row {n} is malformed "
                              f"({type(exc).__name__}: {exc}); restore the file from the backup") from None
        trials.pop(key, None)          # a re-saved trial: its last row, at its last position
        trials[key] = _with_problem(trial)
    return CodingSession(files=files, coder=coder, trials=tuple(trials.values()),
                         coder_path=coder_path, n_keyboard_rows=len(rows) - len(voice))


def _timing_of(index_row: Mapping[str, str] | None, files: SessionFiles) -> AudioTiming | None:
    if index_row is None:
        return None
    try:
        return timing_from_index_row(index_row)
    except (KeyError, ValueError) as exc:
        raise CodingError(f"{files.index}: the row of {index_row.get('file')} is malformed "
                          f"({type(exc).__name__}: {exc}); restore it from the backup") from None


def _with_problem(trial: CodingTrial) -> CodingTrial:
    if trial.audio_path is None:
        return replace(trial, problem="no audio file recorded for this trial")
    if not trial.audio_path.is_file():
        return replace(trial, problem=f"audio file missing: {trial.audio_file}")
    return trial


def load_audio(trial: CodingTrial) -> tuple[np.ndarray, AudioTiming]:
    """(mono float samples in +-1, timing) of a trial's WAV; CodingError (one line) if unreadable."""
    if trial.problem is not None or trial.audio_path is None:
        raise CodingError(trial.problem or "no audio file")
    try:
        x, rate = read_wav_float(trial.audio_path)
    except (OSError, ValueError) as exc:
        raise CodingError(f"audio file unreadable: {trial.audio_file} ({exc})") from None
    timing = trial.timing
    if timing is None:
        timing = AudioTiming(rate_hz=rate, clock_rate_hz=float(rate), offset_s=0.0, exact=False)
    elif timing.rate_hz != rate:
        raise CodingError(f"audio file {trial.audio_file} is {rate} Hz but {INDEX_NAME} says "
                          f"{timing.rate_hz} Hz")
    return x, timing


# ------------------------------------------------------------------ where to go next
def first_uncoded(trials: Sequence[CodingTrial], latest: Mapping[TrialKey, CodeRecord],
                  after: int = -1) -> int | None:
    """Index of the first trial after position ``after`` not yet coded (wrapping round), or None."""
    n = len(trials)
    for k in range(n):
        i = (after + 1 + k) % n
        if trials[i].key not in latest:
            return i
    return None


def uncoded(trials: Sequence[CodingTrial], latest: Mapping[TrialKey, CodeRecord]) -> list[int]:
    """Positions of the trials the coder has not coded yet."""
    return [i for i, t in enumerate(trials) if t.key not in latest]


def start_index(trials: Sequence[CodingTrial], latest: Mapping[TrialKey, CodeRecord],
                all_trials: bool) -> int | None:
    """Where the tool starts: trial 0 with ``all_trials``, else the first uncoded (None: all coded)."""
    if not trials:
        return None
    return 0 if all_trials else first_uncoded(trials, latest)


def next_index(trials: Sequence[CodingTrial], latest: Mapping[TrialKey, CodeRecord],
               current: int, all_trials: bool) -> int | None:
    """The trial after ``current``: the next one (``all_trials``) or the next uncoded one.

    None when there is none left (``all_trials``: ``current`` was the last trial; else every
    trial is coded).
    """
    if all_trials:
        return current + 1 if current + 1 < len(trials) else None
    return first_uncoded(trials, latest, after=current)


# ------------------------------------------------------------------ what is drawn
def envelope(x: np.ndarray, n_columns: int, start: float = 0.0, stop: float | None = None) -> np.ndarray:
    """Min and max of ``x`` over ``n_columns`` equal spans of the samples [start, stop).

    Returns float64 shape (n_columns, 2): column j = (min, max) of the samples from
    ``floor(start + j*w)`` to ``floor(start + (j+1)*w)`` (w = (stop-start)/n_columns; at
    least one sample per column, so zoomed in beyond one sample per column a column shows
    its nearest sample). Samples outside the recording count as silence (0).
    """
    x = np.asarray(x, dtype=np.float64)
    if n_columns < 1:
        raise ValueError(f"envelope: n_columns={n_columns} must be >= 1")
    stop = float(len(x)) if stop is None else float(stop)
    if not stop > start:
        raise ValueError(f"envelope: stop={stop} must be > start={start}")
    edges = start + (stop - start) * np.arange(n_columns + 1) / n_columns
    lo = np.floor(edges[:-1]).astype(np.int64)
    hi = np.maximum(lo + 1, np.floor(edges[1:]).astype(np.int64))
    first, last = int(lo[0]), int(hi[-1])
    region = np.zeros(last - first)
    a, b = max(first, 0), min(last, len(x))
    if b > a:
        region[a - first:b - first] = x[a:b]
    starts = lo - first
    out = np.empty((n_columns, 2))
    out[:, 0] = np.minimum.reduceat(region, starts)
    out[:, 1] = np.maximum.reduceat(region, starts)
    # reduceat gives x[s] alone where the next start equals s: exactly the one-sample columns
    return out


@dataclass(frozen=True)
class View:
    """The stretch of a recording on screen: ``lo_ms`` to ``hi_ms`` from the flip."""
    lo_ms: float
    hi_ms: float

    @property
    def span_ms(self) -> float:
        return self.hi_ms - self.lo_ms

    def x_of(self, ms: float, left: float, width: float) -> float:
        """Screen x (same units as ``left``/``width``) of a time in ms."""
        return left + (ms - self.lo_ms) / self.span_ms * width

    def ms_of(self, x: float, left: float, width: float) -> float:
        return self.lo_ms + (x - left) / width * self.span_ms

    def contains(self, ms: float) -> bool:
        return self.lo_ms <= ms <= self.hi_ms


def full_view(n_samples: int, timing: AudioTiming) -> View:
    """The whole recording."""
    return View(timing.ms_of_index(0), timing.ms_of_index(max(n_samples, 1)))


def zoom_view(centre_ms: float, n_samples: int, timing: AudioTiming,
              half_ms: float = ZOOM_HALF_MS) -> View:
    """``centre_ms`` +- ``half_ms``, shifted to lie inside the recording when it is long enough."""
    whole = full_view(n_samples, timing)
    lo, hi = centre_ms - half_ms, centre_ms + half_ms
    if whole.span_ms >= 2 * half_ms:
        if lo < whole.lo_ms:
            lo, hi = whole.lo_ms, whole.lo_ms + 2 * half_ms
        elif hi > whole.hi_ms:
            lo, hi = whole.hi_ms - 2 * half_ms, whole.hi_ms
    return View(lo, hi)


def view_envelope(x: np.ndarray, timing: AudioTiming, view: View, n_columns: int) -> np.ndarray:
    """:func:`envelope` of the samples shown in ``view``, shape (n_columns, 2)."""
    return envelope(x, n_columns, timing.index_of_ms(view.lo_ms), timing.index_of_ms(view.hi_ms))


def tick_times_ms(view: View, max_ticks: int = 12) -> list[float]:
    """Round times (1, 2 or 5 x 10^k ms apart) inside ``view`` for the time axis, at most ``max_ticks``."""
    raw = view.span_ms / max(max_ticks - 1, 1)
    step = None
    for power in range(-1, 7):
        for mult in (1, 2, 5):
            candidate = mult * 10.0 ** power
            if candidate >= raw:
                step = candidate
                break
        if step is not None:
            break
    step = step or 10.0 ** 7
    first = math.ceil(view.lo_ms / step - 1e-9)
    last = math.floor(view.hi_ms / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def stimulus_look(files: SessionFiles) -> tuple[dict[str, tuple[int, int, int]], tuple[int, int, int], str]:
    """(ink name -> RGB 0-255, background RGB, font) as the participant saw the words.

    Inks from ``colours.toml`` of the session's stimuli folder (``experiment.stimuli_dir``,
    default ``stimuli/``); background and font from the session's saved config
    (``<stem>_config.toml``) when it is there, else black and Arial.
    """
    background, font, folder = (0, 0, 0), "Arial", ""
    try:
        with open(files.config, "rb") as fh:
            saved = tomllib.load(fh)
        folder = str(saved.get("experiment", {}).get("stimuli_dir", ""))
        display = saved.get("display", {})
        background = tuple(int(v) for v in display.get("background", background))
        font = str(display.get("font", font))
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError, AttributeError):
        pass
    with open(stimuli_folder(folder or "stimuli") / "colours.toml", "rb") as fh:
        rgb = {name: tuple(int(v) for v in t["rgb"]) for name, t in tomllib.load(fh).items()}
    return rgb, background, font


__all__ = ["CODES", "CODER_COLUMNS", "CodeRecord", "CoderFile", "CodingError", "CodingSession",
           "CodingTrial", "AudioTiming", "SessionFiles", "View", "check_coder", "coding_path",
           "locate_session", "load_session", "load_audio", "read_codes", "latest_codes",
           "first_uncoded", "uncoded", "start_index", "next_index", "envelope", "view_envelope",
           "full_view", "zoom_view", "tick_times_ms", "ms_from_index", "index_from_ms",
           "clamp_onset_ms", "MIN_ONSET_MS",
           "onset_moved", "format_ms", "stimulus_look"]
