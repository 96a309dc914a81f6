"""Config loading and validation: every bad value gets a one-line message naming key and allowed values."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from experiment.core.config import ConfigError, load_config, preset_path

REPO = Path(__file__).resolve().parents[3]


def test_default_and_presets_are_valid():
    config = load_config()
    assert config.design.conditions == ("stand", "forward", "backward")
    assert config.design.proportion_congruent == 0.0  # all incongruent by default
    for preset in sorted((REPO / "experiment" / "presets").glob("*.toml")):
        load_config(preset)


def test_overlay_changes_only_given_keys(tmp_path):
    overlay = tmp_path / "lab.toml"
    overlay.write_text("[timing]\nfixation_s = 0.7\n[conditions.backward]\ntreadmill_speed_kmh = 1.5\n")
    config = load_config(overlay)
    assert config.timing.fixation_s == 0.7
    assert config.condition("backward").treadmill_speed_kmh == 1.5
    assert config.timing.response_window_s == load_config().timing.response_window_s


@pytest.mark.parametrize("table, expected", [
    ({"label": "W" * 100_000}, "conditions.stand.label = 'WWWW"),
    ({"label": "STAND\nSTILL"}, "conditions.stand.label = 'STAND\\nSTILL': must be 1-24 characters on one line"),
    ({"label": "   "}, "conditions.stand.label = '   ': must be a non-empty string"),
    ({"instruction": "x" * 241}, "conditions.stand.instruction = 'xxx"),
    ({"instruction": "a\nb\nc\nd\ne"}, "must be at most 240 characters on at most 4 lines"),
    ({"instruction": "belt\x1b[2J off"}, "without control characters"),
])
def test_condition_texts_that_cannot_be_shown_are_refused(table, expected):
    with pytest.raises(ConfigError) as info:
        load_config({"conditions": {"stand": table}})
    message = str(info.value)
    assert expected in message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize("overrides, expected", [
    ({"timing": {"fixaton_s": 0.5}}, "unknown key 'timing.fixaton_s'; allowed here: "),
    ({"timing": {"fixation_s": "long"}}, "timing.fixation_s = 'long': must be a number"),
    ({"timing": {"iti_min_s": 0.8, "iti_max_s": 0.6}}, "timing.iti_max_s = 0.6: must be >= timing.iti_min_s (0.8)"),
    ({"timing": {"response_window_s": 0.1}}, "timing.response_window_s = 0.1: must be >= 0.2 s"),
    ({"design": {"trials_per_block": 50}}, "design.trials_per_block = 50: leaves 50 incongruent trials per block, which must be a positive multiple of 12"),
    ({"design": {"proportion_congruent": 0.3}}, "48 trials x 0.3 congruent = 14.4 trials, which must be a whole multiple of 4"),
    ({"design": {"proportion_congruent": 1.2}}, "design.proportion_congruent = 1.2: must be in [0, 1)"),
    ({"design": {"conditions": ["stand", "jog"]}}, "design.conditions = 'jog': unknown condition; add a table [conditions.jog] (label, instruction, treadmill_speed_kmh) or use one of stand, forward, backward, left, right"),
    ({"conditions": {"Jog-fast": {"label": "JOG", "instruction": "Jog.", "treadmill_speed_kmh": 6.0}}}, "conditions.Jog-fast = 'Jog-fast': a condition name must be lower-case letters"),
    ({"experiment": {"stimuli_dir": "/nonexistent/stimuli"}}, "experiment.stimuli_dir = '/nonexistent/stimuli': cannot read colours.toml there"),
    ({"design": {"conditions": ["stand", "stand"]}}, "design.conditions = ['stand', 'stand']: must list each condition once"),
    ({"design": {"colours": ["red", "green", "blue"]}}, "must list at least four different colours"),
    ({"design": {"colours": ["red", "green", "blue", "purple"]}}, "'purple' is not defined; allowed: red, green, blue, yellow"),
    ({"design": {"blocks_per_condition": 0}}, "design.blocks_per_condition = 0: must be between 1 and 50"),
    ({"design": {"blocks_per_condition": 1.5}}, "design.blocks_per_condition = 1.5: must be a whole number"),
    ({"lsl": {"wait_for_consumers_s": -1}}, "lsl.wait_for_consumers_s = -1"),
    ({"lsl": {"enabled": "yes"}}, "lsl.enabled = 'yes': must be true or false"),
    ({"experiment": {"language": "xx"}}, "experiment.language = 'xx': allowed: de, en, es, fr, it, ja, ko, nl, zh"),
    ({"response": {"keys": {"red": "d", "green": "d", "blue": "j", "yellow": "k"}}}, "each colour needs its own key"),
    ({"response": {"continue_key": "d"}}, "response.continue_key = 'd': must differ from every response key"),
    ({"response": {"device": "telepathy"}}, "response.device = 'telepathy': allowed: keyboard"),
    ({"response": {"buttons": {"red": 0, "green": 0, "blue": 1, "yellow": 2}}}, "response.buttons = [0, 0, 1, 2]: each colour needs its own button"),
    ({"response": {"buttons": {"red": -1}}}, "response.buttons.red = -1: must be a button number from 0 to 255"),
    ({"response": {"buttons": {"red": "A"}}}, "response.buttons.red = 'A': must be a whole number"),
    ({"response": {"buttons": {"purple": 4}}}, "response.buttons = ['blue', 'green', 'purple', 'red', 'yellow']: must map exactly the colours in design.colours (red, green, blue, yellow)"),
    ({"response": {"joystick": -1}}, "response.joystick = -1: must be between 0 and 15 (0 = the first joystick)"),
    ({"practice": {"condition": "swim"}}, "practice.condition = 'swim': allowed: "),
    ({"practice": {"accuracy_criterion": 80}}, "practice.accuracy_criterion = 80.0: must be in [0, 1]"),
    ({"display": {"fullscreen": "yes"}}, "display.fullscreen = 'yes': must be true or false"),
    ({"display": {"units": "deg"}}, "display.units = 'deg': allowed: height, norm, pix"),
    ({"display": {"background": [0, 0, 300]}}, "display.background = [0, 0, 300]: must be [r, g, b] with values 0-255"),
    ({"conditions": {"forward": {"treadmill_speed_kmh": -1}}}, "conditions.forward.treadmill_speed_kmh = -1.0: must be between 0 and 30 km/h"),
    ({"simulation": {"error_rate": 1.0}}, "simulation.error_rate = 1.0: must be in [0, 1)"),
    ({"response": {"device": "voice", "code_keys": {"correct": "c", "wrong": "c", "unclear": "u"}}},
     "response.code_keys = ['c', 'c', 'u']: each code needs its own key"),
    ({"response": {"device": "voice", "code_keys": {"correct": "space"}}},
     "response.code_keys.correct = 'space': must differ from continue_key, pause_key and abort_key"),
    ({"response": {"device": "voice", "code_keys": {"maybe": "m"}}}, "unknown key 'response.code_keys.maybe'"),
    ({"response": {"device": "voice", "code_default": "wrong"}},
     "response.code_default = 'wrong': allowed: uncoded, correct"),
    ({"response": {"device": "voice"}, "voice": {"noise_calibration_s": 0.5}},
     "voice.noise_calibration_s = 0.5: must be between 1 and 30 s (3-5 s is best)"),
    ({"response": {"device": "voice"}, "voice": {"sample_rate_hz": 22050}},
     "voice.sample_rate_hz = 22050: allowed: 32000, 44100, 48000, 88200, 96000"),
    ({"response": {"device": "voice"}, "timing": {"response_window_s": 0.8}},
     "timing.response_window_s = 0.8: must be >= 1 s with response.device = 'voice'"),
])
def test_bad_values_name_key_and_allowed(overrides, expected):
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[timing\nfixation_s = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_unknown_preset_lists_shipped_ones():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; shipped presets: .*demo"):
        preset_path("nope")


def test_cli_reports_config_error_in_one_line_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[design]\ntrials_per_block = 13\n")
    proc = subprocess.run([sys.executable, "-m", "experiment", "--config", str(bad), "--check-config"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: design.trials_per_block = 13:")
    assert proc.stderr.count("\n") == 1
    ok = subprocess.run([sys.executable, "-m", "experiment", "--preset", "demo", "--check-config"],
                        cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("config OK")


def test_voice_sessions_expect_the_ink_name_and_score_by_the_experimenters_code():
    from experiment.core.config import preset_path
    from experiment.core.design import session_plan
    from experiment.core.session_files import score_response
    config = load_config(preset_path("voice"))
    assert config.response.response_names() == {c: c for c in config.design.colours}
    plan = session_plan(config, "P001", 1, config.design.conditions)
    assert all(t.correct_key == t.ink for b in plan.blocks for t in b.trials)
    assert score_response("blue", "voice", "correct") == (1, 0)
    assert score_response("blue", "voice", "wrong") == (0, 0)
    assert score_response("blue", "voice", "unclear") == (0, 0)
    assert score_response("blue", "", "correct") == (0, 1)    # coded, but nothing was said
    assert score_response("j", "j", "auto") == (1, 0)         # keys and buttons: by the response
