"""Each trial file's internal consistency: what the codebook (``data/README.md``) implies
beyond the type and range of single cells.

The loader (:mod:`analysis.input.loader`) calls :func:`consistency_problems` on the typed rows of
every file that passed the cell checks. A file breaks a rule when:

- a text cell holds a control character or a byte-order mark, or is longer than
  :data:`MAX_CELL_CHARS` characters;
- its rows do not all carry the same participant, session, experiment, date, seed,
  simulated flag, condition order and response device (one session per file);
- ``run`` decreases from one row to the next, or ``trial_in_session`` is not 1, 2, 3, …
  in file order (each run continues where the last one stopped);
- a planned trial (``is_practice``, ``block``, ``trial_in_block``) appears twice, or a
  trial's predecessor in its block is missing (trials are saved in order);
- ``prev_congruency`` is not empty on a block's first trial, or is not the congruency of
  the block's previous trial;
- ``congruency`` does not follow from ``word_colour`` and ``ink`` (congruent: the same
  colour; neutral: no colour word; incongruent: another colour);
- on keyboard and button trials, ``timeout`` is not 1 exactly when ``response`` is empty,
  or ``correct`` is not 1 exactly when ``response`` = ``correct_response``.

Each problem is one line naming the file, row, column and rule. No file is read here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Longest text cell (characters); the longest the experiment writes are file names (~100).
MAX_CELL_CHARS = 512
#: Columns that are the same in every row of a session's file.
SESSION_COLUMNS = ("participant", "session", "experiment", "date", "seed", "simulated",
                   "condition_order", "response_device")
_CONTROL = r"[\x00-\x1f\x7f\ufeff\u2028\u2029]"
_TRIAL_KEY = ["_file", "is_practice", "block", "trial_in_block"]


def consistency_problems(t: pd.DataFrame, wheres: list[str],
                         text_columns: tuple[str, ...]) -> dict[int, str]:
    """Per file index (``t['_file']``) that breaks a rule, the message of its first bad row.

    ``t``: typed trial rows of many files in file order (``_file``: index into ``wheres``,
    ``_row``: 1-based row in its file), codebook columns. ``text_columns``: the string
    columns whose cells are checked for control characters and length.
    """
    if t.empty:
        return {}
    t = t.reset_index(drop=True)
    checks: list[tuple[np.ndarray, str, str]] = []   # (bad-row mask, column, rule)
    for col in text_columns:
        s = t[col]
        checks.append((s.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool), col,
                       "holds a control character or byte-order mark"))
        checks.append(((s.str.len() > MAX_CELL_CHARS).to_numpy(dtype=bool), col,
                       f"is longer than {MAX_CELL_CHARS} characters"))
    first = t.groupby("_file", sort=False)[list(SESSION_COLUMNS)].transform("first")
    for col in SESSION_COLUMNS:
        checks.append(((t[col] != first[col]).to_numpy(), col,
                       "differs from the file's first row (one participant and session per file)"))
    checks += _order_checks(t)
    checks += _plan_checks(t)
    checks += _response_checks(t)
    return _first_messages(t, wheres, checks)


def _order_checks(t: pd.DataFrame) -> list[tuple[np.ndarray, str, str]]:
    new_file = (t["_file"] != t["_file"].shift()).to_numpy()
    prev_tis = t["trial_in_session"].shift().fillna(0).to_numpy()
    prev_run = t["run"].shift().fillna(0).to_numpy()
    expected = np.where(new_file, 1, prev_tis + 1)
    return [
        (t["trial_in_session"].to_numpy() != expected, "trial_in_session",
         "must count 1, 2, 3, … in file order (a trial is missing, repeated or moved)"),
        (~new_file & (t["run"].to_numpy() < prev_run), "run",
         "is lower than the run of the row before (runs follow each other)"),
    ]


def _plan_checks(t: pd.DataFrame) -> list[tuple[np.ndarray, str, str]]:
    twice = t.duplicated(_TRIAL_KEY, keep="first").to_numpy()
    prev = t[_TRIAL_KEY + ["congruency"]].drop_duplicates(_TRIAL_KEY).copy()
    prev["trial_in_block"] += 1
    prev = prev.rename(columns={"congruency": "_prev_congruency"})
    merged = t[_TRIAL_KEY].merge(prev, on=_TRIAL_KEY, how="left")
    has_prev = merged["_prev_congruency"].notna().to_numpy()
    first_in_block = (t["trial_in_block"] == 1).to_numpy()
    pc = t["prev_congruency"].to_numpy()
    wc, ink, cong = t["word_colour"], t["ink"], t["congruency"]
    expected_cong = np.where(wc == "", "neutral", np.where(wc == ink, "congruent", "incongruent"))
    return [
        (twice, "trial_in_block",
         "repeats a planned trial (is_practice, block, trial_in_block) of an earlier row"),
        (~first_in_block & ~has_prev, "trial_in_block",
         "has no row for the block's previous trial (trials are saved in order)"),
        (first_in_block & (pc != ""), "prev_congruency", "must be empty on a block's first trial"),
        (~first_in_block & has_prev & (pc != merged["_prev_congruency"].fillna("").to_numpy()),
         "prev_congruency", "is not the congruency of the block's previous trial"),
        (cong.to_numpy() != expected_cong, "congruency",
         "does not follow from word_colour and ink (same colour: congruent; no colour word: "
         "neutral; another colour: incongruent)"),
    ]


def _response_checks(t: pd.DataFrame) -> list[tuple[np.ndarray, str, str]]:
    auto = (t["response_device"] != "voice").to_numpy()
    no_response = (t["response"] == "").to_numpy()
    timeout = (t["timeout"] == 1).to_numpy()
    matches = (t["response"] == t["correct_response"]).to_numpy() & ~no_response
    return [
        (auto & (timeout != no_response), "timeout",
         "must be 1 exactly when response is empty (keyboard and button trials)"),
        (auto & ((t["correct"] == 1).to_numpy() != matches), "correct",
         "must be 1 exactly when response = correct_response (keyboard and button trials)"),
    ]


def _first_messages(t: pd.DataFrame, wheres: list[str],
                    checks: list[tuple[np.ndarray, str, str]]) -> dict[int, str]:
    """The message of each file's first bad row (earliest row; ties: the first check)."""
    fidx, rows = t["_file"].to_numpy(), t["_row"].to_numpy()
    first: dict[int, tuple[int, str]] = {}
    for mask, col, rule in checks:
        pos = np.flatnonzero(mask)
        if pos.size == 0:
            continue
        _, at = np.unique(fidx[pos], return_index=True)
        for p in pos[at]:
            f, r = int(fidx[p]), int(rows[p])
            if f not in first or r < first[f][0]:
                value = t[col].iat[p]
                value = value.item() if isinstance(value, np.generic) else value
                shown = repr(value if len(str(value)) <= 40 else f"{str(value)[:40]}…")
                first[f] = (r, f"{wheres[f]}: row {r}: column {col} = {shown} {rule}")
    return {f: m for f, (_, m) in first.items()}
