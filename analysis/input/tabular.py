"""Read another lab's trial-level tables through a column mapping (``--columns``).

:func:`load_tables` reads one file or every file under a folder that matches the mapping's
``input.files`` patterns (CSV or TSV: PsychoPy Builder's ``.csv``, BIDS ``_beh.tsv`` /
``_events.tsv``, any tidy table), takes each role from its column (or the file name) and
returns the trials in the analysis's own columns (:class:`analysis.input.loader.LoadedData`):
``participant`` (str), ``session`` (int), ``block`` and ``trial_in_block`` (int ≥ 1, in
presentation order: blocks numbered by first appearance, trials by the mapping's trial
column or else the row order), ``trial_in_session``, ``is_practice`` (0/1), ``rt_ms``
(float, **milliseconds**, NaN without a response), ``correct`` (0/1), ``timeout`` (1 when the
RT cell is missing), one column per mapped factor (text), and what the report needs:
``condition_order``, ``block_in_condition``, ``simulated`` (0), ``rt_source``
(``imported``), ``response_device`` and ``accuracy_code`` (``auto``), ``source_file`` and
``source_row`` (the 1-based data row of the file). Files are only read. A bad cell raises
:class:`analysis.input.loader.DataError` naming the file, row, column and value; so do RTs
that the mapping's unit makes implausible (over 60 s, or a file whose median RT is under
:data:`MIN_MEDIAN_RT_MS`: seconds read as ms) and a
factor value that the plan's ``[design.levels]`` does not list.
"""
from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.input.codebook import MAX_WINDOW_MS
from analysis.input.loader import (DataError, InputFile, LoadedData, SkippedFile, sha256_of,
                                   utf8_text)
from analysis.input.mapping import DEFAULT_ACCURACY, DELIMITERS, RT_UNITS, Mapping, Source

IMPORTED = "imported"
#: A file whose median RT (ms, after the mapping's unit) is below this holds seconds read as
#: milliseconds: no choice-RT task has a median response under 50 ms.
MIN_MEDIAN_RT_MS = 50.0
SORT_KEYS = ["participant", "session", "trial_in_session"]


def table_files(data: Path, mapping: Mapping) -> list[Path]:
    """``data`` itself (a file) or the files under it matching ``mapping.files``, sorted."""
    if data.is_file():
        return [data]
    if not data.is_dir():
        raise DataError(f"{data}: no such file or folder; pass --data with the table(s) to "
                        f"read")
    found = sorted({p for pat in mapping.files for p in data.rglob(pat) if p.is_file()})
    if not found:
        raise DataError(f"{data}: no file matches {', '.join(mapping.files)} (mapping key "
                        f"input.files; searched recursively)")
    return found


def _delimiter(path: Path, text: str, mapping: Mapping) -> str:
    if mapping.delimiter != "auto":
        return DELIMITERS[mapping.delimiter]
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def read_table(path: Path, mapping: Mapping) -> tuple[pd.DataFrame, bytes]:
    """The cells of one file as text ('' for missing cells, the mapping's ``missing`` words
    included), with ``_row`` (1-based data row), and the file's bytes."""
    raw = path.read_bytes()
    text = utf8_text(raw, str(path), "save the table as UTF-8 CSV/TSV")
    sep = _delimiter(path, text, mapping)
    try:
        with warnings.catch_warnings():
            # a first row longer than the header: pandas would take its first field as
            # an index and shift every value one column to the left
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                             skip_blank_lines=True, index_col=False)
    except pd.errors.ParserWarning:
        raise DataError(f"{path}: row 1 has more fields than the header (line 1) has "
                        f"columns") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(f"{path}: not a {'tab' if sep == chr(9) else repr(sep)}-separated "
                        f"table ({str(e).splitlines()[0]})") from None
    dup = sorted({c for c in df.columns if re.fullmatch(r".+\.\d+", c) and
                  re.sub(r"\.\d+$", "", c) in df.columns})
    if dup:
        raise DataError(f"{path}: line 1 (header) repeats column {re.sub(r'.[0-9]+$', '', dup[0])!r}")
    df = df.apply(lambda s: s.str.strip()).replace(list(mapping.missing), "")
    df["_row"] = np.arange(1, len(df) + 1)
    return df, raw


def _cells(df: pd.DataFrame, src: Source, path: Path) -> pd.Series:
    """One role's text per row: its column, or the file name's match."""
    if src.filename:
        m = re.search(src.filename, path.name)
        if not m:
            raise DataError(f"{path}: the file name does not match {src.key}.filename = "
                            f"{src.filename!r}")
        return pd.Series(m.group(1), index=df.index)
    if src.column not in df.columns:
        shown = ", ".join(c for c in df.columns[:12] if c != "_row")
        raise DataError(f"{path}: no column {src.column!r} (mapping {src.key}); its columns: "
                        f"{shown}{' …' if len(df.columns) > 13 else ''}")
    return df[src.column]


