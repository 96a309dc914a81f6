"""The report's figures, drawn with matplotlib's object API (no pyplot, no global backend).

Colours: Okabe–Ito (colour-blind safe), with a distinct marker per condition so that the
figures also read in greyscale. Each figure is saved as PNG and SVG; the SVG is
deterministic (fixed ``svg.hashsalt``, no date in the metadata). RT axes in milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.statistics.descriptives import cousineau_morey, participant_means, t_ci

# Okabe & Ito (2008) palette
PALETTE = {"stand": "#009E73", "forward": "#0072B2", "backward": "#D55E00",
           "left": "#E69F00", "right": "#CC79A7"}
MARKERS = {"stand": "o", "forward": "s", "backward": "D", "left": "^", "right": "v"}
LINESTYLES = {"stand": "-", "forward": "--", "backward": "-.", "left": ":", "right": (0, (5, 1))}
PARTICIPANT_GREY = "#8C8C8C"
RC = {"svg.hashsalt": "stroop-walk", "svg.fonttype": "path", "font.size": 9,
      "axes.spines.top": False, "axes.spines.right": False}


@dataclass(frozen=True)
class FigureFile:
    name: str            # file stem
    title: str
    explanation: str     # one sentence for the report
    png: Path
    svg: Path


def _save(fig: Figure, folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    fig.savefig(png, dpi=150, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    return png, svg


def _jitter(n: int, width: float = 0.12) -> np.ndarray:
    """Deterministic horizontal offsets spreading n points over ±width."""
    if n <= 1:
        return np.zeros(n)
    return np.linspace(-width, width, n)[np.argsort(np.arange(n) * 7 % n)]


def rt_by_condition(valid: pd.DataFrame, conditions: tuple[str, ...], folder: Path,
                    ylabel: str) -> tuple[Path, Path]:
    wide = participant_means(valid).reindex(columns=list(conditions)).dropna()
    cm = cousineau_morey(wide)
    x = np.arange(len(conditions))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(3.2, 1.2 * len(conditions) + 1.6), 3.6), layout="constrained")
        ax = fig.add_subplot()
        for _, row in wide.iterrows():
            ax.plot(x, row.to_numpy(), color=PARTICIPANT_GREY, alpha=0.35, lw=0.7, zorder=1)
        ax.plot(x, cm["mean"].to_numpy(), color="black", lw=1.5, zorder=2)
        for i, c in enumerate(conditions):
            ax.errorbar(x[i], cm.at[c, "mean"], yerr=[[cm.at[c, "mean"] - cm.at[c, "ci_low"]],
                        [cm.at[c, "ci_high"] - cm.at[c, "mean"]]], fmt=MARKERS.get(c, "o"),
                        color=PALETTE.get(c, "black"), mec="black", ms=8, capsize=4, lw=1.5,
                        zorder=3, label=c)
        ax.set_xticks(x, list(conditions))
        ax.set_xlim(-0.5, len(conditions) - 0.5)
        ax.set_xlabel("Condition")
        ax.set_ylabel(ylabel)
        ax.set_title(f"Mean RT by condition (n = {len(wide)})", fontsize=9)
        return _save(fig, folder, "rt_by_condition")


def rt_distributions(valid: pd.DataFrame, conditions: tuple[str, ...], folder: Path,
                     xlabel: str) -> tuple[Path, Path]:
    rt = valid["rt_ms"].to_numpy()
    hi = float(np.quantile(rt, 0.999)) if len(rt) else 1000.0
    lo = float(np.floor(rt.min() / 20) * 20) if len(rt) else 0.0
    bins = np.arange(lo, hi + 20, 20)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(5.2, 3.4), layout="constrained")
        ax = fig.add_subplot()
        for c in conditions:
            r = valid.loc[valid["condition"] == c, "rt_ms"].to_numpy()
            if not len(r):
                continue
            ax.hist(r, bins=bins, density=True, histtype="step", lw=1.4,
                    color=PALETTE.get(c, "black"), ls=LINESTYLES.get(c, "-"),
                    label=f"{c} (median {np.median(r):.0f} ms)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Density (per ms)")
        ax.set_title("RT distributions (valid trials, 20 ms bins)", fontsize=9)
        ax.legend(frameon=False, fontsize=8)
        return _save(fig, folder, "rt_distributions")


def accuracy_by_condition(test: pd.DataFrame, conditions: tuple[str, ...], folder: Path
                          ) -> tuple[Path, Path]:
    wide = (participant_means(test, value="correct") * 100).reindex(columns=list(conditions)) \
        .dropna()
    cm = cousineau_morey(wide)
    x = np.arange(len(conditions))
    jit = _jitter(len(wide))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(3.2, 1.2 * len(conditions) + 1.6), 3.6), layout="constrained")
        ax = fig.add_subplot()
        for i, c in enumerate(conditions):
            ax.scatter(x[i] + jit, wide[c].to_numpy(), s=10, color=PALETTE.get(c, "black"),
                       alpha=0.45, marker=MARKERS.get(c, "o"), lw=0, zorder=1)
            ax.errorbar(x[i] + 0.3, cm.at[c, "mean"], yerr=[[cm.at[c, "mean"] - cm.at[c, "ci_low"]],
                        [cm.at[c, "ci_high"] - cm.at[c, "mean"]]], fmt=MARKERS.get(c, "o"),
                        color=PALETTE.get(c, "black"), mec="black", ms=7, capsize=4, zorder=3)
        ax.set_xticks(x, list(conditions))
        ax.set_xlim(-0.5, len(conditions) - 0.2)
        low = float(wide.min().min()) if len(wide) else 50.0
        ax.set_ylim(max(0.0, np.floor((low - 3) / 5) * 5), 100.5)
        ax.set_xlabel("Condition")
        ax.set_ylabel("Accuracy (% correct)")
        ax.set_title("Accuracy by condition", fontsize=9)
        return _save(fig, folder, "accuracy_by_condition")


def dte_per_participant(per: pd.DataFrame, walking: tuple[str, ...], reference: str,
                        folder: Path) -> tuple[Path, Path]:
    wide = per.pivot(index="participant", columns="condition", values="dte_pct") \
        .reindex(columns=list(walking))
    x = np.arange(len(walking))
    jit = _jitter(len(wide), 0.1)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(3.2, 1.3 * len(walking) + 1.8), 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0, color="black", lw=0.8)
        if len(walking) > 1:
            for j, (_, row) in enumerate(wide.iterrows()):
                ax.plot(x + jit[j], row.to_numpy(), color=PARTICIPANT_GREY, alpha=0.3, lw=0.6,
                        zorder=1)
        for i, c in enumerate(walking):
            ax.scatter(x[i] + jit, wide[c].to_numpy(), s=14, color=PALETTE.get(c, "black"),
                       marker=MARKERS.get(c, "o"), alpha=0.7, lw=0, zorder=2)
            m, lo, hi, _ = t_ci(wide[c].to_numpy())
            ax.errorbar(x[i] + 0.3, m, yerr=[[m - lo], [hi - m]], fmt=MARKERS.get(c, "o"),
                        color=PALETTE.get(c, "black"), mec="black", ms=7, capsize=4, zorder=3)
        ax.set_xticks(x, list(walking))
        ax.set_xlim(-0.5, len(walking) - 0.2)
        ax.set_xlabel("Walking condition")
        ax.set_ylabel(f"DTE on RT (%): (walking − {reference}) / {reference}\n"
                      f"positive = slower than {reference}")
        ax.set_title("Dual-task effect per participant (mean, 95% CI)", fontsize=9)
        return _save(fig, folder, "dte_per_participant")


def interference_by_condition(valid: pd.DataFrame, conditions: tuple[str, ...], base: str,
                              folder: Path) -> tuple[Path, Path]:
    from analysis.statistics.effects import interference_scores
    wide = interference_scores(valid, conditions, base).dropna()
    cm = cousineau_morey(wide)
    cols = list(wide.columns)
    x = np.arange(len(cols))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(max(3.2, 1.2 * len(cols) + 1.6), 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0, color="black", lw=0.8)
        for _, row in wide.iterrows():
            ax.plot(x, row.to_numpy(), color=PARTICIPANT_GREY, alpha=0.3, lw=0.6, zorder=1)
        for i, c in enumerate(cols):
            ax.errorbar(x[i], cm.at[c, "mean"], yerr=[[cm.at[c, "mean"] - cm.at[c, "ci_low"]],
                        [cm.at[c, "ci_high"] - cm.at[c, "mean"]]], fmt=MARKERS.get(c, "o"),
                        color=PALETTE.get(c, "black"), mec="black", ms=8, capsize=4, zorder=3)
        ax.set_xticks(x, cols)
        ax.set_xlim(-0.5, len(cols) - 0.5)
        ax.set_xlabel("Condition")
        ax.set_ylabel(f"Interference: incongruent − {base} RT (ms)")
        ax.set_title("Stroop interference by condition", fontsize=9)
        return _save(fig, folder, "interference_by_condition")
