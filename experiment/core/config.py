"""Session configuration: TOML files laid over the shipped default, validated into dataclasses.

Every error is a :class:`ConfigError` whose message is one line naming the key, the bad
value and what is allowed, e.g.::

    timing.iti_max_s = 0.3: must be >= timing.iti_min_s (0.5)

Times are seconds, speeds km/h, colours RGB 0-255. No PsychoPy import.
"""
from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Mapping

from analysis.input import toml_schema
from analysis.input.toml_schema import OneOf, Range, choice, not_table, problem, require, \
    table_of, unknown_key
from experiment.core.identifiers import name_problem
from experiment.core.key_names import key_problem
from experiment.core.stimulus_set import STIMULI_DIR, StimulusSet, load_stimulus_set
from experiment.core.trial_types import trial_type_counts

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # experiment/: the shipped config and presets
DEFAULT_CONFIG = PACKAGE_DIR / "default.toml"
PRESETS_DIR = PACKAGE_DIR / "presets"
LOCOMOTION_CONDITIONS = ("stand", "forward", "backward", "left", "right")
#: A condition name (a lab may name its own): lower-case letters, digits and _ ('-' joins
#: names in condition_order).
CONDITION_NAME = r"[a-z][a-z0-9_]*"
RESPONSE_DEVICES = ("keyboard", "buttons", "voice")
ACCURACY_CODES = ("correct", "wrong", "unclear")  # experimenter codes for vocal trials
CODE_DEFAULTS = ("uncoded", "correct")
SAMPLE_RATES_HZ = (32000, 44100, 48000, 88200, 96000)
MAX_SPEED_KMH = 30.0     # fastest treadmill speed (and what the block-end screen accepts)
MAX_DURATION_S = 60.0    # longest fixation, response window, interval, settle or feedback
MAX_BLOCKS_PER_CONDITION = 50
MAX_TRIALS_PER_BLOCK = 1200
MAX_PRACTICE_TRIALS = 1000
MAX_PRACTICE_ROUNDS = 20
MAX_SCREEN_PX = 16384
MAX_SIMULATION_S = 5.0   # bound of every simulated-participant time parameter
#: Longest condition label and instruction (characters): the longest that the screen layout
#: test renders inside an 800x600 window (tests/experiment/core/longest_texts.toml).
MAX_LABEL_CHARS = 24
MAX_INSTRUCTION_CHARS = 240
MAX_INSTRUCTION_LINES = 4
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")   # line breaks included


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range (one-line message)."""


KIND = dataclasses.replace(toml_schema.CONFIG, error=ConfigError)
Seconds = Annotated[float, Range(0, MAX_DURATION_S, suffix=" s")]
SimulatedShift = Annotated[float, Range(-MAX_SIMULATION_S, MAX_SIMULATION_S, suffix=" s")]


@dataclass(frozen=True)
class ExperimentSection:
    name: str
    data_dir: str
    language: str
    base_seed: int
    stimuli_dir: str         # folder with colours.toml and words.toml (relative: to the project)


@dataclass(frozen=True)
class DesignSection:
    conditions: tuple[str, ...]
    blocks_per_condition: Annotated[int, Range(1, MAX_BLOCKS_PER_CONDITION)]
    trials_per_block: Annotated[int, Range(1, MAX_TRIALS_PER_BLOCK)]
    proportion_congruent: float
    proportion_neutral: float
    colours: tuple[str, ...]


@dataclass(frozen=True)
class ConditionSection:
    label: str
    instruction: str
    treadmill_speed_kmh: Annotated[float, Range(0, MAX_SPEED_KMH, suffix=" km/h")]


@dataclass(frozen=True)
class TimingSection:
    """All durations in seconds."""
    fixation_s: Seconds
    response_window_s: Seconds
    iti_min_s: Seconds
    iti_max_s: Seconds
    settle_s: Seconds
    feedback_s: Seconds


@dataclass(frozen=True)
class ResponseSection:
    device: Annotated[str, OneOf(RESPONSE_DEVICES)]
    continue_key: str
    pause_key: str
    abort_key: str
    keys: Mapping[str, str]  # ink colour -> key name
    # buttons: index of the joystick / gamepad (0 = the first found)
    joystick: Annotated[int, Range(0, 15, suffix=" (0 = the first joystick)")]
    buttons: Mapping[str, int]  # buttons: ink colour -> button number (0-based, as pyglet counts)
    code_keys: Mapping[str, str]  # voice: experimenter's accuracy code -> key (correct, wrong, unclear)
    code_default: str        # voice: accuracy_code of a trial without a code key (uncoded | correct)
    code_time_s: float       # voice: the interval lasts at least this long after the word goes off

    def response_names(self) -> dict[str, str]:
        """Ink colour -> the response name the trial files record as ``correct_response``:
        the key name for the keyboard, ``'buttonN'`` for buttons, the ink name for voice
        (what should be said; the voice device itself reports every response as 'voice')."""
        if self.device == "buttons":
            return {colour: button_name(n) for colour, n in self.buttons.items()}
        if self.device == "voice":
            return {colour: colour for colour in self.keys}
        return dict(self.keys)


def button_name(number: int) -> str:
    """The response name of a button (0-based number): 3 -> 'button3'."""
    return f"button{number}"


def button_number(name: str) -> int | None:
    """The button number in a response name ('button3' -> 3), or None for any other name."""
    digits = name[len("button"):]
    return int(digits) if name.startswith("button") and digits.isdigit() else None


@dataclass(frozen=True)
class VoiceSection:
    """The microphone and voice key of ``response.device = "voice"``."""
    input_device: str        # sounddevice input device: 'default', a name fragment or an index
    sample_rate_hz: int
    channel: int             # the microphone's channel (0-based) in the recording
    mic_check_s: float       # seconds of room sound checked at session start (silence/clipping)
    noise_calibration_s: float  # seconds of silent walking recorded before every block
    end_word_on_onset: bool  # hide the word once the online voice key hears speech


@dataclass(frozen=True)
class PracticeSection:
    trials: Annotated[int, Range(0, MAX_PRACTICE_TRIALS)]
    condition: str
    accuracy_criterion: float
    max_repeats: Annotated[int, Range(1, MAX_PRACTICE_ROUNDS)]


@dataclass(frozen=True)
class DisplaySection:
    fullscreen: bool
    screen: Annotated[int, Range(0, 15, suffix=" (0 = the first screen)")]
    size_px: tuple[int, ...]
    units: Annotated[str, OneOf(("height", "norm", "pix"),
                                " (deg and cm need a calibrated monitor profile)")]
    text_height: float        # the word's letter height, in display units
    message_height: float     # participant messages (feedback, countdown, condition), >= text_height
    # a screen that waits for a key passes only on a key-down this long after it appeared
    min_screen_s: Annotated[float, Range(0, 10, suffix=" s")]
    font: str
    background: tuple[int, ...]
    foreground: tuple[int, ...]


@dataclass(frozen=True)
class FrameQaSection:
    """Frame-timing QA (experiment/core/frame_qa.py)."""
    warn_dropped_share: float  # block-end warning above this share of dropped frames (0-1)


@dataclass(frozen=True)
class LslSection:
    """Lab Streaming Layer markers (experiment/sync/lsl_markers.py); off by default."""
    enabled: bool
    stream_name: str
    # > 0: wait for a recorder to connect before the session starts
    wait_for_consumers_s: Annotated[float, Range(0, 600, suffix=" s (0 = do not wait)")]


@dataclass(frozen=True)
class SimulationSection:
    """Ex-Gaussian parameters of the simulated participant, in seconds."""
    mu_s: Annotated[float, Range(0, MAX_SIMULATION_S, lo_open=True, suffix=" s")]
    sigma_s: Annotated[float, Range(0, MAX_SIMULATION_S, suffix=" s")]
    tau_s: Annotated[float, Range(0, MAX_SIMULATION_S, lo_open=True, suffix=" s")]
    congruent_shift_s: SimulatedShift
    neutral_shift_s: SimulatedShift
    error_rate: float
    participant_sd_s: Annotated[float, Range(0, MAX_SIMULATION_S, suffix=" s")]
    condition_shift_s: Mapping[str, SimulatedShift]
    press_min_s: float        # key-down to key-up of a simulated press: uniform in [press_min_s, press_max_s]
    press_max_s: float
    long_press_rate: float    # share of presses held for long_press_s instead
    long_press_s: Annotated[float, Range(0, 10, suffix=" s")]

    def rt_parameters(self) -> dict[str, Any]:
        """The ex-Gaussian RT model's parameters (``analysis.statistics.simulation.RTModel`` keywords)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not f.name.startswith(("press_", "long_press_"))}


