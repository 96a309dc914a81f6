"""``report.md`` and a self-contained ``report.html`` (figures embedded as base64 PNG).

The report holds every table and figure with a one-sentence explanation, the exclusions,
skipped files, and a provenance block (input files with sha256, the plan, package
versions). It carries no date or time, so the same inputs give the same report.
"""
from __future__ import annotations

import base64
import html
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.input.codebook import RT_SOURCES
from analysis.output.tables import Table, to_markdown

if TYPE_CHECKING:
    from analysis.output.results import Results

PACKAGES = ("stroop-walk", "numpy", "pandas", "scipy", "statsmodels", "pingouin",
            "matplotlib", "tqdm", "markdown")

SECTIONS = [  # (heading, tables, figures, sentence key)
    ("1. Descriptives", ["descriptives"], ["rt_by_condition", "rt_distributions"], None),
    ("2. Primary model: log-RT linear mixed model",
     ["lmm_model", "lmm_fixed_effects", "lmm_condition_means", "lmm_contrasts",
      "participant_summary"], [], "primary"),
    ("Sensitivity analysis: untrimmed RTs", ["sensitivity_untrimmed"], [], "sensitivity"),
    ("3. Repeated-measures ANOVA", ["rm_anova", "paired_contrasts"], [], "anova"),
    ("4. Accuracy", ["accuracy_model"], ["accuracy_by_condition"], "accuracy"),
    ("5. Interference and congruency × condition",
     ["interference", "congruency_by_condition", "interference_contrasts"],
     ["interference_by_condition"], "interference"),
    ("6. Dual-task effect", ["dte_summary", "dte_per_participant"], ["dte_per_participant"],
     None),
    ("7. Condition-order and block effects", ["order_effects", "rt_by_position"], [], None),
    ("8. Timing quality", ["timing_qa"], [], "timing_qa"),
    ("9. The declared design: factorial analysis",
     ["design_anova", "design_contrasts", "design_lmm_model", "design_lmm_anova",
      "design_lmm_contrasts", "design_lmm_cell_means"], [], "design"),
]
#: Sections shown only when the plan asks for them (no "not applicable" placeholder).
OPTIONAL_SECTIONS = {"design"}


def package_versions() -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for p in PACKAGES:
        try:
            out.append((p, metadata.version(p)))
        except metadata.PackageNotFoundError:
            out.append((p, "not installed"))
    return out


def simulated_banner(trials: pd.DataFrame) -> str:
    """'' for real data; a warning line when any participant is simulated."""
    sim = trials.groupby("participant")["simulated"].max()
    n_sim, n = int((sim == 1).sum()), len(sim)
    if n_sim == 0:
        return ""
    if n_sim == n:
        who = "the one participant was" if n == 1 else f"all {n} participants were"
        return (f"> **SIMULATED DATA** — {who} simulated "
                f"(`simulated` = 1): these results describe the simulator, not people.")
    return (f"> **WARNING: CONTAINS SIMULATED DATA** — {n_sim} of {n} participants are "
            f"simulated (`simulated` = 1) and are analysed together with real ones.")


def rt_sources_sentence(res: "Results") -> str:
    """How the RTs of the primary RT analysis were measured: trials per ``rt_source``."""
    p = res.prepared
    valid = p.test[p.test["valid"] & p.test["primary"]]
    counts = valid["rt_source"].value_counts()
    n = int(counts.sum())
    order = [s for s in RT_SOURCES if s in counts.index] + sorted(
        s for s in counts.index if s not in RT_SOURCES)   # e.g. 'imported' (--columns)
    parts = [f"{src} {int(counts[src])} ({100 * counts[src] / n:.1f}%)" for src in order]
    return (f"RT sources of the {n} trials in the primary RT analysis: " + ", ".join(parts)
            + "." if n else "No trial is in the primary RT analysis.")


def voice_sentence(res: "Results") -> str:
    """'' without voice trials; else how voice trials were scored and which codes left."""
    if not res.loaded.voice:
        return ""
    vp = res.plan.voice
    n = len(res.loaded.voice)
    coded = sum(1 for v in res.loaded.voice if v.coder)
    who = (f"the coder named by plan key voice.coder ({vp.coder})" if vp.coder else
           "each session's only coder (plan key voice.coder unset)")
    what = {"unclear": "voice trials coded unclear",
            "uncoded": "uncoded voice trials with speech (an uncoded trial without speech is "
                       "a timeout)"}
    left = [what[c] for c in vp.exclude_codes]
    kept = [c for c in what if c not in vp.exclude_codes]
    return (f"Vocal responses in {n} session(s): the RT is the speech onset from the stimulus "
            f"flip and the accuracy the trial's code. In {coded} of them the codes of {who} "
            f"replace the voice key's onset and the experimenter's code for the trials they "
            f"code (`voice-corrected`); other voice trials keep the detected onset "
            f"(`voice-detected`) and the experimenter's code."
            + (f" Left out of the RT and accuracy analyses (see the exclusions table): "
               f"{'; '.join(left)}." if left else "")
            + (f" Voice trials with accuracy code {' or '.join(kept)} count as errors."
               if kept else ""))


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _summary(res: "Results") -> str:
    p = res.prepared
    pp = p.participants
    n_in = int((pp["excluded"] == "").sum())
    lines = [f"{n_in} of {len(pp)} participants analysed; conditions: "
             f"{', '.join(p.conditions)}. {p.reference_note} Slow-tail rule: {p.trim_rule}."]
    if res.primary is not None:
        pw = res.table("lmm_contrasts").frame
        key = pw[pw["key"]]
        row = key.iloc[0] if len(key) else pw.iloc[0]
        lines.append(
            f"Primary contrast ({row['contrast']}, log-RT LMM): RT ratio {row['ratio']:.3f} "
            f"(95% CI {row['ratio_ci_low']:.3f} to {row['ratio_ci_high']:.3f}), "
            f"{row['diff_ms']:+.1f} ms ({row['ci_low_ms']:+.1f} to {row['ci_high_ms']:+.1f}), "
            f"t({row['df']:.1f}) = {row['t']:.2f}, "
            f"p {_p(row['p'])} ({res.plan.contrasts.adjust}-adjusted over all pairs: "
            f"p {_p(row['p_adj'])}).")
    elif "primary" in res.sentences:
        lines.append(res.sentences["primary"] + " See the descriptives and the "
                     "per-participant summary.")
    return " ".join(lines)


