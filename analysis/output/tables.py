"""Result tables and their files: CSV (full precision), Markdown and LaTeX (rounded).

Formatting is a pure function of the values, so the same inputs give byte-identical files.
Rounding in Markdown/LaTeX follows the column name: ``*_ms`` 1 decimal, ``*_pct`` 2
decimals, p values 3 decimals (``< 0.001`` below), other numbers 4 significant digits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV_FLOAT = "%.10g"


@dataclass(frozen=True)
class Table:
    name: str            # file stem, e.g. 'descriptives'
    title: str
    explanation: str     # one sentence: what the table shows
    frame: pd.DataFrame
    note: str = ""       # conventions (e.g. the DTE sign), printed under the table
    in_report: bool = True   # long per-participant tables live in tables/ only


def _is_p(col: str) -> bool:
    return col == "p" or col.startswith("p_")


def format_cell(col: str, v: object) -> str:
    """One cell for Markdown/LaTeX."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if _is_p(col):
            return "< 0.001" if v < 0.001 else f"{v:.3f}"
        if col.endswith("_ms"):
            return f"{v:.1f}"
        if col.endswith("_pct"):
            return f"{v:.2f}"
        if abs(v) >= 1000:
            return f"{v:.1f}"
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: [format_cell(str(c), v) for v in frame[c].tolist()]
                        for c in frame.columns}, dtype=object)
    out.columns = [str(c) for c in frame.columns]
    return out


_LATEX_SYMBOLS = {"−": r"\textminus{}", "×": r"\texttimes{}", "χ²": r"$\chi^2$",
                  "η²": r"$\eta^2$", "ε": r"$\varepsilon$", "≥": r"$\geq$", "≤": r"$\leq$",
                  "—": "---", "∞": r"$\infty$", "²": r"\textsuperscript{2}",
                  "< 0.001": r"$<$ 0.001"}


def to_markdown(t: Table, level: int = 3) -> str:
    body = formatted(t.frame).to_markdown(index=False, disable_numparse=True) \
        if len(t.frame) else "_(no rows)_"
    parts = [f"{'#' * level} {t.title}", "", t.explanation, "", body]
    if t.note:
        parts += ["", f"_Note._ {t.note}"]
    return "\n".join(parts) + "\n"


def to_latex(t: Table) -> str:
    f = formatted(t.frame)
    caption = t.title + ". " + t.explanation + (" Note: " + t.note if t.note else "")
    tex = f.to_latex(index=False, escape=True, caption=_latex_escape(caption),
                     label=f"tab:{t.name}", column_format="l" * max(len(f.columns), 1))
    for k, v in _LATEX_SYMBOLS.items():
        tex = tex.replace(k, v)
    return tex


def _latex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"),
                 ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        s = s.replace(a, b)
    return s


def write_table(t: Table, folder: Path) -> list[Path]:
    """Write ``<name>.csv``, ``.md`` and ``.tex`` into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, tex_path = (folder / f"{t.name}{ext}" for ext in (".csv", ".md", ".tex"))
    frame = t.frame.copy()
    for c in frame.columns:   # categorical/bool columns as plain text
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(str)
    csv_path.write_text(frame.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n",
                                     na_rep=""), encoding="utf-8")
    md_path.write_text(to_markdown(t, level=1), encoding="utf-8")
    tex_path.write_text(to_latex(t), encoding="utf-8")
    return [csv_path, md_path, tex_path]