@dataclass(frozen=True)
class Config:
    experiment: ExperimentSection
    design: DesignSection
    conditions: Mapping[str, ConditionSection]
    timing: TimingSection
    response: ResponseSection
    voice: VoiceSection
    practice: PracticeSection
    display: DisplaySection
    simulation: SimulationSection
    frame_qa: FrameQaSection
    lsl: LslSection
    stimuli: StimulusSet
    raw: Mapping[str, Any]  # the merged TOML tables, as saved next to the data

    def condition(self, name: str) -> ConditionSection:
        return self.conditions[name]


_SECTIONS = {
    "experiment": ExperimentSection, "design": DesignSection, "timing": TimingSection,
    "response": ResponseSection, "voice": VoiceSection, "practice": PracticeSection, "display": DisplaySection,
    "simulation": SimulationSection, "frame_qa": FrameQaSection, "lsl": LslSection,
}


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML tables of ``path``; a missing or unparsable file is a ConfigError."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config {path} is a folder; name a TOML file (e.g. {path}/lab.toml)") \
            from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


#: Tables to which a config may add keys: a lab's own conditions and their simulated shifts,
#: and the response of a colour the lab added (stimuli_dir).
OPEN_TABLES = ("conditions", "simulation.condition_shift_s", "response.keys",
               "response.buttons")


