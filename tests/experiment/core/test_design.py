"""Trial lists and counterbalancing: constraints checked over many seeds and designs."""
from __future__ import annotations

import csv

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiment.core.config import load_config, preset_path
from experiment.core.design import (block_conditions, order_for_participant, parse_order,
                                    planned_block, read_conditions_file, session_plan, session_seed,
                                    williams_orders, write_conditions_file)
from experiment.core.trial_types import trial_type_counts

BASE = load_config()
DESIGNS = [  # (trials per block, proportion congruent, proportion neutral)
    (48, 0.0, 0.0), (12, 0.0, 0.0), (24, 0.0, 0.0), (48, 0.25, 0.0), (72, 1 / 3, 1 / 6),
    (96, 0.5, 0.0), (60, 0.2, 0.0), (48, 0.0, 0.25),
]


def _config(n, pc, pn, language="en"):
    return load_config({"design": {"trials_per_block": n, "proportion_congruent": pc,
                                   "proportion_neutral": pn},
                        "experiment": {"language": language}})


def _check_block(trials, n, pc, pn, colours):
    assert len(trials) == n
    counts = Counter(t.congruency for t in trials)
    assert counts["congruent"] == round(n * pc)
    assert counts["neutral"] == round(n * pn)
    incong = Counter((t.word_colour, t.ink) for t in trials if t.congruency == "incongruent")
    assert len(incong) == len(colours) * (len(colours) - 1)      # all 12 pairs
    assert len(set(incong.values())) == 1                         # equally often
    for kind in ("congruent", "incongruent", "neutral"):
        inks = Counter(t.ink for t in trials if t.congruency == kind)
        assert len(set(inks.values())) <= 1                       # each ink equally often
    for prev, cur in zip(trials, trials[1:]):
        assert cur.ink != prev.ink
        assert cur.word != prev.word
        assert not prev.word_colour or cur.ink != prev.word_colour
        assert cur.prev_congruency == prev.congruency
    assert trials[0].prev_congruency == ""
    for t in trials:
        assert t.congruency == ("neutral" if not t.word_colour else
                                "congruent" if t.word_colour == t.ink else "incongruent")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), design=st.sampled_from(DESIGNS),
       language=st.sampled_from(["en", "de", "nl"]))
def test_block_constraints_hold_for_any_seed(seed, design, language):
    n, pc, pn = design
    config = _config(n, pc, pn, language)
    block = planned_block(config, np.random.default_rng(seed), is_practice=0, block=1,
                          condition="stand", block_in_condition=1, n_trials=n)
    _check_block(block.trials, n, pc, pn, config.design.colours)
    for t in block.trials:
        assert t.correct_key == config.response.keys[t.ink]
        assert config.timing.iti_min_s <= t.iti_s <= config.timing.iti_max_s


def test_trial_type_counts_reject_unbalanced_designs():
    assert trial_type_counts(48, 0.25, 0, 4) == {"congruent": 12, "incongruent": 36, "neutral": 0}
    for bad in [(50, 0, 0), (48, 0.3, 0), (16, 0.5, 0), (12, 0.5, 0.5)]:
        with pytest.raises(ValueError):
            trial_type_counts(*bad, 4)


def test_session_plan_is_reproducible_and_seed_recorded():
    order = ("stand", "backward", "forward")
    a = session_plan(BASE, "P007", 2, order)
    b = session_plan(BASE, "P007", 2, order)
    assert a == b
    assert a.seed == session_seed(BASE.experiment.base_seed, "P007", 2)
    assert session_plan(BASE, "P007", 3, order).all_trials() != a.all_trials()
    assert session_plan(BASE, "P008", 2, order).all_trials() != a.all_trials()
    # blocks follow the order, mirrored on the repetition (ABC CBA)
    assert [blk.condition for blk in a.blocks] == ["stand", "backward", "forward",
                                                  "forward", "backward", "stand"]
    assert [blk.block_in_condition for blk in a.blocks] == [1, 1, 1, 2, 2, 2]
    # different blocks have different lists, each satisfying the constraints
    for blk in a.blocks:
        _check_block(blk.trials, 48, 0, 0, BASE.design.colours)
    assert len({tuple(t.ink for t in blk.trials) for blk in a.blocks}) == len(a.blocks)
    assert len(a.practice_rounds) == BASE.practice.max_repeats
    assert all(len(r.trials) == BASE.practice.trials for r in a.practice_rounds)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_williams_square_is_balanced(n):
    conditions = [f"c{i}" for i in range(n)]
    orders = williams_orders(conditions)
    assert len(orders) == (2 * n if n % 2 else n)
    assert len(set(orders)) == len(orders)
    for pos in range(n):  # each condition equally often in each position
        assert len(set(Counter(o[pos] for o in orders).values())) == 1
    pairs = Counter((o[i], o[i + 1]) for o in orders for i in range(n - 1))
    assert len(pairs) == n * (n - 1)  # every ordered pair of neighbours ...
    assert len(set(pairs.values())) == 1  # ... equally often (carry-over balanced)


