"""Benchmark: wall time and peak memory of the full analysis (``python -m analysis``) vs its floor.

Datasets of 24, 100 and 500 simulated participants (360 test trials each: 3 conditions ×
2 blocks × 60 trials, plus practice) are written by the example-data generator
(``experiment.simulation.example_data``, the session's own writer) under ``bench/work/analysis_speed/``
and reused while their parameters are unchanged.

For each size, in fresh subprocesses (so start-up and imports count, as for a user):

* **full**: ``python -m analysis --data DIR --out OUT``;
* **floor**: read the files with ``analysis.input.loader.load_trials``, keep the valid test trials
  and fit ``analysis.statistics.models.fit_condition_lmm`` once — the work no analysis can skip.

Wall time is measured around the subprocess; peak memory is the maximum resident set size
of the subprocess (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read in a small
wrapper process that runs only that command, so earlier runs cannot mask it).

Targets (issue 3): 24 participants ≤ 15 s; 500 participants ≤ 120 s and ≤ 2 GB; full ≤ 3 ×
floor (per size, and summed over the sizes). When a target fails, the failing full command
is profiled (cProfile) and the functions with the largest cumulative time are listed.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "analysis_speed"
SIZES = (24, 100, 500)
SEED = 20260105
DESIGN = {"design": {"blocks_per_condition": 2, "trials_per_block": 60}}  # 3 x 120 = 360 trials
TARGET_24_S = 15.0
TARGET_500_S = 120.0
TARGET_500_MB = 2048.0
TARGET_RATIO = 3.0

# Runs a command and prints its wall time and the peak RSS of its process tree's largest
# member (kB on Linux) as JSON on the last line of stderr.
_WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(rc.stderr.decode("utf-8", "replace")[-4000:])
sys.stderr.write("\n" + json.dumps({"rc": rc.returncode, "wall_s": wall, "maxrss_kb": ru.ru_maxrss,
                                    "cpu_s": ru.ru_utime + ru.ru_stime}) + "\n")
"""

_FLOOR = r"""
import sys
from pathlib import Path
from analysis.input.loader import load_trials
from analysis.statistics.models import fit_condition_lmm
from analysis.power import valid_trials
loaded = load_trials(Path(sys.argv[1]), progress=False)
fit = fit_condition_lmm(valid_trials(loaded.trials), reference="stand")
print(fit.structure, fit.contrast("backward", "forward").p)
"""


@dataclass(frozen=True)
class Measurement:
    participants: int
    what: str          # 'full' or 'floor'
    wall_s: float
    peak_mb: float
    cpu_s: float
    returncode: int


def dataset(participants: int) -> Path:
    """The simulated dataset of ``participants`` (generated once, then reused)."""
    from experiment.simulation.example_data import generate
    folder = WORK / f"sim-{participants}"
    stamp = WORK / f"sim-{participants}.json"
    params = {"participants": participants, "seed": SEED, "overlay": DESIGN, "preset": None}
    if folder.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == params:
        return folder
    if stamp.exists():
        stamp.unlink()
    print(f"analysis_speed: generating {participants} simulated participants in {folder}",
          file=sys.stderr)
    generate(folder, participants, seed=SEED, preset=None, overlays=[DESIGN], replace=True,
             workers=min(2, os.cpu_count() or 1))
    stamp.write_text(json.dumps(params))
    return folder


def measure(cmd: list[str], participants: int, what: str) -> Measurement:
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=ROOT,
                          capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()
    info = json.loads(lines[-1])
    if info["rc"] != 0:
        tail = "\n".join(lines[-12:-1])
        print(f"analysis_speed: {what} on {participants} participants failed "
              f"(exit {info['rc']}):\n{tail}", file=sys.stderr)
    return Measurement(participants, what, round(info["wall_s"], 2),
                       round(info["maxrss_kb"] / 1024.0, 1), round(info["cpu_s"], 2), info["rc"])


def full_command(data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "analysis", "--data", str(data), "--out", str(out)]


def profile(data: Path, out: Path, top: int = 20) -> str:
    """cProfile of the full command: the ``top`` functions by cumulative time (text)."""
    prof = out.with_suffix(".prof")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "analysis",
                    "--data", str(data), "--out", str(out)], cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import io
    import pstats
    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(top)
    text = buf.getvalue()
    return text[text.find("ncalls"):] if "ncalls" in text else text


