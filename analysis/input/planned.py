"""Trial rows against their session's plan (``<stem>_plan.csv``, ``data/README.md``).

The experiment writes every planned trial to the plan file once, at the session's start; a
trial row saves one of them as it ran. :func:`plan_problems` checks that each row's
(``is_practice``, ``block``, ``trial_in_block``) is a planned trial and that its condition,
block_in_condition, word, word_colour, ink, congruency, prev_congruency, correct response
(the plan's ``correct_key``) and ``iti_s`` are the planned ones. A session without a plan
file (copied alone, or from an older version) is not checked here. Files are only read.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

PLAN_SUFFIX = "_plan.csv"
_KEY = ["is_practice", "block", "trial_in_block"]
#: trial column -> plan column, compared as text
_TEXT = {"condition": "condition", "word": "word", "word_colour": "word_colour", "ink": "ink",
         "congruency": "congruency", "prev_congruency": "prev_congruency",
         "correct_response": "correct_key"}


def plan_of(trials_path: Path, trials_suffix: str) -> Path:
    """``<stem>_plan.csv`` beside ``<stem>_trials.csv``."""
    return trials_path.with_name(trials_path.name[: -len(trials_suffix)] + PLAN_SUFFIX)


def _planned(path: Path) -> pd.DataFrame | str:
    """The plan file's rows (key columns as ints, ``block_in_condition`` int, ``iti_s``
    float, the others text), or why it cannot be read."""
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"),
                                               newline="")))
        p = pd.DataFrame(rows, dtype=object)
        for col in _KEY + ["block_in_condition"]:
            p[col] = p[col].astype("int64")
        p["iti_s"] = p["iti_s"].astype("float64")
        return p[_KEY + ["block_in_condition", "iti_s", *_TEXT.values()]]
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, ValueError, TypeError) as e:
        return f"{path}: not a readable plan file ({type(e).__name__}: {e}); restore it"


def plan_problems(t: pd.DataFrame, paths: list[Path], wheres: list[str],
                  trials_suffix: str) -> dict[int, str]:
    """Per file index (``t['_file']`` into ``paths``) whose rows are not its plan's trials,
    one line naming the file, row, column and rule. ``t``: typed trial rows with ``_row``."""
    out: dict[int, str] = {}
    for i, rows in t.groupby("_file", sort=True):
        i = int(i)
        path = plan_of(paths[i], trials_suffix)
        if not path.is_file():
            continue
        plan = _planned(path)
        if isinstance(plan, str):
            out[i] = plan
            continue
        plan = plan.drop_duplicates(_KEY)
        m = rows[_KEY + ["_row", "block_in_condition", "iti_s", *_TEXT]].merge(
            plan, on=_KEY, how="left", suffixes=("", "_plan"), indicator=True)
        checks = [(m["_merge"].to_numpy() == "left_only", "trial_in_block",
                   "is not a trial of the session's plan (is_practice, block, trial_in_block)")]
        planned = m["_merge"].to_numpy() == "both"
        for col, pcol in (*_TEXT.items(), ("block_in_condition", "block_in_condition")):
            other = f"{pcol}_plan" if f"{pcol}_plan" in m else pcol
            checks.append((planned & (m[col].to_numpy() != m[other].to_numpy()), col,
                           f"is not the planned trial's ({path.name})"))
        checks.append((planned & ~np.isclose(m["iti_s"].to_numpy(dtype=float),
                                             m["iti_s_plan"].to_numpy(dtype=float),
                                             rtol=0, atol=1e-6), "iti_s",
                       f"is not the planned trial's ({path.name})"))
        first = None
        for mask, col, rule in checks:
            pos = np.flatnonzero(mask)
            if pos.size and (first is None or int(m["_row"].iat[pos[0]]) < first[0]):
                value = m[col].iat[pos[0]]
                value = value.item() if isinstance(value, np.generic) else value
                row = int(m["_row"].iat[pos[0]])
                first = (row, f"{wheres[i]}: row {row}: column {col} = {value!r} {rule}")
        if first is not None:
            out[i] = first[1]
    return out