def test_three_conditions_give_six_orders_cycled_by_participant_number():
    conditions = ("stand", "forward", "backward")
    orders = [order_for_participant(f"P{i:03d}", conditions) for i in range(1, 13)]
    assert len(set(orders[:6])) == 6
    assert orders[:6] == orders[6:]
    with pytest.raises(ValueError, match="has no number"):
        order_for_participant("ANNA", conditions)


def test_parse_order():
    conditions = ("stand", "forward", "backward")
    assert parse_order("backward-stand-forward", conditions) == ("backward", "stand", "forward")
    assert parse_order("stand, forward, backward", conditions) == conditions
    with pytest.raises(ValueError, match="exactly once"):
        parse_order("stand,stand,forward", conditions)
    assert block_conditions(("a", "b"), 3) == ["a", "b", "b", "a", "a", "b"]


def test_conditions_file_round_trip_and_psychopy_reads_it(tmp_path):
    plan = session_plan(BASE, "P001", 1, ("stand", "forward", "backward"))
    path = write_conditions_file(plan.blocks[0].trials, tmp_path / "block.csv", BASE.stimuli.rgb)
    assert read_conditions_file(path) == list(plan.blocks[0].trials)
    from psychopy import data
    rows = data.importConditions(str(path))
    assert len(rows) == 48
    assert [r["ink"] for r in rows] == [t.ink for t in plan.blocks[0].trials]
    assert {r["congruency"] for r in rows} == {"incongruent"}
    # Builder: a Text component coloured $ink_rgb in space $ink_colour_space shows the same ink
    assert [list(r["ink_rgb"]) for r in rows] == [list(BASE.stimuli.rgb[r["ink"]]) for r in rows]
    assert {r["ink_colour_space"] for r in rows} == {"rgb255"}
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[header.index("ink") + 1: header.index("ink") + 3] == ["ink_rgb", "ink_colour_space"]


def test_conditions_file_without_ink_colours_still_reads(tmp_path):
    """Plans saved before the ink columns existed (a session resumed after an update)."""
    plan = session_plan(BASE, "P001", 1, ("stand", "forward", "backward"))
    path = write_conditions_file(plan.blocks[0].trials, tmp_path / "new.csv", BASE.stimuli.rgb)
    old = tmp_path / "old.csv"
    with open(path, newline="", encoding="utf-8") as fh, open(old, "w", newline="",
                                                               encoding="utf-8") as out:
        rows = list(csv.DictReader(fh))
        keep = [c for c in rows[0] if c not in ("ink_rgb", "ink_colour_space")]
        w = csv.DictWriter(out, fieldnames=keep, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    assert read_conditions_file(old) == list(plan.blocks[0].trials)


def test_step_then_respond_replication_preset():
    config = load_config(preset_path("koch2009"))
    assert set(config.design.conditions) == {"forward", "backward", "left", "right"}
    orders = williams_orders(config.design.conditions)
    assert len(orders) == 4
    plan = session_plan(config, "P001", 1, orders[0])
    assert len(plan.blocks) == 4 * config.design.blocks_per_condition
    assert {t.congruency for t in plan.all_trials() if not t.is_practice} == {"congruent", "incongruent"}


def test_all_pairs_reachable_over_seeds():
    # the sequence constraints must not make any first trial impossible
    firsts = set()
    for seed in range(200):
        block = planned_block(BASE, np.random.default_rng(seed), is_practice=0, block=1,
                              condition="stand", block_in_condition=1, n_trials=12)
        firsts.add((block.trials[0].word_colour, block.trials[0].ink))
    assert firsts == {p for p in itertools.permutations(BASE.design.colours, 2)}