def _fail(path: Path, df: pd.DataFrame, bad: pd.Series, src: Source, what: str,
          cells: pd.Series) -> None:
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise DataError(f"{path}: row {int(df['_row'].iat[i])}: {src.where()} "
                        f"({src.key}) = {cells.iat[i]!r} {what}")


def _mapped(df: pd.DataFrame, src: Source, path: Path, default: dict | None = None,
            empty_ok: bool = False) -> pd.Series:
    """The role's cells through its ``values`` table (or ``default``); an unmapped value is
    an error naming file, row, column and value."""
    cells = _cells(df, src, path)
    if not empty_ok:
        _fail(path, df, cells == "", src, "is empty", cells)
    table = src.values if src.values is not None else default
    if table is None:
        return cells
    known = cells.isin(list(table)) | (empty_ok & (cells == ""))
    _fail(path, df, ~known, src, f"is not mapped; add it to [{src.key}] values (known: "
          f"{', '.join(map(str, table))})", cells)
    return cells.map(lambda c: table.get(c, np.nan))


def _numbers(df: pd.DataFrame, src: Source, path: Path, empty_ok: bool) -> pd.Series:
    cells = _cells(df, src, path)
    num = pd.to_numeric(cells.where(cells != ""), errors="coerce")
    given = cells != ""
    _fail(path, df, given & (num.isna() | ~np.isfinite(num.fillna(0))), src, "is not a number",
          cells)
    if not empty_ok:
        _fail(path, df, cells == "", src, "is empty", cells)
    return num.astype("float64")


def rt_milliseconds(df: pd.DataFrame, path: Path, mapping: Mapping) -> pd.Series:
    """The RT column in **ms** (NaN where the cell is empty: no response). A value ≤ 0, one
    over 60 s, or a file whose median is under :data:`MIN_MEDIAN_RT_MS` (the unit is wrong)
    is a DataError naming file, row, column and value."""
    src = mapping.roles["rt"]
    cells = _cells(df, src, path)
    rt = _numbers(df, src, path, empty_ok=True) * RT_UNITS[mapping.rt_unit]
    _fail(path, df, rt <= 0, src, "must be > 0 (a response time)", cells)
    unit = f'rt.unit = "{mapping.rt_unit}"'
    _fail(path, df, rt > MAX_WINDOW_MS, src, f"is over 60 s with {unit}"
          + ("; if the column holds milliseconds, set rt.unit = \"ms\""
             if mapping.rt_unit == "s" else ""), cells)
    median = rt.median()
    if median < MIN_MEDIAN_RT_MS:
        _fail(path, df, rt.notna(), src, f"reads as {rt.dropna().iat[0]:g} ms with {unit} "
              f"(the file's median RT: {median:.3g} ms); if the column holds seconds, set "
              f"rt.unit = \"s\"", cells)
    return rt


def trials_of_file(path: Path, rel: str, mapping: Mapping,
                   levels: dict[str, tuple[str, ...]] | None = None
                   ) -> tuple[pd.DataFrame, bytes]:
    """One file's rows in the analysis's columns (before ordering, see :func:`load_tables`).
    ``levels``: factor → the levels the plan declares (``[design.levels]``); a test trial
    with another value is an error."""
    levels = levels or {}
    df, raw = read_table(path, mapping)
    for col in mapping.require:
        if col not in df.columns:
            raise DataError(f"{path}: no column {col!r} (mapping input.require)")
        df = df[df[col] != ""]
    roles = mapping.roles
    out = pd.DataFrame(index=df.index)
    out["participant"] = _mapped(df, roles["participant"], path).astype(str)
    out["session"] = (_mapped(df, roles["session"], path) if "session" in roles
                      and roles["session"].values is not None else
                      _numbers(df, roles["session"], path, empty_ok=False)
                      if "session" in roles else 1)
    bad = out["session"].astype("float64") % 1 != 0
    bad |= out["session"].astype("float64") < 0
    if "session" in roles:
        _fail(path, df, bad, roles["session"], "is not a session number (an integer ≥ 0; "
              "map labels to numbers with values)", _cells(df, roles["session"], path))
    out["session"] = out["session"].astype("int64")
    out["rt_ms"] = rt = rt_milliseconds(df, path, mapping)
    timeout = rt.isna()
    acc = _mapped(df, roles["accuracy"], path, DEFAULT_ACCURACY, empty_ok=True)
    _fail(path, df, acc.isna() & ~timeout, roles["accuracy"], "is empty but the trial has "
          "an RT", _cells(df, roles["accuracy"], path))
    _fail(path, df, (acc == 1) & timeout, roles["accuracy"], "says correct but the RT is "
          "missing (a trial without a response is a timeout)", _cells(df, roles["accuracy"], path))
    out["correct"] = acc.fillna(0).astype("int64")
    out["timeout"] = timeout.astype("int64")
    out["is_practice"] = (_mapped(df, roles["practice"], path, DEFAULT_ACCURACY).astype("int64")
                          if "practice" in roles else 0)
    out["_block"] = _mapped(df, roles["block"], path) if "block" in roles else "1"
    out["_trial"] = (_numbers(df, roles["trial"], path, empty_ok=False) if "trial" in roles
                     else df["_row"].astype("float64"))
    for name, src in mapping.factors.items():
        out[name] = _mapped(df, src, path).astype(str)
        if name in levels:
            _fail(path, df, (out["is_practice"] == 0) & ~out[name].isin(levels[name]), src,
                  f"is not a level of plan key design.levels.{name} "
                  f"({', '.join(levels[name])}); add it to the plan, or map it with "
                  f"[{src.key}] values", _cells(df, src, path))
    out["_row"] = df["_row"]
    out["source_file"] = rel
    out["source_row"] = df["_row"]
    return out, raw


