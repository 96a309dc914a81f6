"""Trial and block files that follow the codebook (data/README.md), drawn from
``analysis.simulation.RTModel``, for the analysis tests.

``write_dataset`` writes one session per participant into ``root/<participant>/`` with the
experiment's file naming. It is vectorised (numpy), so hundreds of participants take a
second or two. RTs are written in ms, rounded to 0.001 ms like the session writer does.
"""
from __future__ import annotations

import csv
from itertools import permutations
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from analysis.codebook import BLOCK_COLUMN_NAMES, TRIAL_COLUMN_NAMES, INKS
from analysis.simulation import RTModel

KEYS = {"red": "d", "green": "f", "blue": "j", "yellow": "k"}
NEUTRAL_WORDS = ("XXXX", "TABLE", "HOUSE", "CHAIR")


def _orders(conditions: Sequence[str]) -> list[tuple[str, ...]]:
    return list(permutations(conditions))


def write_dataset(root: Path, n_participants: int = 6, conditions: Sequence[str] = (
        "stand", "forward", "backward"), trials_per_block: int = 24,
        blocks_per_condition: int = 2, congruency_mix: Mapping[str, float] | None = None,
        practice_trials: int = 6, seed: int = 1, model: RTModel | None = None,
        window_s: float = 2.5, simulated: int = 1, with_blocks: bool = True,
        prefix: str = "SIM", condition_sd_s: float = 0.0) -> list[Path]:
    """Write ``n_participants`` sessions; returns the trial-file paths.

    ``congruency_mix``: proportions of test trials per congruency (default all incongruent).
    Condition order cycles through all permutations of ``conditions``; each condition's
    blocks are consecutive (e.g. stand, stand, forward, forward, ...). ``condition_sd_s``:
    SD (s) of participant × condition shifts (random condition slopes).
    """
    model = model or RTModel()
    mix = dict(congruency_mix or {"incongruent": 1.0})
    rng = np.random.default_rng(seed)
    orders = _orders(conditions)
    root = Path(root)
    out = []
    for i in range(n_participants):
        pid = f"{prefix}{i + 1:03d}"
        order = orders[i % len(orders)]
        date = f"2026-01-{(i % 28) + 1:02d}_09h00.00.000"
        stem = f"{pid}_stroop-walk_s1_{date}"
        folder = root / pid
        folder.mkdir(parents=True, exist_ok=True)
        offset = model.participant_offset_s(rng)
        cond_off = dict(zip(conditions, rng.normal(0.0, condition_sd_s, len(conditions))
                            if condition_sd_s > 0 else np.zeros(len(conditions))))
        plan = [(1, 1, order[0], 1, practice_trials)] if practice_trials else []
        b = 0
        for c in order:
            for k in range(blocks_per_condition):
                b += 1
                plan.append((0, b, c, k + 1, trials_per_block))
        trials, blocks = [], []
        n_session = 0
        clock = 10.0
        for is_practice, block, cond, bic, n in plan:
            names = list(mix)
            counts = np.floor(np.array([mix[c] for c in names]) * n).astype(int)
            counts[0] += n - counts.sum()
            cong = np.repeat(names, counts)
            rng.shuffle(cong)
            mu = np.array([model._mu(cond, cg, offset + cond_off[cond]) for cg in cong])
            rt_s = np.maximum(model.rts_s(rng, mu), 0.15)
            correct = rng.random(n) >= model.error_rate
            rt_s[rt_s >= window_s] = np.nan
            inks = rng.choice(INKS, size=n)
            speed = 0.0 if cond == "stand" else 2.0
            ncorrect = 0
            for t in range(n):
                n_session += 1
                ink = str(inks[t])
                cg = str(cong[t])
                if cg == "congruent":
                    word_colour = ink
                elif cg == "neutral":
                    word_colour = ""
                else:
                    word_colour = INKS[(INKS.index(ink) + 1 + t % 3) % 4]
                word = word_colour.upper() if word_colour else NEUTRAL_WORDS[t % 4]
                timeout = int(np.isnan(rt_s[t]))
                ok = int(bool(correct[t]) and not timeout)
                ncorrect += ok
                resp = "" if timeout else (KEYS[ink] if ok else KEYS[INKS[(INKS.index(ink) + 1) % 4]])
                clock += 3.0
                trials.append({
                    "participant": pid, "session": 1, "run": 1, "experiment": "stroop-walk",
                    "date": date, "simulated": simulated, "seed": 1000 + i,
                    "condition_order": "-".join(order), "is_practice": is_practice,
                    "block": block, "condition": cond, "block_in_condition": bic,
                    "speed_set_kmh": speed, "trial_in_block": t + 1,
                    "trial_in_session": n_session, "word": word, "word_colour": word_colour,
                    "ink": ink, "congruency": cg,
                    "prev_congruency": "" if t == 0 else str(cong[t - 1]),
                    "correct_response": KEYS[ink], "response": resp,
                    "rt_ms": "" if timeout else repr(round(float(rt_s[t]) * 1000, 3)),
                    "correct": ok, "timeout": timeout, "rt_source": "keyboard",
                    "response_device": "keyboard", "fixation_onset_s": round(clock, 6),
                    "stim_onset_s": round(clock + 0.5, 6), "iti_s": 0.75, "dropped_frames": 0,
                    "timestamp": f"2026-01-01T09:00:{n_session % 60:02d}.000+00:00"})
            blocks.append({
                "participant": pid, "session": 1, "run": 1, "is_practice": is_practice,
                "block": block, "condition": cond, "block_in_condition": bic,
                "speed_set_kmh": speed, "speed_actual_kmh": speed, "n_trials": n,
                "accuracy": round(ncorrect / n, 4), "started": "2026-01-01T09:00:00+00:00",
                "ended": "2026-01-01T09:05:00+00:00"})
        path = folder / f"{stem}_trials.csv"
        _write_csv(path, TRIAL_COLUMN_NAMES, trials)
        if with_blocks:
            _write_csv(folder / f"{stem}_blocks.csv", BLOCK_COLUMN_NAMES, blocks)
        out.append(path)
    return out


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
