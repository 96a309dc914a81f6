"""A lab's own design, end to end: real sessions with a non-default config, then the analysis.

The lab adds a fifth ink (orange, in its own stimuli folder: ``experiment.stimuli_dir``),
names two conditions of its own, mixes 25 % congruent and 25 % neutral trials, and runs one
participant twice (sessions 1 and 2) with the simulated participant under Xvfb, each
session in its own process as a lab would start it. The analysis must read these files
with its default vocabulary-free loader and agree with numbers computed here from the raw
trial files with plain pandas.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.display, pytest.mark.slow]

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display: run under xvfb-run (make test does)", allow_module_level=True)

COLOURS = """\
[red]
rgb = [230, 25, 25]
[green]
rgb = [20, 170, 40]
[blue]
rgb = [40, 90, 255]
[yellow]
rgb = [245, 225, 0]
[orange]
rgb = [255, 140, 0]
"""
WORDS = """\
[en]
colours = { red = "RED", green = "GREEN", blue = "BLUE", yellow = "YELLOW", orange = "ORANGE" }
neutral = ["SHIP", "LAMP", "CHAIR", "HORSE", "TABLE"]
"""
CONFIG = """\
[experiment]
stimuli_dir = "{stimuli}"

[design]
conditions = ["slow_walk", "dual_walk"]
blocks_per_condition = 1
trials_per_block = 40
proportion_congruent = 0.25
proportion_neutral = 0.25
colours = ["red", "green", "blue", "yellow", "orange"]

[conditions.slow_walk]
label = "WALK SLOWLY"
instruction = "Treadmill at 1.5 km/h."
treadmill_speed_kmh = 1.5

[conditions.dual_walk]
label = "WALK AND COUNT"
instruction = "Treadmill at 3 km/h; participant counts steps."
treadmill_speed_kmh = 3.0

[response.keys]
red = "d"
green = "f"
blue = "j"
yellow = "k"
orange = "l"

[response.buttons]
red = 0
green = 1
blue = 2
yellow = 3
orange = 4

[timing]
fixation_s = 0.1
response_window_s = 1.2
iti_min_s = 0.05
iti_max_s = 0.1
settle_s = 0.2
feedback_s = 0.05

[practice]
trials = 4
condition = "slow_walk"
accuracy_criterion = 0.0
max_repeats = 1

[display]
fullscreen = false
size_px = [800, 600]

[simulation]
mu_s = 0.36
tau_s = 0.08
error_rate = 0.1
[simulation.condition_shift_s]
slow_walk = 0.0
dual_walk = 0.06
"""
PLAN = """\
[[exclusions.rules]]
rule = "errors"
[[exclusions.rules]]
rule = "rt_window"
min_ms = 200
max_ms = 1100
"""


@pytest.fixture(scope="module")
def lab_sessions(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    stimuli = root / "stimuli"
    stimuli.mkdir()
    (stimuli / "colours.toml").write_text(COLOURS)
    (stimuli / "words.toml").write_text(WORDS)
    config = root / "lab.toml"
    config.write_text(CONFIG.format(stimuli=stimuli.as_posix()))
    data = root / "data"
    for session in (1, 2):
        proc = subprocess.run(
            [sys.executable, "-m", "experiment", "--config", str(config), "--simulate",
             "--participant", "P001", "--session", str(session), "--data-dir", str(data)],
            cwd=REPO, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return root, data


def raw_trials(data: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted(data.rglob("*_trials.csv"))],
                     ignore_index=True)


def test_the_sessions_hold_the_lab_design(lab_sessions):
    _, data = lab_sessions
    t = raw_trials(data)
    test = t[t["is_practice"] == 0]
    assert set(test["session"]) == {1, 2}
    assert set(test["condition"]) == {"slow_walk", "dual_walk"}
    assert set(test["ink"]) == {"red", "green", "blue", "yellow", "orange"}
    share = test["congruency"].value_counts(normalize=True)
    assert share["congruent"] == 0.25 and share["neutral"] == 0.25


def test_the_analysis_reads_and_analyses_the_lab_design(lab_sessions, tmp_path):
    root, data = lab_sessions
    plan = root / "plan.toml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    assert main(["--data", str(data), "--out", str(out), "--plan", str(plan),
                 "--no-progress"]) == 0
    # independent numbers: plain pandas on the raw trial files
    t = raw_trials(data)
    test = t[t["is_practice"] == 0]
    ok = (test["timeout"] == 0) & (test["correct"] == 1) & (test["rt_ms"] >= 200) & \
        (test["rt_ms"] <= 1100)
    valid = test[ok]
    inc = valid[valid["congruency"] == "incongruent"]
    desc = pd.read_csv(out / "tables" / "descriptives.csv").set_index("condition")
    # the plan lists no conditions: the lab's two follow in the order the data show them
    first = test.sort_values(["session", "trial_in_session"])["condition"].iloc[0]
    assert list(desc.index)[0] == first and set(desc.index) == {"slow_walk", "dual_walk"}
    for cond, rows in inc.groupby("condition"):
        assert desc.at[cond, "n_trials"] == len(rows)
        assert desc.at[cond, "mean_rt_ms"] == pytest.approx(rows["rt_ms"].mean(), abs=1e-6)
    ex = pd.read_csv(out / "tables" / "exclusions.csv").set_index("reason")
    assert ex.at["practice trials", "trials_removed"] == int((t["is_practice"] == 1).sum())
    assert ex.at["error (wrong response)", "trials_removed"] == int(
        ((test["timeout"] == 0) & (test["correct"] == 0)).sum())
    assert ex["trials_remaining"].iloc[-1] == len(inc)
    inter = pd.read_csv(out / "tables" / "interference.csv")
    assert set(inter["comparison"]) == {"incongruent − congruent", "incongruent − neutral"}
    for cond in ("slow_walk", "dual_walk"):
        v = valid[valid["condition"] == cond]
        m = v.groupby("congruency")["rt_ms"].mean()
        row = inter[(inter["condition"] == cond) &
                    (inter["comparison"] == "incongruent − neutral")].iloc[0]
        assert row["mean_ms"] == pytest.approx(m["incongruent"] - m["neutral"], abs=1e-6)