def build_markdown(res: "Results", command: str = "") -> str:
    out: list[str] = [f"# {res.plan.report.title}", ""]
    banner = simulated_banner(res.loaded.trials)
    if banner:
        out += [banner, ""]
    out += ["## Summary", "", _summary(res), ""]

    n_tab = n_fig = 0
    shown_figs: set[str] = set()

    def table_md(t: Table) -> list[str]:
        nonlocal n_tab
        n_tab += 1
        if not t.in_report:
            return [f"**Table {n_tab}. {t.title}.** {t.explanation} "
                    f"({len(t.frame)} rows: see `tables/{t.name}.csv`.)", ""]
        md = to_markdown(Table(t.name, f"Table {n_tab}. {t.title}", t.explanation, t.frame,
                               t.note), level=4)
        return [md]

    def figure_md(name: str) -> list[str]:
        nonlocal n_fig
        f = next((f for f in res.figures if f.name == name), None)
        if f is None or name in shown_figs:
            return []
        shown_figs.add(name)
        n_fig += 1
        return [f"![{f.title}](figures/{f.png.name})", "",
                f"**Figure {n_fig}. {f.title}.** {f.explanation} "
                f"(SVG: `figures/{f.svg.name}`)", ""]

    out += ["## Data and exclusions", ""]
    p = res.prepared
    out += [f"{p.reference_note} {p.rules_sentence}", ""]
    out += [rt_sources_sentence(res), ""]
    voice = voice_sentence(res)
    if voice:
        out += [voice, ""]
    names = {t.name for t in res.tables}
    for t in ("exclusions", "participants", "voice_coding"):
        if t in names:
            out += table_md(res.table(t))
    excl = p.participants[p.participants["excluded"] != ""]
    if len(excl):
        out += ["Excluded participants: " + "; ".join(
            f"{r.participant} ({r.detail})" for r in excl.itertuples()) + ".", ""]
    if res.loaded.skipped:
        out += ["**Skipped files** (`--skip-bad-files`):", ""]
        out += [f"- `{s.path}`: {s.reason}" for s in res.loaded.skipped] + [""]
    if res.loaded.notes:
        out += ["Notes on the input files:", ""] + [f"- {n}" for n in res.loaded.notes] + [""]

    for heading, tables, figures, key in SECTIONS:
        if key in OPTIONAL_SECTIONS and key not in res.sentences \
                and not any(t in names for t in tables):
            continue
        out += [f"## {heading}", ""]
        n_before = len(out)
        if key and key in res.sentences:
            out += [res.sentences[key], ""]
        for t in tables:
            if t in names:
                out += table_md(res.table(t))
        for f in figures:
            out += figure_md(f)
        if len(out) == n_before:
            out += ["Not applicable to these data (fewer than two conditions or too few "
                    "participants).", ""]

    out += ["## Provenance", ""]
    if command:
        out += [f"Command: `{command}`", ""]
    out += [f"Data folder: `{res.loaded.data_dir}`; {len(res.loaded.files)} input files "
            f"({len(res.loaded.skipped)} skipped).", "",
            "| file | kind | rows | sha256 |", "|---|---|---|---|"]
    out += [f"| `{f.path}` | {f.kind} | {f.n_rows} | `{f.sha256}` |" for f in res.loaded.files]
    from analysis.input.plan import DEFAULT_PLAN_PATH
    plan_name = ("analysis/plan.toml (the default plan)"
                 if res.plan.path and Path(res.plan.path).resolve() == DEFAULT_PLAN_PATH.resolve()
                 else res.plan.path or "built-in defaults")
    out += ["", f"Analysis plan (`{plan_name}`):", "", "```toml",
            res.plan.source.rstrip("\n"), "```", "", "Software:", "",
            ", ".join(f"{n} {v}" for n, v in package_versions()) + ".", ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;
max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left}th{background:#f3f3f3}
img{max-width:100%}blockquote{border-left:4px solid #D55E00;margin:0;padding:.3rem 1rem;
background:#fff4ec}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}
code{font-size:.85em}"""


def build_html(md_text: str, out_dir: Path, title: str) -> str:
    """HTML with every ``figures/*.png`` image inlined as a base64 data URI."""
    import markdown

    body = markdown.markdown(md_text, extensions=["tables", "fenced_code"])

    def inline(m: re.Match) -> str:
        src = m.group(1)
        path = out_dir / src
        if not path.is_file():
            return m.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'src="data:image/png;base64,{data}"'
    body = re.sub(r'src="(figures/[^"]+\.png)"', inline, body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def write_report(res: "Results", command: str = "") -> tuple[Path, Path]:
    md_text = build_markdown(res, command)
    out = res.out_dir
    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(md_text, encoding="utf-8")
    html_path.write_text(build_html(md_text, out, res.plan.report.title), encoding="utf-8")
    return md_path, html_path
