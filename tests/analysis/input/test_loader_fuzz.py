"""Seeded mutations of valid trial files against the loader: it never raises anything but a
one-line DataError, and every file it accepts passes the codebook's rules as checked here
by a separate, plain-Python oracle (not the loader's code).

500 mutated files in the slow set, 60 in the fast one. Mutations: hostile cell values
(inf, nan, 1e300, 2^63, '3_0', BOMs, other participants, long cells), cells copied from
other rows, rows duplicated, deleted, swapped or taken from another file, stray bytes and
truncation.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

from analysis.input.codebook import TRIAL_COLUMNS
from analysis.input.loader import DataError, load_trials
from analysis_data import write_dataset

HOSTILE = ["", "inf", "-inf", "nan", "NaN", "1e300", "-1", "0", "1", "2", "3_0", "1.5", " 1",
           "1 ", str(2**53), str(2**63), "100000000000000000000", "x", "\ufeffSIM001", "SIM002",
           "congruent", "incongruent", "neutral", "d", "f", "voice", "auto", "W" * 600,
           "a\nb", "é", "0x1F", "1e-300", "-0", "+5", ".5", "5."]
SESSION_COLUMNS = ("participant", "session", "experiment", "date", "seed", "simulated",
                   "condition_order", "response_device")
INT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[bytes]:
    root = tmp_path_factory.mktemp("fuzzsrc")
    paths = write_dataset(root, n_participants=3, trials_per_block=12, blocks_per_condition=1,
                          practice_trials=4, seed=21, with_blocks=False,
                          congruency_mix={"incongruent": 0.5, "congruent": 0.25,
                                          "neutral": 0.25})
    paths += write_dataset(root / "voice", n_participants=1, trials_per_block=12,
                           blocks_per_condition=1, practice_trials=4, seed=22,
                           with_blocks=False, device="voice", prefix="VOX")
    return [p.read_bytes() for p in paths]


def mutated(sources: list[bytes], rng: np.random.Generator) -> bytes:
    raw = sources[int(rng.integers(len(sources)))]
    text = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(8))
        r = int(rng.integers(len(body)))
        c = int(rng.integers(len(header)))
        if op <= 2:
            body[r][c] = HOSTILE[int(rng.integers(len(HOSTILE)))]
        elif op == 3:
            body[r][c] = body[int(rng.integers(len(body)))][c]
        elif op == 4:
            body.insert(int(rng.integers(len(body) + 1)), list(body[r]))
        elif op == 5 and len(body) > 2:
            del body[r]
        elif op == 6 and r + 1 < len(body):
            body[r], body[r + 1] = body[r + 1], body[r]
        else:
            other = list(csv.reader(io.StringIO(
                sources[int(rng.integers(len(sources)))].decode())))[1:]
            body[r] = list(other[int(rng.integers(len(other)))])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + body)
    data = buf.getvalue().encode("utf-8")
    if rng.random() < 0.15:
        at = int(rng.integers(len(data)))
        data = data[:at] + [b"\xef\xbb\xbf", b"\xff", b"\x00", b",", b"\n", b'"'][
            int(rng.integers(6))] + data[at:]
    if rng.random() < 0.1:
        data = data[: int(rng.integers(len(data)))]
    return data


def oracle_problems(data: bytes, torn_dropped: bool) -> list[str]:
    """The codebook's rules, restated in plain Python; [] if the file keeps them all."""
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if torn_dropped:
        rows = rows[:-1]
    problems = []
    spec = {c.name: c for c in TRIAL_COLUMNS}
    for n, row in enumerate(rows, start=1):
        for name, col in spec.items():
            v = row[name]
            if any(ord(ch) < 32 or ch in "\x7f\ufeff" for ch in v) or len(v) > 512:
                problems.append(f"row {n} {name}: bad characters or too long")
            if v == "":
                if not col.empty_ok:
                    problems.append(f"row {n} {name}: empty")
                continue
            if col.kind in ("int", "float"):
                if not INT.fullmatch(v) or not math.isfinite(float(v)):
                    problems.append(f"row {n} {name}: not a number")
                    continue
                x = float(v)
                if col.kind == "int" and (x != int(x) or abs(x) >= 2**53):
                    problems.append(f"row {n} {name}: not a 53-bit integer")
                if (col.minimum is not None and x < col.minimum) or (
                        col.maximum is not None and x > col.maximum):
                    problems.append(f"row {n} {name}: out of range")
            elif col.allowed is not None and v not in col.allowed:
                problems.append(f"row {n} {name}: not allowed")
    if problems:
        return problems
    seen, congruency = set(), {}
    for n, row in enumerate(rows, start=1):
        for name in SESSION_COLUMNS:
            if row[name] != rows[0][name]:
                problems.append(f"row {n}: second {name}")
        if int(float(row["trial_in_session"])) != n:
            problems.append(f"row {n}: trial_in_session not contiguous")
        if n > 1 and int(float(row["run"])) < int(float(rows[n - 2]["run"])):
            problems.append(f"row {n}: run goes back")
        key = (row["is_practice"], row["block"], int(float(row["trial_in_block"])))
        if key in seen:
            problems.append(f"row {n}: planned trial twice")
        seen.add(key)
        congruency.setdefault(key, row["congruency"])
        tib = key[2]
        if tib == 1 and row["prev_congruency"] != "":
            problems.append(f"row {n}: prev_congruency on a first trial")
        if tib > 1:
            before = congruency.get((key[0], key[1], tib - 1))
            if before is None:
                problems.append(f"row {n}: predecessor missing")
            elif row["prev_congruency"] != before:
                problems.append(f"row {n}: prev_congruency wrong")
        wc, ink = row["word_colour"], row["ink"]
        expected = "neutral" if wc == "" else "congruent" if wc == ink else "incongruent"
        if row["congruency"] != expected:
            problems.append(f"row {n}: congruency")
        timeout, correct = row["timeout"] == "1", row["correct"] == "1"
        if timeout != (row["rt_ms"] == ""):
            problems.append(f"row {n}: timeout vs rt_ms")
        if timeout and correct:
            problems.append(f"row {n}: correct timeout")
        if row["response_device"] != "voice":
            if timeout != (row["response"] == ""):
                problems.append(f"row {n}: timeout vs response")
            if correct != (row["response"] == row["correct_response"] and not timeout):
                problems.append(f"row {n}: correct vs response")
    return problems


def fuzz(sources: list[bytes], tmp_path: Path, n_cases: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    folder = tmp_path / "case"
    folder.mkdir()
    path = folder / "X_stroop-walk_s1_2026-01-01_09h00.00.000_trials.csv"
    counts = {"accepted": 0, "refused": 0}
    for case in range(n_cases):
        data = mutated(sources, rng)
        path.write_bytes(data)
        try:
            loaded = load_trials(folder)
        except DataError as e:
            assert "\n" not in str(e) and str(path) in str(e), (case, str(e))
            counts["refused"] += 1
            continue
        torn = any("incomplete last line" in n for n in loaded.notes)
        problems = oracle_problems(data, torn)
        assert problems == [], f"case {case}: accepted although {problems[:3]}"
        counts["accepted"] += 1
    return counts


def test_fuzz_fast(sources, tmp_path):
    counts = fuzz(sources, tmp_path, 60, seed=1)
    assert counts["refused"] > 30


@pytest.mark.slow
def test_fuzz_500_mutated_files(sources, tmp_path):
    counts = fuzz(sources, tmp_path, 500, seed=2)
    assert counts["refused"] + counts["accepted"] == 500
    assert counts["refused"] > 300
