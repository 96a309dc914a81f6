"""The loader takes conditions, inks and congruency levels from each session's saved config
(``<stem>_config.toml``), not from a list in code."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.input.loader import DataError, load_trials
from analysis_data import read_trials, write_dataset

CONFIG = """\
[experiment]
name = "stroop-walk"
language = "{language}"

[design]
conditions = {conditions}
proportion_congruent = {pc}
proportion_neutral = {pn}
colours = {colours}

[practice]
condition = "{practice}"
"""
RENAME = {"stand": "seated", "forward": "jog"}
INK = {"yellow": "magenta"}


def relabel(path: Path, conditions: dict, inks: dict) -> None:
    """Rename conditions and inks in a trial file (as a lab with its own config writes them)."""
    rows = read_trials(path)
    for r in rows:
        r["condition"] = conditions.get(r["condition"], r["condition"])
        r["condition_order"] = "-".join(conditions.get(c, c) for c in r["condition_order"].split("-"))
        r["ink"] = inks.get(r["ink"], r["ink"])
        r["word_colour"] = inks.get(r["word_colour"], r["word_colour"])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    blocks = path.with_name(path.name.replace("_trials.csv", "_blocks.csv"))
    if blocks.exists():
        blocks.unlink()


def write_config(path: Path, conditions=("seated", "jog", "backward"), colours=(
        "red", "green", "blue", "magenta"), pc=0.5, pn=0.0, practice="seated",
        language="de") -> Path:
    cfg = path.with_name(path.name.replace("_trials.csv", "_config.toml"))
    cfg.write_text(CONFIG.format(conditions=list(conditions), colours=list(colours), pc=pc,
                                 pn=pn, practice=practice, language=language).replace("'", '"'))
    return cfg


@pytest.fixture
def lab_data(tmp_path):
    root = tmp_path / "data"
    paths = write_dataset(root, n_participants=2, trials_per_block=8, blocks_per_condition=1,
                          practice_trials=2, seed=4, with_config=False,
                          congruency_mix={"incongruent": 0.5, "congruent": 0.5})
    for p in paths:
        relabel(p, RENAME, INK)
    return root, paths


def test_a_labs_own_conditions_and_inks_are_read_from_its_config(lab_data):
    root, paths = lab_data
    for p in paths:
        write_config(p)
    t = load_trials(root, progress=False).trials
    assert set(t["condition"]) == {"seated", "jog", "backward"}
    assert "magenta" in set(t["ink"]) and set(t["language"]) == {"de"}


@pytest.mark.parametrize("config, message", [
    ({"colours": ("red", "green", "blue", "yellow")},
     r"(ink|word_colour) = 'magenta' is not one of red, green, blue, yellow \(design\.colours in "
     r"SIM001_\S+_config\.toml, the config the session ran with\)"),
    ({"conditions": ("seated", "backward"), "practice": "seated"},
     r"condition = 'jog' is not one of seated, backward \(design\.conditions"),
    ({"pc": 0.0},
     r"congruency = 'congruent' is not one of incongruent \(design\.proportion_congruent"),
])
def test_values_outside_the_sessions_config_are_one_line_errors(lab_data, config, message):
    root, paths = lab_data
    write_config(paths[0], **config)
    write_config(paths[1])
    with pytest.raises(DataError, match=message) as info:
        load_trials(root, progress=False)
    assert str(paths[0]) in str(info.value) and "\n" not in str(info.value)


def test_unreadable_config_and_sessions_without_one(lab_data):
    root, paths = lab_data
    write_config(paths[1])
    loaded = load_trials(root, progress=False)   # first session has no config: not checked
    assert any("1 session(s) without a saved *_config.toml" in n for n in loaded.notes)
    write_config(paths[0]).write_text("[design\nconditions = 1\n")
    with pytest.raises(DataError, match=r"_config\.toml: the session's saved config cannot be "
                                        r"read"):
        load_trials(root, progress=False)
