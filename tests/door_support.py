"""Shared helpers of the bad-input catalogue, the loader fuzz test and the kill tests:
file-tree digests, cell edits of trial files, sidecars, small tmpfs mounts and sessions
recorded without a window."""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

SIDECAR_KEYS = ("participant", "session", "experiment", "date", "seed", "simulated")


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder`` (relative POSIX path -> hex)."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    if folder.is_file():
        return {folder.name: hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + rows)
    Path(path).write_text(buf.getvalue(), encoding="utf-8")


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (``row`` 1-based, the header not counted)."""
    header, rows = read_table(path)
    rows[row - 1][header.index(column)] = value
    write_table(path, header, rows)


def first_row(path: Path, **where: str) -> int:
    """The 1-based number of the first row whose cells equal ``where`` (or != for '!x')."""
    header, rows = read_table(path)
    for n, row in enumerate(rows, start=1):
        if all((row[header.index(k)] != v[1:]) if v.startswith("!") else
               (row[header.index(k)] == v) for k, v in where.items()):
            return n
    raise LookupError(where)


def write_sidecar(trials_path: Path, **changes) -> Path:
    """A sidecar as the experiment writes it at the session's end, with the sha256 of the
    trial file and (if present) the blocks file; ``changes`` override keys."""
    header, rows = read_table(trials_path)
    first = dict(zip(header, rows[0]))
    stem = trials_path.name[: -len("_trials.csv")]
    blocks = trials_path.with_name(f"{stem}_blocks.csv")
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (trials_path, blocks) if p.exists()}
    sidecar = {"participant": first["participant"], "session": int(first["session"]),
               "experiment": first["experiment"], "date": first["date"],
               "seed": int(first["seed"]), "simulated": first["simulated"] == "1",
               "condition_order": first["condition_order"].split("-"), "status": "complete",
               "sha256": hashes}
    sidecar.update(changes)
    path = trials_path.with_name(f"{stem}_session.json")
    path.write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
    return path


def assert_one_line_refusal(code: int, err: str, expected_code: int, expected: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{err}"
    assert code == expected_code, (code, err)
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m"):
    """A small tmpfs mounted at ``path`` (root only; skips the test elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def fill(path: Path) -> None:
    """Fill the file system of ``path`` to the last byte."""
    for name, chunk in (("filler", 4096), ("filler2", 1)):
        with open(path / name, "wb", buffering=0) as fh:
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * chunk)

