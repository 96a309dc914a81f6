"""Trial and block files that follow the codebook (data/README.md), drawn from
``analysis.statistics.simulation.RTModel``, for the analysis tests.

``write_dataset`` writes one session per participant into ``root/<participant>/`` with the
experiment's file naming. It is vectorised (numpy), so hundreds of participants take a
second or two. RTs are written in ms, rounded to 0.001 ms like the session writer does.
``device="voice"`` writes vocal-response sessions (the RTs and errors are the same draws as
with the keyboard; the experimenter's codes come from a separate generator), and
``write_coder_file`` a coder file into a session's audio folder (no audio is needed by
the analysis).
"""
from __future__ import annotations

import csv
from itertools import permutations
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from analysis.input.codebook import BLOCK_COLUMN_NAMES, CODER_COLUMN_NAMES, TRIAL_COLUMN_NAMES
from analysis.statistics.simulation import RTModel

INKS = ("red", "green", "blue", "yellow")
KEYS = {"red": "d", "green": "f", "blue": "j", "yellow": "k"}
NEUTRAL_WORDS = ("XXXX", "TABLE", "HOUSE", "CHAIR")


def _orders(conditions: Sequence[str]) -> list[tuple[str, ...]]:
    return list(permutations(conditions))


def write_dataset(root: Path, n_participants: int = 6, conditions: Sequence[str] = (
        "stand", "forward", "backward"), trials_per_block: int = 24,
        blocks_per_condition: int = 2, congruency_mix: Mapping[str, float] | None = None,
        practice_trials: int = 6, seed: int = 1, model: RTModel | None = None,
        window_s: float = 2.5, simulated: int = 1, with_blocks: bool = True,
        prefix: str = "SIM", condition_sd_s: float = 0.0, device: str = "keyboard",
        unclear_rate: float = 0.0, uncoded_rate: float = 0.0, with_config: bool = True
        ) -> list[Path]:
    """Write ``n_participants`` sessions; returns the trial-file paths.

    ``congruency_mix``: proportions of test trials per congruency (default all incongruent).
    Condition order cycles through all permutations of ``conditions``; each condition's
    blocks are consecutive (e.g. stand, stand, forward, forward, ...). ``condition_sd_s``:
    SD (s) of participant × condition shifts (random condition slopes).
    ``device``: 'keyboard' or 'voice'. Voice trials: the experimenter codes a response
    correct or wrong, except that a share ``unclear_rate`` is coded unclear and
    ``uncoded_rate`` left uncoded; a trial without speech is uncoded. ``with_config``: write
    the session's ``_config.toml`` (the keys the analysis reads its vocabulary from).
    """
    assert device in ("keyboard", "voice"), device
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
        vrng = np.random.default_rng([seed, i, 7])   # voice codes: not from the RT draws
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
                resp = "" if timeout else (KEYS[ink] if ok else KEYS[INKS[(INKS.index(ink) + 1) % 4]])
                rt = "" if timeout else repr(round(float(rt_s[t]) * 1000, 3))
                voice = {"accuracy_code": "auto", "audio_file": "", "noise_file": "",
                         "voice_online_rt_ms": "", "voice_confidence": ""}
                if device == "voice":
                    u = vrng.random()
                    code = ("uncoded" if timeout or u < uncoded_rate else
                            "unclear" if u < uncoded_rate + unclear_rate else
                            "correct" if ok else "wrong")
                    ok = int(code == "correct")
                    resp = "" if timeout else "voice"
                    voice = {"accuracy_code": code,
                             "audio_file": f"{stem}_p{is_practice}_b{block:02d}_t{t + 1:03d}.wav",
                             "noise_file": f"{stem}_noise_p{is_practice}_b{block:02d}.wav",
                             "voice_online_rt_ms": "" if timeout else
                             repr(round(float(rt_s[t]) * 1000 + 45.0, 3)),
                             "voice_confidence": "" if timeout else
                             repr(round(float(vrng.uniform(0.5, 1.0)), 3))}
                ncorrect += ok
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
                    "correct_response": KEYS[ink] if device == "keyboard" else ink,
                    "response": resp, "rt_ms": rt, "correct": ok, "timeout": timeout,
                    "rt_source": "keyboard" if device == "keyboard" else "voice-detected",
                    "response_device": device, "fixation_onset_s": round(clock, 6),
                    "stim_onset_s": round(clock + 0.5, 6), "iti_s": 0.75, "dropped_frames": 0,
                    **voice,
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
        if with_config:
            _write_config(folder / f"{stem}_config.toml", conditions, mix)
        out.append(path)
    return out


def read_trials(path: Path) -> list[dict[str, str]]:
    """The rows of a trial file as dicts of strings."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def audio_dir(trials_path: Path) -> Path:
    """``<folder>/<stem>_audio`` of a session's trial file."""
    p = Path(trials_path)
    return p.with_name(p.name[: -len("_trials.csv")] + "_audio")


def coder_row(trial: Mapping[str, str], coder: str, code: str, onset_ms: float | None,
              timestamp: str = "2026-02-01T10:00:00.000+00:00") -> dict:
    """A coder-file row for ``trial`` (a row of :func:`read_trials`); ``onset_ms`` None:
    no speech. onset_moved = 1 unless the onset equals the trial's rt_ms."""
    detected = trial["rt_ms"]
    same = (onset_ms is None and detected == "") or (
        onset_ms is not None and detected != "" and abs(float(detected) - onset_ms) < 0.0005)
    return {"coder": coder, "is_practice": trial["is_practice"], "block": trial["block"],
            "trial_in_block": trial["trial_in_block"],
            "trial_in_session": trial["trial_in_session"], "audio_file": trial["audio_file"],
            "code": code, "onset_ms": "" if onset_ms is None else f"{onset_ms:.3f}",
            "detected_rt_ms": detected, "onset_moved": int(not same), "timestamp": timestamp}


def write_coder_file(trials_path: Path, coder: str, rows: Sequence[Mapping]) -> Path:
    """Write ``<stem>_audio/coding_<coder>.csv`` (header + ``rows``) next to the trial file."""
    folder = audio_dir(trials_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"coding_{coder}.csv"
    _write_csv(path, CODER_COLUMN_NAMES, list(rows))
    return path


def _write_config(path: Path, conditions: Sequence[str], mix: Mapping[str, float]) -> None:
    """The config keys a session saves that the analysis reads (data/README.md)."""
    names = ", ".join(f'"{c}"' for c in conditions)
    inks = ", ".join(f'"{c}"' for c in INKS)
    path.write_text(f'[experiment]\nname = "stroop-walk"\nlanguage = "en"\n\n[design]\n'
                    f'conditions = [{names}]\ncolours = [{inks}]\n'
                    f'proportion_congruent = {float(mix.get("congruent", 0.0))}\n'
                    f'proportion_neutral = {float(mix.get("neutral", 0.0))}\n\n'
                    f'[practice]\ncondition = "{conditions[0]}"\n', encoding="utf-8")


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
