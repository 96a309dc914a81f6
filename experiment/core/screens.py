"""What every screen of a session says, as inspectable objects. No PsychoPy import.

Each function returns a :class:`ScreenText`: the session draws it (``display.Stimuli``), and
the layout test renders every one of them at many window shapes. Participant-facing lines
(``message``: feedback, the settle countdown, the walking condition) are drawn at least at
the word's size so they can be read while walking 2 m from the screen; the experimenter's
lines (``body``, ``footer``) are smaller. Every screen that waits for a key says which key
and who presses it.
"""
from __future__ import annotations

from dataclasses import dataclass

from experiment.core.config import Config
from experiment.core.frame_qa import BlockFrames, dropped_frames_warning


@dataclass(frozen=True)
class ColourLine:
    """One line of the key mapping, drawn in its ink (RGB 0-255)."""
    text: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class ScreenText:
    """The texts of one screen. ``message``: large participant text (centre);
    ``body``: experimenter or instruction text (centre, below the message if both);
    ``title`` and ``footer``: top and bottom lines; ``mapping``: coloured key-mapping lines."""
    screen_id: str
    title: str = ""
    message: str = ""
    body: str = ""
    footer: str = ""
    mapping: tuple[ColourLine, ...] = ()


def _key(name: str) -> str:
    return name.upper()


def key_mapping(config: Config, vocal: bool) -> tuple[ColourLine, ...]:
    """The instruction screen's mapping: one line per ink, in that ink."""
    names = config.response.response_names()
    return tuple(ColourLine(f"{c.upper()} ink:  say \"{config.stimuli.colour_words[c]}\"" if vocal
                            else f"{_key(names[c])}  =  {c.upper()}", tuple(config.stimuli.rgb[c]))
                 for c in config.design.colours)


def instructions(config: Config, vocal: bool) -> ScreenText:
    how = ("Name the INK colour aloud, not the word." if vocal
           else "Respond to the INK colour, not the word.")
    return ScreenText("instructions", title="INK COLOUR", body=f"Each trial shows a colour word.\n{how}",
                      footer=f"Be fast and accurate.   Experimenter: {_key(config.response.continue_key)} "
                      "to start.", mapping=key_mapping(config, vocal))


def block_start(config: Config, condition: str, block: int, n_blocks: int, practice: bool,
                max_rounds: int) -> ScreenText:
    """Before a block: the walking condition for the participant, the treadmill for the experimenter."""
    cond = config.condition(condition)
    go = _key(config.response.continue_key)
    which = (f"Practice round {block} (at most {max_rounds})" if practice
             else f"Block {block} of {n_blocks}")
    speed = (f"Set the treadmill to {cond.treadmill_speed_kmh:.1f} km/h."
             if cond.treadmill_speed_kmh > 0 else "Treadmill belt off.")
    ready = "the participant walks steadily" if cond.treadmill_speed_kmh > 0 else "the participant is ready"
    return ScreenText("block-start", title=which, message=cond.label,
                      body=f"{speed}\n{cond.instruction}",
                      footer=f"Experimenter: {go} once {ready}.")


def settle(label: str, seconds_left: int) -> ScreenText:
    return ScreenText("settle", title=label, message=f"Keep walking.\nStarting in {seconds_left} s")


def feedback(text: str) -> ScreenText:
    return ScreenText("feedback", message=text)


def practice_again(config: Config, accuracy: float) -> ScreenText:
    p = config.practice
    return ScreenText("practice-again", title="PRACTICE",
                      message="Let's practise once more.",
                      body=f"Practice accuracy {accuracy:.0%} (needed {p.accuracy_criterion:.0%}).",
                      footer=f"Experimenter: {_key(config.response.continue_key)} to start the next "
                      "practice round.")


def practice_failed(config: Config, rounds: int) -> ScreenText:
    r = config.response
    return ScreenText("practice-failed", title="EXPERIMENTER",
                      body=f"Practice criterion ({config.practice.accuracy_criterion:.0%}) not met "
                      f"after {rounds} rounds.",
                      footer=f"Experimenter: {_key(r.continue_key)} to go on with the session, "
                      f"{_key(r.pause_key)} to pause or abort.")


