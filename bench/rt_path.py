"""Benchmark of the session's timing: RT path vs the bare ptb floor, save cost, command -> first screen.

Run under an X display (``make bench`` starts Xvfb). In one run:
1. the floor: a bare PsychoPy loop, keys injected by XTEST (``bench/ptb_floor.py``), before
   and after the session so both see the same machine load;
2. the experiment's own RT path: a real simulated session (``python -m experiment --simulate``)
   of >= 200 trials; error = recorded rt_ms - (XTEST injection time - stimulus onset);
3. the per-trial save cost (append + flush + fsync), from the session and from 1000 writes;
4. command -> first screen: process start to the first flipped screen (sidecar ``first_screen_s``);
5. the press-duration sweep (issue 9): a session answered by the independent press bot
   (``bench/press_bot.py``: holds of 0 ms to 1.5 s, presses in every phase, >= 500 presses);
   RT error per hold duration and every press counted on a wrong trial or screen.
Targets (issue 2): error SD <= 1.2x the floor's, |mean error| <= 1 ms, no missed presses,
save <= 2 ms and never inside the response window; (issue 9) 0 presses on a wrong trial or screen.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiment.core.datafile import CsvAppender, read_rows
from experiment.core.records import TRIAL_COLUMNS

REPO = Path(__file__).resolve().parents[1]
BENCH_CONFIG = {  # 3 conditions x 72 trials = 216 trials, no practice, short intervals
    "design": {"blocks_per_condition": 1, "trials_per_block": 72},
    "timing": {"fixation_s": 0.15, "response_window_s": 1.5, "iti_min_s": 0.1,
               "iti_max_s": 0.15, "settle_s": 0.0},
    "practice": {"trials": 0},
    "display": {"fullscreen": False, "size_px": [800, 600]},
    "simulation": {"mu_s": 0.3, "sigma_s": 0.05, "tau_s": 0.1, "error_rate": 0.0},
}
SWEEP_CONFIG = {  # 3 conditions x 120 trials, every phase long enough for the bot's patterns
    "design": {"blocks_per_condition": 1, "trials_per_block": 120},
    "timing": {"fixation_s": 0.3, "response_window_s": 1.2, "iti_min_s": 0.1,
               "iti_max_s": 0.15, "settle_s": 0.0},
    "practice": {"trials": 0},
    "display": {"fullscreen": False, "size_px": [800, 600]},
}
FLOOR_TRIALS = 120  # twice: before and after the session
# A press whose XTEST call (fake_input + the sync round trip, normally 1-3 ms here) took longer
# than this had its thread descheduled between reading the clock and the X server seeing the
# key: its true time is uncertain, so it is left out of both error samples (and counted).
MAX_INJECTION_WINDOW_MS = 5.0


def _iqr(errors: list[float]) -> float:
    """Interquartile range (ms) of ``errors`` (ms)."""
    q1, q3 = np.percentile(np.asarray(errors), [25, 75])
    return float(q3 - q1)


def _stats(errors: list[float]) -> dict[str, float]:
    a = np.asarray(errors)
    return {"n": int(a.size), "mean_ms": round(float(a.mean()), 4), "sd_ms": round(float(a.std(ddof=1)), 4),
            "median_ms": round(float(np.median(a)), 4), "max_abs_ms": round(float(np.abs(a).max()), 4)}


def floor_errors(work: Path, tag: str) -> tuple[list[float], int]:
    out = work / f"floor_{tag}.json"
    subprocess.run([sys.executable, "-m", "bench.ptb_floor", str(FLOOR_TRIALS), str(out)],
                   cwd=REPO, check=True, capture_output=True)
    trials = json.loads(out.read_text())["trials"]
    ok = [t for t in trials if t["recorded_rt_ms"] is not None and t["injected_rt_ms"] is not None]
    errors = [t["recorded_rt_ms"] - t["injected_rt_ms"] for t in ok
              if t["injected_rt_max_ms"] - t["injected_rt_ms"] <= MAX_INJECTION_WINDOW_MS]
    return errors, sum(t["recorded_rt_ms"] is None for t in trials), len(ok) - len(errors)


def session_errors(work: Path) -> tuple[list[float], int, int, dict, float]:
    config_file = work / "bench.toml"
    import tomli_w
    config_file.write_text(tomli_w.dumps(BENCH_CONFIG))
    log = work / "sim.jsonl"
    data = work / "data"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "experiment", "--config", str(config_file),
                           "--simulate", "--participant", "B001", "--data-dir", str(data),
                           "--sim-log", str(log)], cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bench session failed: {proc.stderr[-2000:]}")
    injected = {}
    for line in log.read_text().splitlines():
        item = json.loads(line)
        if item["label"].startswith("trial"):
            injected[item["label"]] = item
    rows = read_rows(next(data.glob("B001/*_trials.csv")))
    errors, missed, uncertain = [], 0, 0
    for row in rows:
        inj = injected.get(f"trial p{row['is_practice']} b{row['block']} t{row['trial_in_block']}")
        if inj is None:
            continue
        if row["response"] != inj["key"]:
            missed += 1
            continue
        if inj["rt_max_ms"] - inj["rt_ms"] > MAX_INJECTION_WINDOW_MS:
            uncertain += 1
            continue
        errors.append(float(row["rt_ms"]) - inj["rt_ms"])
    sidecar = json.loads(next(data.glob("B001/*_session.json")).read_text())
    return errors, missed, uncertain, sidecar["runs"][0], wall


def press_sweep(work: Path) -> dict:
    """The press bot's session: violations, presses, and RT errors by hold duration (ms)."""
    import tomli_w

    from bench.press_bot import Tolerance, violations
    from experiment.core.config import load_config
    config_file = work / "sweep.toml"
    config_file.write_text(tomli_w.dumps(SWEEP_CONFIG))
    record_file, data = work / "bot.json", work / "sweep"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "press_matrix_driver.py"),
                           "--config", str(config_file), "--simulate", "--participant", "S001",
                           "--data-dir", str(data), "--sim-log", str(record_file)],
                          cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"press sweep session failed: {proc.stderr[-2000:]}")
    config = load_config(config_file)
    record = json.loads(record_file.read_text())
    rows = read_rows(next(data.glob("S001/*_trials.csv")))
    bad, counts = violations(rows, record, list(config.response.response_names().values()),
                             config.timing.response_window_s, config.display.min_screen_s,
                             Tolerance())
    # as for the floor: a press whose XTEST call took long has an uncertain true time
    certain = [p for p in counts["judged_presses"] if p["injection_ms"] <= MAX_INJECTION_WINDOW_MS]
    holds = sorted({p["hold_s"] for p in certain})
    by_hold = {}
    for hold in holds:
        errors = [p["error_ms"] for p in certain if p["hold_s"] == hold]
        by_hold[f"{hold * 1000:g}"] = _stats(errors) | {"p95_ms": round(float(np.percentile(errors, 95)), 4)}
    return {"presses": len(record["injected"]), "trials": counts["trials"],
            "judged": counts["judged"], "ambiguous": counts["ambiguous"],
            "uncertain": len(counts["judged_presses"]) - len(certain),
            "screens": counts["screens"], "violations": bad, "by_hold_ms": by_hold,
            "all": _stats([p["error_ms"] for p in certain]),
            "wall_s": round(time.monotonic() - start, 1)}


