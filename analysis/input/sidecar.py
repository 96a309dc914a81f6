"""A trial file against its session's sidecar (``<stem>_session.json``, ``data/README.md``).

The experiment writes the sidecar next to the trial file and, at the session's end, the
sha256 of its data files (key ``sha256``: file name → hex digest). :func:`sidecar_problems`
checks that the trial file's session columns agree with the sidecar and that the trial and
block files are byte for byte what the session wrote. A file edited afterwards is an error,
or with ``accept_edited`` a note for the report. A trial file without a sidecar (copied
alone, or from another lab) is not checked here. Files are only read.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

SIDECAR_SUFFIX = "_session.json"


def sidecar_of(trials_path: Path, trials_suffix: str) -> Path:
    """``<stem>_session.json`` beside ``<stem>_trials.csv``."""
    return trials_path.with_name(trials_path.name[: -len(trials_suffix)] + SIDECAR_SUFFIX)


#: sidecar key → (what its value must be, the check)
_KEY_TYPES = {
    **{k: ("a string", lambda v: isinstance(v, str)) for k in ("participant", "experiment", "date")},
    **{k: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
       for k in ("session", "seed")},
    "simulated": ("true or false", lambda v: isinstance(v, bool)),
    "condition_order": ("a list of condition names",
                        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v)),
    "sha256": ("a table of file name to hex digest",
               lambda v: isinstance(v, dict) and all(isinstance(h, str) for h in v.values())),
}


def _type_problem(sidecar: dict) -> str | None:
    """Which key of ``sidecar`` holds a value of the wrong type, or None."""
    for key, (what, ok) in _KEY_TYPES.items():
        if key in sidecar and not ok(sidecar[key]):
            return f"key {key} = {sidecar[key]!r:.40} is not {what}"
    return None


def _expected(sidecar: dict) -> dict[str, object]:
    """The trial-file values the sidecar implies (column → value as the typed frame holds it);
    ``sidecar`` has passed :func:`_type_problem`."""
    out: dict[str, object] = {k: sidecar[k] for k in ("participant", "experiment", "date",
                                                      "session", "seed") if k in sidecar}
    if "simulated" in sidecar:
        out["simulated"] = int(sidecar["simulated"])
    if "condition_order" in sidecar:
        out["condition_order"] = "-".join(sidecar["condition_order"])
    return out


def sidecar_problems(t: pd.DataFrame, paths: list[Path], wheres: list[str],
                     data: dict[int, dict[str, bytes]], trials_suffix: str,
                     accept_edited: bool, notes: list[str],
                     without_rows: tuple[int, ...] = ()) -> dict[int, str]:
    """Per file index whose sidecar contradicts it, a one-line message; edits accepted with
    ``accept_edited`` go to ``notes`` instead.

    ``t``: typed trial rows (``_file`` index into ``paths``); ``data``: per file index the
    bytes read of its files, by file name (the trial file and, if read, its blocks file).
    ``without_rows``: indices of accepted files that hold no trial (a header only), whose
    hashes are checked all the same."""
    out: dict[int, str] = {}
    first_rows = t.drop_duplicates("_file").set_index("_file")
    files = [(int(i), row) for i, row in first_rows.iterrows()]
    for i in sorted(set(without_rows) - set(first_rows.index)):
        files.append((i, None))
    for i, row in files:
        path = sidecar_of(paths[i], trials_suffix)
        if not path.is_file():
            continue
        try:
            sidecar = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            out[i] = f"{path}: not a readable sidecar ({e}); restore it or move it away"
            continue
        if not isinstance(sidecar, dict):
            out[i] = f"{path}: not a sidecar (not a JSON object); restore it or move it away"
            continue
        wrong = _type_problem(sidecar)
        if wrong is not None:
            out[i] = f"{path}: not a sidecar as data/README.md gives it ({wrong}); restore it"
            continue
        for col, value in (_expected(sidecar).items() if row is not None else ()):
            cell = row[col].item() if hasattr(row[col], "item") else row[col]
            if cell != value:
                out[i] = (f"{wheres[i]}: row 1: column {col} = {cell!r} differs from its "
                          f"sidecar {path.name} ({value!r}); the files are of different sessions")
                break
        if i in out:
            continue
        hashes = sidecar.get("sha256")
        if not isinstance(hashes, dict):
            continue
        for name, raw in data.get(i, {}).items():
            recorded = hashes.get(name)
            if recorded is None or hashlib.sha256(raw).hexdigest() == recorded:
                continue
            what = (f"{paths[i].with_name(name)}: edited after the session (its sha256 differs "
                    f"from the one {path.name} recorded at the session's end)")
            if accept_edited:
                notes.append(f"{what}; analysed as it is now (--accept-edited)")
            else:
                out[i] = (f"{what}; restore the original, or pass --accept-edited to analyse "
                          f"it as it is")
                break
    return out
