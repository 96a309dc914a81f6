"""The analysis output folder (``--out``), written so that nothing is lost.

The analysis writes into a fresh folder beside ``--out`` (``.<name>.partial-XXXX``); only
when every table, figure and the report are there does :func:`publish` put it in place of
``--out`` with one atomic exchange of the two folders (Linux ``renameat2``; elsewhere two
renames). A run killed at any instant leaves the previous output complete.

``--out`` holds a manifest (:data:`MANIFEST`) listing the files this tool wrote and their
sha256. A file there that the manifest does not list (the user's own notes or tables) is
kept: it is carried into the new output by a hard link (or a copy). An existing ``--out``
without a manifest is refused unless it is empty or ``force`` is given (then its files are
kept too, except those with the names of this run's outputs, which are replaced).

An ``--out`` that is a symbolic link to a folder is written through: the folder it points
to is the one replaced (the link itself is never touched).
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

MANIFEST = "analysis-manifest.json"
_PID_MARK = ".partial-pid"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(ValueError):
    """``--out`` cannot be used; the message is one line."""


def _manifest_files(out: Path) -> set[str] | None:
    """The files the manifest in ``out`` lists (POSIX paths), or None without a manifest."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return set(listed) if isinstance(listed, dict) else None


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() or p.is_symlink())


def output_folder(out: Path) -> Path:
    """The folder ``--out`` names: ``out`` itself, or the folder a symbolic link ``out``
    points to (OutputError for a link to nothing)."""
    out = Path(out)
    if not out.is_symlink():
        return out
    target = out.resolve()
    if not target.exists():
        raise OutputError(f"--out {out} is a link to {target}, which does not exist; create "
                          f"that folder or name another one")
    return target


def staging_folder(out: Path, force: bool = False) -> Path:
    """Check ``out`` and create the empty folder beside it that this run writes into
    (beside the folder a link ``out`` points to).

    OutputError if ``out`` is a file, cannot be written beside, or holds files this tool
    did not write (no manifest) and ``force`` is not given."""
    out = output_folder(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; name a folder for the results")
    if out.is_dir() and _manifest_files(out) is None and not force:
        try:
            foreign = any(out.iterdir())
        except OSError as e:
            raise OutputError(f"--out {out} cannot be read ({e.strerror}); choose another "
                              f"folder") from None
        if foreign:
            raise OutputError(f"--out {out} holds files this analysis did not write (no "
                              f"{MANIFEST}); choose a new folder, or pass --force to add the "
                              f"results to it (same-named files are replaced, others kept)")
    parent = out.absolute().parent
    _remove_abandoned(parent, out.name)
    staging = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        (staging / _PID_MARK).write_text(str(os.getpid()))
    except OSError as e:
        if staging is not None:
            discard(staging)
        raise OutputError(f"--out {out}: cannot write in {parent} ({e.strerror}); choose a "
                          f"folder you can write to") from None
    return staging


def discard(staging: Path) -> None:
    """Remove a staging folder this run created (the analysis failed before publishing)."""
    shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path) -> list[str]:
    """Put the finished ``staging`` folder in place of ``out``; returns the files written.

    The manifest is written last into ``staging``; the user's files in ``out`` are linked
    into it; then the folders are exchanged and the previous output removed (only what
    this tool wrote, and the links to the user's files, which live on in ``out``)."""
    out = output_folder(out)
    (staging / _PID_MARK).unlink(missing_ok=True)
    written = _files(staging)
    kept = _carry_over(out, staging, set(written)) if out.is_dir() else []
    manifest = {"tool": "stroop-walk analysis (python -m analysis)",
                "files": {f: hashlib.sha256((staging / f).read_bytes()).hexdigest()
                          for f in written}}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                    encoding="utf-8")
    if not out.exists():
        os.rename(staging, out)
        return written
    _exchange(staging, out)
    (staging / _PID_MARK).write_text("0")   # the previous output: abandoned, ours to remove
    _remove_previous(staging, kept)
    return written


def _carry_over(out: Path, staging: Path, written: set[str]) -> list[str]:
    """Link (or copy) into ``staging`` every file of ``out`` this tool did not write."""
    ours = _manifest_files(out)
    kept = []
    for rel in _files(out):
        if rel == MANIFEST or (ours is not None and rel in ours):
            continue
        if rel in written:
            if ours is not None:
                raise OutputError(f"{out / rel} was not written by this analysis, and this run "
                                  f"writes a file of that name; move it away and run again")
            continue  # --force into a foreign folder: replaced
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(out / rel, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(out / rel, target, follow_symlinks=False)
        kept.append(rel)
    return kept


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically where the OS can (Linux renameat2), else by two renames."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return
    aside = Path(tempfile.mkdtemp(prefix=f".{b.name}.previous-", dir=b.absolute().parent))
    aside.rmdir()
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def _remove_previous(folder: Path, kept: list[str]) -> None:
    """Delete a previous output moved aside: the files its manifest lists, its manifest and
    the links of the user's files carried over; then its empty folders."""
    listed = _manifest_files(folder) or set()
    for rel in sorted(listed | set(kept) | {MANIFEST, _PID_MARK}):
        p = folder / rel
        if p.is_file() or p.is_symlink():
            p.unlink()
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _remove_abandoned(parent: Path, name: str) -> None:
    """Remove staging folders of earlier runs for ``name`` that were killed (their process
    is gone); they hold only what those runs wrote."""
    if not parent.is_dir():
        return
    for d in parent.glob(f".{name}.partial-*"):
        try:
            pid = int((d / _PID_MARK).read_text())
        except (OSError, ValueError):
            continue
        if pid and _alive(pid):
            continue
        shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