def writer_cost(work: Path, n: int = 1000) -> dict[str, float]:
    row = {c: "x" for c in TRIAL_COLUMNS} | {"rt_ms": 612.345, "stim_onset_s": 123.456789}
    with CsvAppender(work / "writer.csv", TRIAL_COLUMNS) as app:
        ms = [app.append(row) * 1000 for _ in range(n)]
    return {"n": n, "median_ms": round(statistics.median(ms), 4),
            "p99_ms": round(float(np.percentile(ms, 99)), 4), "max_ms": round(max(ms), 4)}


def main(out_dir: Path) -> Path:
    (REPO / "bench" / "work").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rt-", dir=REPO / "bench" / "work") as tmp:
        work = Path(tmp)
        floor_a, floor_missed_a, floor_unc_a = floor_errors(work, "before")
        ours, missed, uncertain, run, wall = session_errors(work)
        sweep = press_sweep(work)
        floor_b, floor_missed_b, floor_unc_b = floor_errors(work, "after")
        writes = writer_cost(work)
    floor = _stats(floor_a + floor_b)
    mine = _stats(ours)
    ratio = mine["sd_ms"] / floor["sd_ms"]
    targets = [
        ("RT error SD <= 1.2x floor SD", ratio <= 1.2, f"{mine['sd_ms']:.3f} vs {floor['sd_ms']:.3f} ms (x{ratio:.2f})"),
        ("|mean RT error| <= 1 ms", abs(mine["mean_ms"]) <= 1.0, f"{mine['mean_ms']:.3f} ms"),
        ("no missed presses", missed == 0, f"{missed} missed of {mine['n'] + missed}"),
        ("save <= 2 ms (session p99)", run["save_ms_p99"] <= 2.0, f"median {run['save_ms_median']:.3f}, p99 {run['save_ms_p99']:.3f}, max {run['save_ms_max']:.3f} ms"),
        ("save <= 2 ms (1000 writes, p99)", writes["p99_ms"] <= 2.0, f"median {writes['median_ms']:.3f}, p99 {writes['p99_ms']:.3f}, max {writes['max_ms']:.3f} ms"),
        (">= 500 presses in the sweep", sweep["presses"] >= 500, f"{sweep['presses']} presses"),
        ("0 presses on a wrong trial or screen", not sweep["violations"],
         f"{len(sweep['violations'])} of {sweep['presses']}"),
    ]
    result = {"floor": floor, "floor_missed": floor_missed_a + floor_missed_b, "session": mine,
              "session_missed": missed, "floor_uncertain_injections": floor_unc_a + floor_unc_b,
              "session_uncertain_injections": uncertain, "sd_ratio": round(ratio, 3), "session_run": run,
              "session_wall_s": round(wall, 1), "writer": writes, "press_sweep": sweep,
              "targets": [{"target": t, "pass": ok, "value": v} for t, ok, v in targets],
              "floor_errors_ms": [round(e, 4) for e in floor_a + floor_b],
              "session_errors_ms": [round(e, 4) for e in ours]}
    lines = [
        "# RT path benchmark (issues 2 and 9)", "",
        f"Machine: {run['versions']['platform']}; keyboard backend {run['keyboard_backend']}; "
        "virtual display (Xvfb), keys injected with XTEST. Error = recorded RT - (injection time - stimulus flip).",
        "",
        "| measure | n | mean (ms) | SD (ms) | median (ms) | max abs (ms) |", "|---|---|---|---|---|---|",
        f"| bare ptb floor (before + after) | {floor['n']} | {floor['mean_ms']:.3f} | {floor['sd_ms']:.3f} | {floor['median_ms']:.3f} | {floor['max_abs_ms']:.3f} |",
        f"| experiment's RT path (real session) | {mine['n']} | {mine['mean_ms']:.3f} | {mine['sd_ms']:.3f} | {mine['median_ms']:.3f} | {mine['max_abs_ms']:.3f} |",
        "",
        f"Interquartile range of the errors (not a target; the SD is sensitive to single late "
        f"stamps): floor {_iqr(floor_a + floor_b):.3f} ms, session {_iqr(ours):.3f} ms. "
        "Every error is in the .json.",
        "",
        f"Presses whose XTEST call took > {MAX_INJECTION_WINDOW_MS} ms (true time uncertain; "
        f"excluded from both samples): floor {floor_unc_a + floor_unc_b}, session {uncertain}.",
        "",
        f"Session: {mine['n'] + missed + uncertain} presses, {missed} missed; wall time {wall:.1f} s; "
        f"command -> first screen {run.get('first_screen_s')} s; "
        f"median flip interval {run['frame_interval_median_ms']} ms (no vsync on Xvfb).",
        f"Per-trial save (append + flush + fsync, after the blank flip that ends the response window): "
        f"session median {run['save_ms_median']} ms, max {run['save_ms_max']} ms; "
        f"1000 writes: median {writes['median_ms']} ms, p99 {writes['p99_ms']} ms, max {writes['max_ms']} ms.",
        "", "## Press-duration sweep (issue 9)", "",
        f"An independent bot (bench/press_bot.py) answered a {sweep['trials']}-trial session with "
        f"{sweep['presses']} key presses held 0 (down and up in one X batch) to 1500 ms, with X "
        "auto-repeat on, during the fixation, just before and within a frame after the word's flip, "
        f"in the interval, and on {sweep['screens']} experimenter screens; {sweep['judged']} trials "
        f"judged ({sweep['ambiguous']} with a press within 2 ms of a boundary left out). Error = "
        "recorded RT - XTEST call time (ms), the floor's measure; answers whose XTEST call took "
        f"> {MAX_INJECTION_WINDOW_MS} ms ({sweep['uncertain']}) are left out of the error table, "
        "not of the wrong-trial count.", "",
        "| hold (ms) | n | mean (ms) | SD (ms) | median (ms) | p95 (ms) | max abs (ms) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {h} | {v['n']} | {v['mean_ms']:.3f} | {v['sd_ms']:.3f} | {v['median_ms']:.3f} | "
          f"{v['p95_ms']:.3f} | {v['max_abs_ms']:.3f} |" for h, v in sweep["by_hold_ms"].items()],
        f"| all | {sweep['all']['n']} | {sweep['all']['mean_ms']:.3f} | {sweep['all']['sd_ms']:.3f} | "
        f"{sweep['all']['median_ms']:.3f} | | {sweep['all']['max_abs_ms']:.3f} |",
        "", f"Presses counted on a wrong trial or screen: {len(sweep['violations'])}"
        + "".join(f"\n- {v}" for v in sweep["violations"][:20]),
        "", "| target | result | value |", "|---|---|---|",
        *[f"| {t} | {'PASS' if ok else 'FAIL'} | {v} |" for t, ok, v in targets], "",
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "rt_path.json").write_text(json.dumps(result, indent=2) + "\n")
    path = out_dir / "rt_path.md"
    path.write_text("\n".join(lines))
    return path


if __name__ == "__main__":
    print(main(Path(__file__).with_name("results")))
