"""Crash-safe session files: append-only CSVs fsynced row by row, and an atomically replaced JSON sidecar.

A kill at any instant leaves every file valid: a CSV holds every row whose ``append``
returned (a torn last line, possible only on power loss, is cut off when the file is
reopened), and the sidecar is always either the old or the new version. No PsychoPy import.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import time
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

TRIALS_SUFFIX = "_trials.csv"
BLOCKS_SUFFIX = "_blocks.csv"
SIDECAR_SUFFIX = "_session.json"
CONFIG_SUFFIX = "_config.toml"
PLAN_SUFFIX = "_plan.csv"
LOG_SUFFIX = ".log"



def now_iso() -> str:
    """Local time now, ISO 8601 with the UTC offset and milliseconds (the files' timestamps)."""
    return _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")

class DataFileError(RuntimeError):
    """A session file exists but cannot be continued (one-line message)."""


class DiskFullError(DataFileError):
    """A session file could not be written (disk full, read-only, I/O error); what was
    saved before is intact and the file ends on a complete row (one-line message)."""


def fsync_dir(path: Path) -> None:
    """Make a file's creation or rename in ``path`` durable (fsync the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # a numpy scalar: written as the Python number it holds
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


def write_all(fd: int, data: bytes, path: Path) -> None:
    """Append ``data`` to the file open as ``fd`` and fsync it, or leave the file as it was.

    A failed write (disk full, quota, I/O error) cuts the file back to its old length, so no
    torn row is left behind, and raises :class:`DiskFullError` naming ``path``.
    """
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError as exc:
        try:
            os.ftruncate(fd, size)
        except OSError:
            pass
        raise DiskFullError(f"cannot write {path} ({exc.strerror}); everything saved before "
                            "is kept") from None


class CsvAppender:
    """An append-only CSV file with a fixed header; each :meth:`append` is flushed and fsynced."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists() and self.path.stat().st_size > 0
        if existed:
            self._check_and_repair()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if not existed:
            self._write_line(self.columns)
            fsync_dir(self.path.parent)

    def _check_and_repair(self) -> None:
        with open(self.path, "rb+") as fh:
            data = fh.read()
            header = data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
            if tuple(next(csv.reader([header]))) != self.columns:
                raise DataFileError(f"{self.path}: its columns differ from this version's; "
                                    "move the file away or continue with the version that wrote it")
            if not data.endswith(b"\n"):  # torn last row (power loss): cut it off
                fh.truncate(data.rfind(b"\n") + 1)

    def _write_line(self, values: Sequence[Any]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        write_all(self._fd, buf.getvalue().encode("utf-8"), self.path)  # one write() per row

    def append(self, record: Any) -> float:
        """Write one row (a dataclass or a mapping with every column); returns the seconds it took."""
        start = time.perf_counter()
        row = asdict(record) if is_dataclass(record) else dict(record)
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise KeyError(f"row lacks columns {missing}")
        self._write_line([_cell(row[c]) for c in self.columns])
        return time.perf_counter() - start

    def append_rows(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Write many rows (mappings with every column) with one write and one fsync."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for row in records:
            writer.writerow([_cell(row[c]) for c in self.columns])
        write_all(self._fd, buf.getvalue().encode("utf-8"), self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "CsvAppender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by :class:`CsvAppender` (complete lines only), as strings."""
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


def write_json_atomic(path: Path, obj: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``obj`` as JSON so that a kill leaves the old or the new file, never half.

    A failed write (disk full) leaves the old file and raises :class:`DiskFullError`.
    """
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    write_bytes_atomic(Path(path), text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (written to ``<path>.tmp``, fsynced, renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError as exc:
        raise DiskFullError(f"cannot write {path} ({exc.strerror}); the previous version is "
                            "kept") from None
    try:
        write_all(fd, data, tmp)
    except DiskFullError:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise DiskFullError(f"cannot write {path} (no space left on device or I/O error); "
                            "the previous version is kept") from None
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


@dataclass(frozen=True)
class SessionPaths:
    """The files of one participant's session: ``<data>/<participant>/<stem><suffix>``."""
    folder: Path
    stem: str  # '<participant>_<experiment>_s<session>_<date>' (PsychoPy's naming plus session)

    def file(self, suffix: str) -> Path:
        return self.folder / f"{self.stem}{suffix}"

    @property
    def trials(self) -> Path:
        return self.file(TRIALS_SUFFIX)

    @property
    def blocks(self) -> Path:
        return self.file(BLOCKS_SUFFIX)

    @property
    def sidecar(self) -> Path:
        return self.file(SIDECAR_SUFFIX)

    @property
    def config(self) -> Path:
        return self.file(CONFIG_SUFFIX)

    @property
    def plan(self) -> Path:
        return self.file(PLAN_SUFFIX)

    @property
    def log(self) -> Path:
        return self.file(LOG_SUFFIX)


def new_session_paths(data_dir: Path, participant: str, experiment: str, session: int,
                      date: str) -> SessionPaths:
    return SessionPaths(Path(data_dir) / participant, f"{participant}_{experiment}_s{session}_{date}")


def existing_session_paths(data_dir: Path, participant: str, experiment: str,
                           session: int) -> SessionPaths | None:
    """The files of an earlier start of this participant's session, or None."""
    folder = Path(data_dir) / participant
    found = sorted(folder.glob(f"{participant}_{experiment}_s{session}_*{SIDECAR_SUFFIX}"))
    if not found:
        return None
    if len(found) > 1:
        raise DataFileError(f"{folder} holds {len(found)} sidecars for session {session}; "
                            "keep one and move the others away")
    return SessionPaths(folder, found[0].name[: -len(SIDECAR_SUFFIX)])


def read_json(path: Path) -> dict[str, Any]:
    """A sidecar's content; DataFileError (one line) if it is unreadable or not a JSON object."""
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise DataFileError(f"{path}: not a valid sidecar ({exc}); restore it from a backup "
                            "or move the session's files away") from None
    if not isinstance(obj, dict):
        raise DataFileError(f"{path}: not a valid sidecar (not a JSON object)")
    return obj