def practice_end(config: Config, accuracy: float, warning: str = "") -> ScreenText:
    """``warning``: the round's dropped-frames warning (experiment/shell/telemetry.py), if any."""
    return ScreenText("practice-end", title="PRACTICE", message="Practice done.",
                      body=f"{accuracy:.0%} correct." + (f"\n{warning}" if warning else ""),
                      footer=f"Experimenter: {_key(config.response.continue_key)} to go on.")


def block_end(config: Config, block: int, n_blocks: int, accuracy: float, entry: str,
              warning: str = "") -> ScreenText:
    """``warning``: the block's dropped-frames warning (experiment/shell/telemetry.py), if any."""
    go = _key(config.response.continue_key)
    return ScreenText("block-end-speed", title="BLOCK END",
                      message=f"Block {block} of {n_blocks} done.",
                      body=f"{accuracy:.0%} correct. Stop the treadmill; the participant may rest.\n"
                      f"Treadmill speed this block:  {entry} km/h"
                      + (f"\n{warning}" if warning else ""),
                      footer=f"Experimenter: {go} confirms the speed; or type the actual speed "
                      f"(digits and '.', backspace corrects), then {go}.")


def pause(config: Config) -> ScreenText:
    r = config.response
    return ScreenText("pause", title="EXPERIMENTER", message="PAUSED",
                      body=f"{_key(r.continue_key)}: continue\n"
                      f"{_key(r.abort_key)}: abort the session (data so far are kept)")


def end(config: Config) -> ScreenText:
    return ScreenText("end", title="DONE", message="The session is complete.\nThank you!",
                      footer=f"Experimenter: {_key(config.response.continue_key)} to close.")


def holding(screen_id: str, message: str, title: str = "") -> ScreenText:
    """A screen shown while a device works (mic check, noise calibration): no key."""
    return ScreenText(screen_id, title=title, message=message)


def every_screen(config: Config) -> list[ScreenText]:
    """One of each screen a session can show, with the longest texts this config produces
    (for the layout test)."""
    longest_condition = max(config.design.conditions,
                            key=lambda c: len(config.condition(c).instruction) + len(config.condition(c).label))
    n = max(len(config.design.conditions) * config.design.blocks_per_condition, 10)
    r = config.response
    # the longest dropped-frames warning: every frame dropped, the highest limit below that
    warning = dropped_frames_warning(BlockFrames(1, 0, n, 1, 1, 1.0, 0.0, 0.0), 0.999)
    return [instructions(config, vocal=False), instructions(config, vocal=True),
            *(block_start(config, c, n, n, practice, config.practice.max_repeats)
              for c in config.design.conditions for practice in (False, True)),
            block_start(config, longest_condition, n, n, False, config.practice.max_repeats),
            settle(config.condition(longest_condition).label, 10),
            feedback("Correct"), feedback("Too slow"),
            *(feedback(f"Wrong: the ink was {c.upper()}") for c in config.design.colours),
            practice_again(config, 0.5), practice_failed(config, config.practice.max_repeats),
            practice_end(config, 1.0), block_end(config, n, n, 1.0, "10.5"),
            practice_end(config, 1.0, warning),
            block_end(config, n, n, 1.0, "10.5", warning), pause(config),
            end(config),
            holding("mic-check", "Microphone check: please stay quiet.", "MICROPHONE"),
            holding("noise-calibration", "Keep walking silently.", "NOISE"),
            ScreenText("button-test", title="BUTTON TEST 4 OF 4",
                       message=f"Participant: press the {max(config.design.colours, key=len).upper()} "
                       "button.", body="That was button12 (not a response button).",
                       footer=f"Experimenter: {_key(r.pause_key)} to pause or abort."),
            ScreenText("button-test-done", title="BUTTON TEST",
                       body="Every button works:\n" + "\n".join(
                           f"{c.upper()}  =  button {r.buttons[c]}" for c in config.design.colours),
                       footer=f"Experimenter: {_key(r.continue_key)} to go on, {_key(r.pause_key)} "
                       "to pause or abort.")]
