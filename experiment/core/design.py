"""Trial lists and condition orders: pure, seeded, no PsychoPy import.

A block's trial list holds each incongruent word-ink pair equally often (12 pairs for four
colours), plus congruent and neutral trials in their exact configured proportions, each
ink equally often within every trial type. Consecutive trials never repeat the ink, never
repeat the word, and the previous trial's word never becomes the current ink (no negative
priming). The constraints hold within a block; each block starts after a break.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from experiment.core.config import Config
from experiment.core.stimulus_set import StimulusSet
from experiment.core.trial_types import trial_type_counts

CONGRUENCIES = ("congruent", "incongruent", "neutral")
_PRACTICE_STREAM = 1_000  # rng stream ids of practice rounds start here


@dataclass(frozen=True)
class PlannedTrial:
    """One trial as planned before the session (what is shown and what is correct)."""
    is_practice: int          # 1 practice, 0 test
    block: int                # test blocks 1..N; practice rounds 1..max_repeats
    condition: str            # locomotion condition
    block_in_condition: int   # 1..blocks_per_condition (practice: the round)
    trial_in_block: int       # 1-based
    word: str                 # the displayed text
    word_colour: str          # colour the word names; '' for a neutral word
    ink: str                  # colour name of the ink
    congruency: str           # congruent | incongruent | neutral
    prev_congruency: str      # congruency of trial n-1 in the block; '' for the first
    correct_key: str          # key (or button) that is correct for the ink
    iti_s: float              # jittered inter-trial interval after this trial, seconds


@dataclass(frozen=True)
class PlannedBlock:
    is_practice: int
    block: int
    condition: str
    block_in_condition: int
    trials: tuple[PlannedTrial, ...]


def session_seed(base_seed: int, participant: str, session: int) -> int:
    """The 32-bit seed of one participant's session, stable across runs and machines."""
    digest = hashlib.sha256(f"{base_seed}:{participant}:{session}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def williams_orders(conditions: Sequence[str]) -> list[tuple[str, ...]]:
    """The Williams-design orders of ``conditions``: n orders for even n, 2n for odd n.

    Every condition appears once in every position and follows every other condition equally
    often (first-order carry-over balanced).

    >>> williams_orders(["A", "B", "C"])[:2]
    [('A', 'B', 'C'), ('B', 'C', 'A')]
    """
    n = len(conditions)
    first, low, high = [0], 1, n - 1
    for i in range(1, n):
        if i % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [tuple(conditions[(c + r) % n] for c in first) for r in range(n)]
    if n % 2:
        rows += [tuple(reversed(row)) for row in rows]
    return rows


def participant_number(participant: str) -> int | None:
    """The number in a participant ID ('P007' -> 7, '12' -> 12), or None if it has no digits."""
    digits = "".join(ch for ch in participant if ch.isdigit())
    return int(digits) if digits else None


def order_for_participant(participant: str, conditions: Sequence[str]) -> tuple[str, ...]:
    """The counterbalanced condition order: Williams row (number - 1) mod len(rows)."""
    number = participant_number(participant)
    if number is None:
        raise ValueError(f"participant ID {participant!r} has no number to counterbalance by; "
                         "give the condition order explicitly (--order)")
    rows = williams_orders(conditions)
    return rows[(number - 1) % len(rows)]


def parse_order(text: str, conditions: Sequence[str]) -> tuple[str, ...]:
    """A condition order typed as 'stand,backward,forward' (or with '-'), checked to be a permutation."""
    order = tuple(part.strip() for part in text.replace("-", ",").split(",") if part.strip())
    if sorted(order) != sorted(conditions):
        raise ValueError(f"condition order {text!r} must name each of {', '.join(conditions)} "
                         "exactly once, e.g. " + ",".join(conditions))
    return order


def block_conditions(order: Sequence[str], blocks_per_condition: int) -> list[str]:
    """Condition of each test block: the order, then mirrored (ABC CBA ABC ...), against drift."""
    out: list[str] = []
    for rep in range(blocks_per_condition):
        out.extend(order if rep % 2 == 0 else reversed(order))
    return out


class TrialType(NamedTuple):
    """One kind of trial in a block and how many of it: the word shown, the colour it names
    ('' for a neutral word), the ink."""
    word: str
    word_colour: str
    ink: str
    count: int


def _item_types(stim: StimulusSet, counts: dict[str, int]) -> list[TrialType]:
    """Every trial type of a block, with its count."""
    colours = stim.colours
    k = len(colours)
    types = []
    per_pair = counts["incongruent"] // (k * (k - 1))
    types += [TrialType(stim.colour_words[w], w, ink, per_pair)
              for w in colours for ink in colours if w != ink]
    if counts["congruent"]:
        types += [TrialType(stim.colour_words[c], c, c, counts["congruent"] // k) for c in colours]
    if counts["neutral"]:
        per_ink = counts["neutral"] // k
        words = stim.neutral_words
        # each ink gets the neutral words in rotation, so word and ink stay unconfounded
        neutral = {}
        for i, ink in enumerate(colours):
            for j in range(per_ink):
                word = words[(i + j) % len(words)]
                neutral[(word, ink)] = neutral.get((word, ink), 0) + 1
        types += [TrialType(word, "", ink, n) for (word, ink), n in neutral.items()]
    return types


def _may_follow(prev: TrialType, nxt: TrialType) -> bool:
    """No ink or word twice in a row, and the previous word's colour never becomes the ink."""
    return (nxt.ink != prev.ink and nxt.word != prev.word
            and (not prev.word_colour or nxt.ink != prev.word_colour))


def constrained_sequence(types: list[TrialType], rng: np.random.Generator,
                         max_restarts: int = 2000) -> list[TrialType]:
    """A random order of the multiset ``types`` obeying the sequence constraints.

    Randomised depth-first search with a step budget per attempt; RuntimeError if no order
    is found (only for designs that cannot satisfy the constraints).
    """
    total = sum(t.count for t in types)
    for _ in range(max_restarts):
        remaining = [t.count for t in types]
        seq: list[int] = []
        options: list[list[int]] = []
        steps = 0
        while len(seq) < total and steps < 50 * total:
            steps += 1
            if len(options) == len(seq):
                cand = [i for i, n in enumerate(remaining) if n > 0
                        and (not seq or _may_follow(types[seq[-1]], types[i]))]
                # weight by remaining count so the draw is uniform over trials, not types
                weights = np.array([remaining[i] for i in cand], dtype=float)
                order = (list(rng.choice(cand, size=len(cand), replace=False,
                                         p=weights / weights.sum())) if cand else [])
                options.append([int(i) for i in order])
            if options[-1]:
                choice = options[-1].pop(0)
                remaining[choice] -= 1
                seq.append(choice)
            else:  # dead end: step back
                options.pop()
                if not seq:
                    break
                remaining[seq.pop()] += 1
        if len(seq) == total:
            return [types[i] for i in seq]
    raise RuntimeError("no trial order satisfies the sequence constraints for this design")


def planned_block(config: Config, rng: np.random.Generator, *, is_practice: int, block: int,
                  condition: str, block_in_condition: int, n_trials: int) -> PlannedBlock:
    """One block's trial list drawn with ``rng`` (n_trials may cut a longer balanced list: practice)."""
    d = config.design
    size = n_trials
    if is_practice:  # smallest balanced block that holds n_trials, then cut
        size = len(d.colours) * (len(d.colours) - 1)
        while size < n_trials:
            size *= 2
    counts = trial_type_counts(size, d.proportion_congruent if not is_practice else 0.0,
                               d.proportion_neutral if not is_practice else 0.0, len(d.colours))
    sequence = constrained_sequence(_item_types(config.stimuli, counts), rng)[:n_trials]
    iti = rng.uniform(config.timing.iti_min_s, config.timing.iti_max_s, size=n_trials)
    names = config.response.response_names()  # key or button name per ink, as the device reports
    trials, prev = [], ""
    for i, (word, word_colour, ink, _) in enumerate(sequence):
        congruency = ("neutral" if not word_colour
                      else "congruent" if word_colour == ink else "incongruent")
        trials.append(PlannedTrial(
            is_practice=is_practice, block=block, condition=condition,
            block_in_condition=block_in_condition, trial_in_block=i + 1, word=word,
            word_colour=word_colour, ink=ink, congruency=congruency, prev_congruency=prev,
            correct_key=names[ink], iti_s=round(float(iti[i]), 4)))
        prev = congruency
    return PlannedBlock(is_practice, block, condition, block_in_condition, tuple(trials))


@dataclass(frozen=True)
class SessionPlan:
    """Everything randomised for one session, reproducible from (config, participant, session, order)."""
    participant: str
    session: int
    seed: int
    order: tuple[str, ...]
    practice_rounds: tuple[PlannedBlock, ...]  # round r is used only if round r-1 failed
    blocks: tuple[PlannedBlock, ...]

    def all_trials(self) -> list[PlannedTrial]:
        return [t for b in self.practice_rounds + self.blocks for t in b.trials]


def session_plan(config: Config, participant: str, session: int,
                 order: Sequence[str]) -> SessionPlan:
    """The full session plan: practice rounds and test blocks in the given condition order."""
    seed = session_seed(config.experiment.base_seed, participant, session)
    p = config.practice
    practice = tuple(
        planned_block(config, np.random.default_rng([seed, _PRACTICE_STREAM + r]), is_practice=1,
                      block=r, condition=p.condition, block_in_condition=r, n_trials=p.trials)
        for r in range(1, p.max_repeats + 1)) if p.trials else ()
    seen: dict[str, int] = {}
    blocks = []
    for b, condition in enumerate(block_conditions(order, config.design.blocks_per_condition), 1):
        seen[condition] = seen.get(condition, 0) + 1
        blocks.append(planned_block(config, np.random.default_rng([seed, b]), is_practice=0,
                                    block=b, condition=condition,
                                    block_in_condition=seen[condition],
                                    n_trials=config.design.trials_per_block))
    return SessionPlan(participant, session, seed, tuple(order), practice, tuple(blocks))


PLANNED_COLUMNS = tuple(f.name for f in fields(PlannedTrial))
#: The ink's colour for a PsychoPy Builder version of the task: a Text component with
#: colour ``$ink_rgb`` and colour space ``$ink_colour_space`` shows each word in the same ink.
INK_COLOUR_SPACE = "rgb255"
_INK_COLUMNS = ("ink_rgb", "ink_colour_space")
#: Columns of a conditions file (``_plan.csv``): the planned trial, with the ink's RGB and
#: colour space beside its name.
PLAN_COLUMNS = (PLANNED_COLUMNS[:PLANNED_COLUMNS.index("ink") + 1] + _INK_COLUMNS
                + PLANNED_COLUMNS[PLANNED_COLUMNS.index("ink") + 1:])


def write_conditions_file(trials: Sequence[PlannedTrial], path: Path,
                          rgb: Mapping[str, Sequence[int]]) -> Path:
    """Write trials as a CSV conditions file (one row per trial, :data:`PLAN_COLUMNS`) that
    ``data.importConditions`` reads; ``rgb``: each ink's colour (0-255), written as
    ``[r, g, b]`` (a list once PsychoPy imports it) in colour space ``rgb255``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=PLAN_COLUMNS)
        writer.writeheader()
        for trial in trials:
            writer.writerow({**asdict(trial),
                             "ink_rgb": "[" + ", ".join(str(int(v)) for v in rgb[trial.ink]) + "]",
                             "ink_colour_space": INK_COLOUR_SPACE})
    return path


def read_conditions_file(path: Path) -> list[PlannedTrial]:
    """Trials from a conditions file written by :func:`write_conditions_file` (also one
    written before the ink columns existed; the ink's RGB is not part of the trial)."""
    types = {f.name: f.type for f in fields(PlannedTrial)}
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = {k: (int(v) if types[k] == "int" else float(v) if types[k] == "float" else v)
                      for k, v in row.items() if k in types}
            out.append(PlannedTrial(**values))
    return out