def _ordered(t: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Number blocks by first appearance (smallest trial value, then row) and trials within
    them (trial value, then row), per participant × session × practice (practice first in
    ``trial_in_session``), and add condition_order and block_in_condition."""
    sess = ["participant", "session", "is_practice"]
    blocks = (t.groupby(sess + ["_block"], sort=False)
              .agg(_t=("_trial", "min"), _r=("_row", "min")).reset_index()
              .sort_values(sess + ["_t", "_r"], kind="stable"))
    blocks["block"] = blocks.groupby(sess).cumcount() + 1
    t = t.merge(blocks[sess + ["_block", "block"]], on=sess + ["_block"], how="left")
    t = t.sort_values(sess + ["block", "_trial", "_row"], kind="stable")
    t["trial_in_block"] = t.groupby(sess + ["block"]).cumcount() + 1
    t = t.sort_values(["participant", "session", "is_practice", "block", "trial_in_block"],
                      ascending=[True, True, False, True, True], kind="stable")
    t["trial_in_session"] = t.groupby(["participant", "session"]).cumcount() + 1
    if "condition" in factors:
        t["block_in_condition"] = (t.groupby(sess + ["condition"])["block"]
                                   .rank(method="dense").astype("int64"))
        test = t[t["is_practice"] == 0]
        order = (test.drop_duplicates(sess[:2] + ["condition"])
                 .groupby(sess[:2], sort=False)["condition"].agg("-".join))
        t["condition_order"] = [order.get(k, "") for k in zip(t["participant"], t["session"])]
    else:
        t["block_in_condition"] = t["block"]
        t["condition_order"] = ""
    return t.drop(columns=["_block", "_trial"])


def load_tables(data: Path, mapping: Mapping, skip_bad: bool = False,
                levels: dict[str, tuple[str, ...]] | None = None) -> LoadedData:
    """Every table of ``data`` (a file or a folder) read through ``mapping``; see the module
    docstring. A participant × session in two files is an error (the trial order between
    them would be a guess). ``skip_bad`` (``--skip-bad-files``): a file that cannot be read
    or mapped is left out and listed in ``LoadedData.skipped`` instead of stopping the run.
    ``levels``: the plan's declared level orders (see :func:`trials_of_file`)."""
    data = Path(data)
    paths = table_files(data, mapping)
    base = data.parent if data.is_file() else data
    frames, files, skipped = [], [], []
    for p in paths:
        rel = p.relative_to(base).as_posix()
        try:
            t, raw = trials_of_file(p, rel, mapping, levels)
        except (OSError, DataError) as e:
            reason = f"{p}: cannot read ({e.strerror})" if isinstance(e, OSError) else str(e)
            if not skip_bad:
                raise DataError(reason) from None
            skipped.append(SkippedFile(rel, reason))
            continue
        frames.append(t)
        files.append(InputFile(rel, "table", sha256_of(raw), len(t)))
    if not frames:
        raise DataError(f"no table under {data} could be read through the mapping; the first: "
                        f"{skipped[0].reason}")
    t = pd.concat(frames, ignore_index=True)
    if t.empty:
        raise DataError(f"{data}: no trial rows (after mapping input.require)")
    where = t.groupby(["participant", "session"])["source_file"].unique()
    split = where[where.map(len) > 1]
    if len(split):
        (pid, ses), fs = split.index[0], split.iloc[0]
        raise DataError(f"participant {pid!r} session {ses} is in {fs[0]} and {fs[1]}; one "
                        f"file per participant and session (or map a session column)")
    t = _ordered(t, list(mapping.factors))
    t = t.assign(simulated=0, rt_source=IMPORTED, response_device="", accuracy_code="auto",
                 speed_actual_kmh=np.nan)
    trials = t.drop(columns=["_row"]).sort_values(SORT_KEYS, kind="stable").reset_index(drop=True)
    notes = [f"Data read through the column mapping {mapping.path or '(built in)'}: "
             f"factors {', '.join(mapping.factors) or 'none'}; RT unit {mapping.rt_unit}."]
    return LoadedData(data_dir=data, trials=trials, files=files, skipped=skipped, notes=notes)