def merged_tables(base: dict[str, Any], overlay: Mapping[str, Any], source: str,
                  prefix: str = "") -> dict[str, Any]:
    """``base`` with ``overlay`` laid over it key by key; a key absent from base is an error,
    except in the tables a lab extends (:data:`OPEN_TABLES`: its own conditions)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        dotted = f"{prefix}{key}"
        if key not in out and prefix.rstrip(".") in OPEN_TABLES:
            out[key] = copy.deepcopy(value)
            continue
        if key not in out:
            raise ConfigError(f"{source}: {unknown_key(KIND, dotted, sorted(out), '')}")
        if isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {not_table(KIND, dotted, value, '')}")
            out[key] = merged_tables(out[key], value, source, dotted + ".")
        else:
            out[key] = copy.deepcopy(value)
    return out


def preset_path(name: str) -> Path:
    """The file of a shipped preset (``demo`` -> experiment/presets/demo.toml)."""
    shipped = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))
    if name not in shipped:   # also '../default', 'a/b': a preset is a name, not a path
        raise ConfigError(f"unknown preset '{name}'; shipped presets: {', '.join(shipped)}")
    return PRESETS_DIR / f"{name}.toml"


def load_config(*overlays: Path | Mapping[str, Any]) -> Config:
    """The validated config: the shipped default with each overlay (file or dict) laid over it."""
    raw = read_toml(DEFAULT_CONFIG)
    for overlay in overlays:
        if isinstance(overlay, Mapping):
            raw = merged_tables(raw, overlay, "overrides")
        else:
            raw = merged_tables(raw, read_toml(Path(overlay)), str(overlay))
    return config_from_tables(raw)


def config_from_tables(raw: Mapping[str, Any]) -> Config:
    """Validate complete config tables (as in default.toml) into a :class:`Config`."""
    sections = {name: table_of(KIND, cls, raw.get(name), name) for name, cls in _SECTIONS.items()}
    conditions_raw = raw.get("conditions")
    if not isinstance(conditions_raw, dict):
        raise not_table(KIND, "conditions", conditions_raw, "")
    conditions = {name: table_of(KIND, ConditionSection, table, f"conditions.{name}")
                  for name, table in conditions_raw.items()}
    try:
        stimuli = load_stimulus_set(sections["experiment"].language,
                                    sections["design"].colours,
                                    stimuli_folder(sections["experiment"].stimuli_dir))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    config = Config(conditions=conditions, stimuli=stimuli, raw=copy.deepcopy(dict(raw)),
                    **sections)
    _check_ranges(config)
    return config


def stimuli_folder(stimuli_dir: str) -> Path:
    """``experiment.stimuli_dir`` as a path: absolute, or relative to the project folder."""
    return STIMULI_DIR.parent / Path(stimuli_dir).expanduser()


def _check_ranges(c: Config) -> None:
    d, t, r, p, disp, s = c.design, c.timing, c.response, c.practice, c.display, c.simulation
    e = c.experiment
    bad_name = name_problem(e.name, "experiment.name", whole_name=False)
    require(KIND, bad_name is None, "experiment.name", e.name, str(bad_name))
    require(KIND, e.base_seed >= 0, "experiment.base_seed", e.base_seed, "must be >= 0")
    for key in ("data_dir", "stimuli_dir"):
        require(KIND, not CONTROL_CHARACTERS.search(getattr(e, key)), f"experiment.{key}",
                getattr(e, key), "must be a folder path without control characters")
    require(KIND, len(d.conditions) >= 1 and len(set(d.conditions)) == len(d.conditions),
            "design.conditions", list(d.conditions), "must list each condition once")
    for name in d.conditions:
        require(KIND, name in c.conditions, "design.conditions", name,
                f"unknown condition; add a table [conditions.{name}] (label, instruction, "
                f"treadmill_speed_kmh) or use one of {', '.join(c.conditions)}")
    for name in c.conditions:
        require(KIND, re.fullmatch(CONDITION_NAME, name) is not None, f"conditions.{name}", name,
                "a condition name must be lower-case letters, digits and _ (starting with a "
                "letter)")
        cond = c.conditions[name]
        require(KIND, len(cond.label) <= MAX_LABEL_CHARS and not CONTROL_CHARACTERS.search(
                cond.label), f"conditions.{name}.label",
                cond.label, f"must be 1-{MAX_LABEL_CHARS} characters on one line (it is shown "
                "large on the participant's screen)")
        require(KIND, len(cond.instruction) <= MAX_INSTRUCTION_CHARS
                and cond.instruction.count("\n") < MAX_INSTRUCTION_LINES
                and not CONTROL_CHARACTERS.search(cond.instruction.replace("\n", "")),
                f"conditions.{name}.instruction", cond.instruction,
                f"must be at most {MAX_INSTRUCTION_CHARS} characters on at most "
                f"{MAX_INSTRUCTION_LINES} lines, without control characters")
    for key, prop in (("proportion_congruent", d.proportion_congruent),
                      ("proportion_neutral", d.proportion_neutral)):
        require(KIND, 0.0 <= prop < 1.0, f"design.{key}", prop, "must be in [0, 1)")
    require(KIND, d.proportion_congruent + d.proportion_neutral < 1.0, "design.proportion_neutral",
            d.proportion_neutral, "proportion_congruent + proportion_neutral must be < 1")
    try:
        trial_type_counts(d.trials_per_block, d.proportion_congruent, d.proportion_neutral,
                          len(d.colours))
    except ValueError as exc:
        raise problem(KIND, "design.trials_per_block", d.trials_per_block, str(exc)) from None
    require(KIND, t.response_window_s >= 0.2, "timing.response_window_s", t.response_window_s,
            "must be >= 0.2 s")
    require(KIND, t.iti_max_s >= t.iti_min_s, "timing.iti_max_s", t.iti_max_s,
            f"must be >= timing.iti_min_s ({t.iti_min_s})")
    require(KIND, t.iti_min_s >= 0.05, "timing.iti_min_s", t.iti_min_s,
            "must be >= 0.05 s (the trial's data are saved during the interval)")
    require(KIND, set(r.keys) == set(d.colours), "response.keys", sorted(r.keys),
            f"must map exactly the colours in design.colours ({', '.join(d.colours)})")
    keys = list(r.keys.values())
    require(KIND, len(set(keys)) == len(keys), "response.keys", keys,
            "each colour needs its own key")
    named = [(f"response.keys.{colour}", key) for colour, key in r.keys.items()]
    named += [(f"response.{n}", getattr(r, n)) for n in ("continue_key", "pause_key", "abort_key")]
    named += [(f"response.code_keys.{code}", key) for code, key in r.code_keys.items()]
    for key_path, key in named:
        require(KIND, key_problem(key) is None, key_path, key, str(key_problem(key)))
    require(KIND, set(r.buttons) == set(d.colours), "response.buttons", sorted(r.buttons),
            f"must map exactly the colours in design.colours ({', '.join(d.colours)})")
    for colour, number in r.buttons.items():
        require(KIND, 0 <= number <= 255, f"response.buttons.{colour}", number,
                "must be a button number from 0 to 255 (0-based, as pyglet counts them)")
    buttons = list(r.buttons.values())
    require(KIND, len(set(buttons)) == len(buttons), "response.buttons", buttons,
            "each colour needs its own button")
    control = [r.continue_key, r.pause_key, r.abort_key]
    require(KIND, len(set(control)) == 3, "response.abort_key", r.abort_key,
            "continue_key, pause_key and abort_key must be three different keys")
    for name in ("continue_key", "pause_key", "abort_key"):
        require(KIND, getattr(r, name) not in keys, f"response.{name}", getattr(r, name),
                "must differ from every response key")
    if r.device == "voice":
        _check_voice(c)
    choice(KIND, "practice.condition", p.condition, tuple(c.conditions))
    require(KIND, 0 <= p.accuracy_criterion <= 1, "practice.accuracy_criterion",
            p.accuracy_criterion, "must be in [0, 1]")
    require(KIND, len(disp.size_px) == 2 and all(0 < v <= MAX_SCREEN_PX for v in disp.size_px),
            "display.size_px", list(disp.size_px),
            f"must be [width, height] in pixels, each 1-{MAX_SCREEN_PX}")
    tallest = {"height": 1.0, "norm": 2.0, "pix": float(MAX_SCREEN_PX)}[disp.units]
    require(KIND, 0 < disp.text_height <= tallest, "display.text_height", disp.text_height,
            f"must be > 0 and at most {tallest:g} ({disp.units} units: the screen height)")
    require(KIND, tallest >= disp.message_height >= disp.text_height, "display.message_height",
            disp.message_height, f"must be >= display.text_height ({disp.text_height}): "
            f"participants read messages while walking; and at most {tallest:g}")
    for key in ("background", "foreground"):
        rgb = getattr(disp, key)
        require(KIND, len(rgb) == 3 and all(0 <= v <= 255 for v in rgb), f"display.{key}",
                list(rgb), "must be [r, g, b] with values 0-255")
    require(KIND, 0 <= s.error_rate < 1, "simulation.error_rate", s.error_rate, "must be in [0, 1)")
    require(KIND, 0 <= s.press_min_s <= s.press_max_s <= 5, "simulation.press_max_s", s.press_max_s,
            f"must be >= simulation.press_min_s ({s.press_min_s}) and <= 5 s")
    require(KIND, 0 <= s.long_press_rate <= 1, "simulation.long_press_rate", s.long_press_rate,
            "must be in [0, 1]")
    require(KIND, 0 <= c.frame_qa.warn_dropped_share <= 1, "frame_qa.warn_dropped_share",
            c.frame_qa.warn_dropped_share, "must be a share between 0 and 1 (e.g. 0.01 = 1%)")
    missing = [n for n in d.conditions if n not in s.condition_shift_s]
    require(KIND, not missing, "simulation.condition_shift_s", missing,
            "needs a shift (s) for every condition in design.conditions")


def _check_voice(c: Config) -> None:
    r, v = c.response, c.voice
    require(KIND, set(r.code_keys) == set(ACCURACY_CODES), "response.code_keys",
            sorted(r.code_keys),
            f"must map exactly {', '.join(ACCURACY_CODES)} to keys")
    codes = list(r.code_keys.values())
    require(KIND, len(set(codes)) == len(codes), "response.code_keys", codes,
            "each code needs its own key")
    for code, key in r.code_keys.items():
        require(KIND, key not in (r.continue_key, r.pause_key, r.abort_key),
                f"response.code_keys.{code}",
                key, "must differ from continue_key, pause_key and abort_key")
    require(KIND, 0.0 <= r.code_time_s <= 10.0, "response.code_time_s", r.code_time_s,
            "must be between 0 and 10 s")
    choice(KIND, "response.code_default", r.code_default, CODE_DEFAULTS)
    choice(KIND, "voice.sample_rate_hz", v.sample_rate_hz, SAMPLE_RATES_HZ)
    require(KIND, 0 <= v.channel <= 63, "voice.channel", v.channel, "must be between 0 and 63")
    require(KIND, 1.0 <= v.noise_calibration_s <= 30.0, "voice.noise_calibration_s",
            v.noise_calibration_s, "must be between 1 and 30 s (3-5 s is best)")
    require(KIND, 0.5 <= v.mic_check_s <= 30.0, "voice.mic_check_s", v.mic_check_s,
            "must be between 0.5 and 30 s")
    require(KIND, c.timing.response_window_s >= 1.0, "timing.response_window_s",
            c.timing.response_window_s, "must be >= 1 s with response.device = 'voice'")
