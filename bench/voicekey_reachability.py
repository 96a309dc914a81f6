"""Is issue 15's voice-key target reachable? The blind observer against the ideal observer.

For every item of the voice-key benchmark (``bench.voicekey``: same words, voices, noise,
settings and SNRs), the time after the true onset at which 10 nats of evidence are gathered
by (``bench.blind_observer``):

- ``ideal``: the ideal observer (knows the talker's exact word spectrum, frame by frame);
- ``word``: a blind observer that knows which colour word is said and how the *other*
  split's talkers start it (mean spectrum of their first 40 ms), at an oracle level per frame;
- ``generic``: a blind observer that knows only the long-term average spectrum of the other
  split's talkers' colour words, at an oracle level per frame.

The targets are 95th percentiles relative to the ideal observer's; a blind observer's p95
over the ideal's is the least a voice key without the talker's spectrum can reach under the
observers' idealisations (stationary noise, the onset known, no false alarms to avoid).

Without those idealisations: a blind *detector* (``bench.blind_observer.frame_llr``: the
noise-whitened log-likelihood ratio of each 2 ms frame for generic speech at a fixed level,
Page's CUSUM, the onset where the run that crosses the threshold began). Its threshold is
set by an oracle at the voice key's false-alarm rate: just above the largest CUSUM any of
the split's noise-only recordings reach (0 false detections), and its level is the one of
LEVELS with the lowest p95 at each SNR (also an oracle choice).
``python -m bench voicekey_reachability`` writes ``voicekey_reachability.md`` and ``.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bench.blind_observer import (ONSET_TEMPLATE_S, blind_evidence_time_s, frame_llr,
                                  page_onset_s, page_statistic, speech_template)
from bench.ideal_observer import evidence_time_s
from bench.voicekey import (HARDSHIPS, RATE_HZ, SNRS_DB, SPLITS, TARGET_SNRS_DB, TARGETS,
                            WORKERS, Item, Split, cached_word, colour_words, make_items,
                            noise_only_audio, reduced_split, trial_audio)

NATS = 10.0
LEVELS = (0.03, 0.1, 0.3, 1.0, 3.0)    # the blind detector's assumed mean SNR per bin


def _clean(item: Item) -> tuple[np.ndarray, int]:
    """(clean word samples, onset sample) as espeak-ng said it for ``item``."""
    w = cached_word(item.spoken, item.voice, item.words_per_minute, item.pitch, RATE_HZ)
    return w.samples, int(round(w.onset_s * RATE_HZ))


def templates(other: Split) -> dict:
    """{'generic': long-term average spectrum, (language, word): mean spectrum of its first
    ONSET_TEMPLATE_S} over the items of ``other`` (another split: other talkers)."""
    items = make_items(other)
    clean = {it.index: _clean(it) for it in items}
    out = {"generic": speech_template(list(clean.values()), RATE_HZ)}
    for key in dict.fromkeys((it.language, it.word) for it in items):
        same = [clean[it.index] for it in items if (it.language, it.word) == key]
        out[key] = speech_template(same, RATE_HZ, first_s=ONSET_TEMPLATE_S)
    return out


def noise_only_peaks(args) -> list[float]:
    """The largest Page CUSUM (nats) per level of LEVELS on one noise-only recording."""
    split, hardship, k, language, generic = args
    x, calib = noise_only_audio(split, hardship, k, language)
    return [float(page_statistic(frame_llr(x, calib, RATE_HZ, generic, lv))[0].max())
            for lv in LEVELS]


def item_times(args) -> list[dict]:
    """Rows (item, hardship, snr_db, phoneme, language, word, each observer's time after the
    true onset in s, and the blind detector's onset error in s per level, None = missed)
    for one item in every setting and SNR that the voice-key benchmark runs."""
    item, temps, thresholds = args
    rows = []
    for hardship in HARDSHIPS:
        for snr in SNRS_DB:
            if snr not in TARGET_SNRS_DB and hardship != "walking":
                continue
            tr = trial_audio(item, hardship, snr)
            onset = int(round(tr.true_s * RATE_HZ))
            rows.append({
                "item": item.index, "hardship": hardship, "snr_db": snr,
                "phoneme": item.phoneme, "language": item.language, "word": item.word,
                "ideal": evidence_time_s(tr.word, onset, tr.calibration, RATE_HZ, NATS),
                "word_template": blind_evidence_time_s(tr.word, onset, tr.calibration, RATE_HZ,
                                                       temps[(item.language, item.word)], NATS),
                "generic": blind_evidence_time_s(tr.word, onset, tr.calibration, RATE_HZ,
                                                 temps["generic"], NATS),
                "detector_error": [
                    None if (t := page_onset_s(frame_llr(tr.x, tr.calibration, RATE_HZ,
                                                         temps["generic"], lv), h)) is None
                    else t - tr.true_s for lv, h in zip(LEVELS, thresholds)]})
    return rows


def p95_ms(values_s: list[float]) -> float:
    """95th percentile ('higher' order statistic, as the benchmark) in ms; inf counts."""
    return 1000 * float(np.quantile(np.asarray(values_s), 0.95, method="higher"))


def detector_stats(errors_s: list[float | None]) -> dict:
    """Median and p95 abs. error (ms; a miss is infinite), misses and onsets more than 20 ms
    early (counts) of the blind detector's onset errors ``errors_s`` (s, None = missed)."""
    e = np.array([np.inf if v is None else 1000 * v for v in errors_s])
    return {"median_ms": float(np.median(np.abs(e))), "p95_ms": p95_ms(np.abs(e) / 1000),
            "misses": int(np.sum(~np.isfinite(e))), "early_20ms": int(np.sum(e < -20))}


def summary(rows: list[dict]) -> dict:
    """Per SNR: n, the three observers' median and p95 (ms) and the blind p95s over the
    ideal's, over all settings ('all') and per initial phoneme."""
    out = {}
    for snr in SNRS_DB:
        sub = [r for r in rows if r["snr_db"] == snr]
        groups = {"all": sub, **{f"/{p}/": [r for r in sub if r["phoneme"] == p]
                                 for p in sorted({r["phoneme"] for r in sub})}}
        out[str(snr)] = {}
        for g, rs in groups.items():
            cell = {"n": len(rs)}
            for key in ("ideal", "word_template", "generic"):
                t = [r[key] for r in rs]
                cell[key] = {"median_ms": 1000 * float(np.median(t)), "p95_ms": p95_ms(t)}
            for key in ("word_template", "generic"):
                cell[f"{key}_vs_ideal"] = cell[key]["p95_ms"] / cell["ideal"]["p95_ms"]
            cell["detector"] = [detector_stats([r["detector_error"][i] for r in rs])
                                for i in range(len(LEVELS))]
            out[str(snr)][g] = cell
    return out


def _f(v: float) -> str:
    return "inf" if not np.isfinite(v) else f"{v:.1f}"


def report(result: dict) -> str:
    """Markdown of :func:`main`'s result."""
    lim = TARGETS["p95_vs_observer"]
    lines = ["# Is the voice-key target reachable? Blind vs ideal observer", "",
             __doc__.split("\n\n", 1)[1].split("``python -m")[0].strip(), "",
             f"Evidence level {NATS:.0f} nats; times from the true onset; p95 is the 'higher' "
             "order statistic; 'inf': not within 300 ms. Median / p95 in ms.", ""]
    for name, res in result.items():
        s = res["summary"]
        cut = ("" if res.get("n_items_full", res["n_items"]) == res["n_items"] else
               f", a reduced run: the first {res['n_items']} of {res['n_items_full']}")
        lines += [f"## {name} split ({res['n_items']} items{cut}; templates from the "
                  f"{res['templates_from']} split's talkers)", "",
                  "| SNR dB | n | ideal | blind, word's first 40 ms | x ideal | blind, generic "
                  "speech | x ideal | target reachable by a blind voice key (<= "
                  f"{lim}x)? |", "|---|---|---|---|---|---|---|---|"]
        for snr in SNRS_DB:
            c = s[str(snr)]["all"]
            best = min(c["word_template_vs_ideal"], c["generic_vs_ideal"])
            verdict = ("" if snr not in TARGET_SNRS_DB else
                       "no" if best > lim else "not excluded")
            lines.append(
                f"| {snr:.0f} | {c['n']} | {_f(c['ideal']['median_ms'])} / "
                f"{_f(c['ideal']['p95_ms'])} | {_f(c['word_template']['median_ms'])} / "
                f"{_f(c['word_template']['p95_ms'])} | {c['word_template_vs_ideal']:.2f} | "
                f"{_f(c['generic']['median_ms'])} / {_f(c['generic']['p95_ms'])} | "
                f"{c['generic_vs_ideal']:.2f} | {verdict} |")
        lines += ["", "Blind detector (Page's CUSUM on the generic-speech log-likelihood ratio), "
                  "threshold just above the noise-only recordings' largest CUSUM "
                  f"({', '.join(f'{h:.0f}' for h in res['thresholds'])} nats at levels "
                  f"{', '.join(f'{lv:g}' for lv in LEVELS)}; {res['n_noise_only']} recordings), "
                  "the level with the lowest p95 at each SNR:", "",
                  "| SNR dB | level | median ms | p95 ms | x ideal p95 | misses | > 20 ms early |",
                  "|---|---|---|---|---|---|---|"]
        for snr in SNRS_DB:
            c = s[str(snr)]["all"]
            i = int(np.argmin([d["p95_ms"] for d in c["detector"]]))
            d = c["detector"][i]
            lines.append(f"| {snr:.0f} | {LEVELS[i]:g} | {_f(d['median_ms'])} | {_f(d['p95_ms'])} | "
                         f"{d['p95_ms'] / c['ideal']['p95_ms']:.2f} | {d['misses']}/{c['n']} | "
                         f"{d['early_20ms']} ({100 * d['early_20ms'] / c['n']:.1f} %) |")
        lines += ["", "Per initial phoneme, p95 ms (ideal / blind word / blind generic):", "",
                  "| phoneme | " + " | ".join(f"{snr:.0f} dB" for snr in SNRS_DB) + " |",
                  "|---|" + "---|" * len(SNRS_DB)]
        for g in s[str(SNRS_DB[0])]:
            if g == "all":
                continue
            lines.append(f"| {g} | " + " | ".join(
                f"{_f(c['ideal']['p95_ms'])} / {_f(c['word_template']['p95_ms'])} / "
                f"{_f(c['generic']['p95_ms'])}" for snr in SNRS_DB
                for c in [s[str(snr)][g]]) + " |")
        lines.append("")
    return "\n".join(lines)


def main(out_dir: Path, split_names: tuple[str, ...] = ("eval", "dev"),
         per_word: int | None = None) -> Path:
    """Blind and ideal observers on each split (templates from the other split); writes
    ``voicekey_reachability.md`` and ``.json`` to ``out_dir`` and returns the .md path.
    ``per_word``: only the first ``per_word`` items per colour word (and as many noise-only
    recordings per setting), a reduced run (``bench.voicekey.reduced_split``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {}
    for name in split_names:
        other = "dev" if name == "eval" else "eval"
        split = reduced_split(SPLITS[name], per_word, per_word)
        temps = templates(SPLITS[other])
        items = make_items(split)
        languages = list(dict.fromkeys(lang for lang, _ in colour_words()))
        jobs = [(split, h, k, languages[k % len(languages)], temps["generic"])
                for h in HARDSHIPS for k in range(split.n_noise_only)]
        rows = []
        with ProcessPoolExecutor(max_workers=WORKERS) as pool:
            peaks = np.array(list(pool.map(noise_only_peaks, jobs)))
            thresholds = [float(v) + 1e-6 for v in peaks.max(axis=0)]
            for r in pool.map(item_times, [(it, temps, thresholds) for it in items]):
                rows += r
        result[name] = {"n_items": len(items), "n_items_full": SPLITS[name].n_items,
                        "templates_from": other,
                        "n_noise_only": len(jobs), "thresholds": thresholds,
                        "summary": summary(rows), "rows": rows}
    md = out_dir / "voicekey_reachability.md"
    md.write_text(report(result), encoding="utf-8")
    safe = json.loads(json.dumps(result, default=float).replace("Infinity", "null"))
    (out_dir / "voicekey_reachability.json").write_text(json.dumps(safe, indent=1, ensure_ascii=False)
                                                        + "\n", encoding="utf-8")
    return md


def cli(argv: list[str] | None = None) -> int:
    """``python -m bench.voicekey_reachability [--per-word K] [--splits ...] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.voicekey_reachability",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--per-word", type=int, metavar="K",
                        help="reduced run: the first K items per colour word of each split")
    parser.add_argument("--splits", nargs="+", default=["eval", "dev"], choices=list(SPLITS))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results"))
    args = parser.parse_args(argv)
    if args.per_word is not None and args.per_word < 1:
        parser.error("--per-word must be at least 1")
    print(f"voicekey_reachability: results in "
          f"{main(args.out, tuple(args.splits), args.per_word)}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