def evaluate(results: list[Measurement]) -> list[dict]:
    """PASS/FAIL of every target."""
    by = {(m.participants, m.what): m for m in results}
    checks = []

    def check(name: str, value: float, limit: float, unit: str) -> None:
        checks.append({"target": name, "value": value, "limit": limit, "unit": unit,
                       "pass": bool(value <= limit)})
    if (24, "full") in by:
        check("24 participants: full wall time", by[24, "full"].wall_s, TARGET_24_S, "s")
    if (500, "full") in by:
        check("500 participants: full wall time", by[500, "full"].wall_s, TARGET_500_S, "s")
        check("500 participants: full peak memory", by[500, "full"].peak_mb, TARGET_500_MB, "MB")
    sizes = sorted({m.participants for m in results})
    for n in sizes:
        if (n, "full") in by and (n, "floor") in by:
            check(f"{n} participants: full / floor", round(by[n, "full"].wall_s /
                  by[n, "floor"].wall_s, 2), TARGET_RATIO, "x")
    full = sum(by[n, "full"].wall_s for n in sizes if (n, "full") in by)
    floor = sum(by[n, "floor"].wall_s for n in sizes if (n, "floor") in by)
    if floor:
        check("all sizes: total full / total floor", round(full / floor, 2), TARGET_RATIO, "x")
    for m in results:
        if m.returncode != 0:
            checks.append({"target": f"{m.participants} participants: {m.what} ran", "value":
                           m.returncode, "limit": 0, "unit": "exit code", "pass": False})
    return checks


def report(results: list[Measurement], checks: list[dict], profiles: dict[int, str],
           generate_s: dict[int, float]) -> str:
    lines = ["# Benchmark: analysis speed", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}; run {time.strftime('%Y-%m-%d %H:%M')}.",
             "Datasets: simulated by `experiment.simulation.example_data` (360 test trials + practice per "
             "participant). *full* = `python -m analysis`; *floor* = load the files + one "
             "`fit_condition_lmm` fit; both in fresh processes (start-up included).", "",
             "| participants | what | wall (s) | CPU (s) | peak RSS (MB) | exit |",
             "|---:|---|---:|---:|---:|---:|"]
    for m in results:
        lines.append(f"| {m.participants} | {m.what} | {m.wall_s:.2f} | {m.cpu_s:.2f} | "
                     f"{m.peak_mb:.0f} | {m.returncode} |")
    lines += ["", "| target | value | limit | result |", "|---|---:|---:|---|"]
    for c in checks:
        lines.append(f"| {c['target']} | {c['value']} {c['unit']} | {c['limit']} {c['unit']} | "
                     f"{'PASS' if c['pass'] else 'FAIL'} |")
    by = {(m.participants, m.what): m for m in results}
    ratios = [f"{n}: {by[n, 'full'].cpu_s / by[n, 'floor'].cpu_s:.2f}x"
              for n in sorted({m.participants for m in results})
              if (n, "full") in by and (n, "floor") in by and by[n, "floor"].cpu_s > 0]
    if ratios:
        lines += ["", "CPU-time ratio full / floor (less sensitive to other load on the "
                  "machine than wall time): " + ", ".join(ratios) + "."]
    if generate_s:
        lines += ["", "Dataset generation (not part of the targets): " + ", ".join(
            f"{n}: {s:.1f} s" if s >= 0.5 else f"{n}: reused" for n, s in sorted(generate_s.items()))
            + f". Data in `{WORK.relative_to(ROOT)}/` (gitignored)."]
    for n, text in sorted(profiles.items()):
        lines += ["", f"## Profile of the full command, {n} participants (cumulative time)", "",
                  "```", text.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main(out_dir: Path, sizes: tuple[int, ...] = SIZES) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    generate_s: dict[int, float] = {}
    folders = {}
    for n in sizes:
        t0 = time.perf_counter()
        folders[n] = dataset(n)
        generate_s[n] = time.perf_counter() - t0
    for n in sizes:
        results.append(measure([sys.executable, "-c", _FLOOR, str(folders[n])], n, "floor"))
        results.append(measure(full_command(folders[n], WORK / f"out-{n}"), n, "full"))
        print(f"analysis_speed: {n} participants: floor {results[-2].wall_s:.1f} s, "
              f"full {results[-1].wall_s:.1f} s, {results[-1].peak_mb:.0f} MB", file=sys.stderr)
    checks = evaluate(results)
    profiles = {}
    if not all(c["pass"] for c in checks):  # where does the time go? (largest size)
        n = max(sizes)
        profiles[n] = profile(folders[n], WORK / f"profile-{n}")
    md = out_dir / "analysis_speed.md"
    md.write_text(report(results, checks, profiles, generate_s), encoding="utf-8")
    (out_dir / "analysis_speed.json").write_text(json.dumps(
        {"measurements": [asdict(m) for m in results], "targets": checks,
         "generate_s": generate_s}, indent=2) + "\n", encoding="utf-8")
    return md


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results"))
