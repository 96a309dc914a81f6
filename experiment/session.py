"""The PsychoPy session: a thin layer that runs a :class:`SessionPlan` through a window and a device.

The Session owns the window, the response device and the recorder; a trial owns its phases
(fixation, word until response or window end, interval in which the row is saved).
Every wait loop watches the pause key: a pause shows continue / abort; a paused trial is
run again from its fixation (it was not saved); abort keeps all data and marks the session.
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from psychopy import core, logging, visual

from experiment.config import Config
from experiment.design import PlannedBlock, PlannedTrial
from experiment.display import Stimuli, next_flip_before, wait_until
from experiment.recorder import SessionRecorder, TrialOutcome, now_iso, score_response
from experiment.responses import ResponseDevice, first_press

SPEED_KEYS = [str(d) for d in range(10)] + ["period", "comma", "backspace"]


class PauseRequested(Exception):
    pass


class SessionAborted(Exception):
    pass


@dataclass
class TimingStats:
    """Per-run timing facts saved in the sidecar: how long the trial saves took.

    Saves happen after the blank flip that ends the response window, so never inside it.
    """
    save_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | None]:
        ms = sorted(s * 1000 for s in self.save_s)
        return {"trials_saved": len(ms),
                "save_ms_median": round(statistics.median(ms), 4) if ms else None,
                "save_ms_p99": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 4) if ms else None,
                "save_ms_max": round(max(ms), 4) if ms else None}


class Session:
    def __init__(self, config: Config, recorder: SessionRecorder, win: visual.Window,
                 device: ResponseDevice, participant=None, capture_dir: Path | None = None,
                 process_start_wall: float | None = None, keyboard: ResponseDevice | None = None):
        self.config, self.recorder, self.win, self.device = config, recorder, win, device
        self.keyboard = keyboard or device  # the experimenter's keys (screens, pause)
        self.process_start_wall = process_start_wall  # time.time() at process start, if known
        self.participant = participant  # a SimulatedParticipant, or None for a person
        self.capture_dir = capture_dir
        self.stim = Stimuli(win, config)
        r = config.response
        names = r.response_names()  # key or button name per ink, as the device reports it
        self.response_keys = list(device.reports or [names[c] for c in config.design.colours])
        self.timing = TimingStats()
        vocal = device.scoring == "experimenter"
        self._mapping = [visual.TextStim(win, text=(f"{c.upper()} ink:  say \"{config.stimuli.colour_words[c]}\""
                                                    if vocal else f"{names[c].upper()}  =  {c.upper()}"),
                                         color=list(config.stimuli.rgb[c]), colorSpace="rgb255",
                                         height=config.display.text_height * 0.45, bold=True,
                                         pos=(0, self.stim.y(0.08 - 0.08 * i)),
                                         font=config.display.font)
                         for i, c in enumerate(config.design.colours)]

    # ---- the whole session -----------------------------------------------------------------
    def run(self) -> str:
        """Run what is left of the session; returns the final status ('complete' or 'aborted')."""
        try:
            device_info = self.device.prepare_session(self)
            if device_info:
                self.recorder.update_run(response_device=device_info)
            self.instructions()
            self.practice()
            n = len(self.recorder.plan.blocks)
            for block in self.recorder.plan.blocks:
                self.run_block(block, n)
            self.screen("end", "The session is complete.\n\nThank you!\n\n"
                        f"(experimenter: {self.config.response.continue_key.upper()} to close)",
                        title="DONE")
            status = "complete"
        except SessionAborted:
            self.recorder.add_event("aborted")
            status = "aborted"
        self.recorder.update_run(**self.timing.summary())
        self.recorder.finish(status)
        logging.exp(f"session {status}")
        return status

    def instructions(self) -> None:
        r = self.config.response
        how = ("Name the INK colour aloud, not the word." if self.device.scoring == "experimenter"
               else "Respond to the INK colour, not the word.")
        self.screen("instructions", f"Each trial shows a colour word.\n{how}", title="INK COLOUR",
                    footer=f"Be fast and accurate.   {r.continue_key.upper()} to start.",
                    body_y=0.22, extra=self._mapping)

    def practice(self) -> None:
        p = self.config.practice
        rounds = self.recorder.plan.practice_rounds
        if not rounds or self.recorder.sidecar.get("practice_passed") is not None:
            return
        for rnd in rounds:
            if self.recorder.block_row(rnd) is None:
                self.run_block(rnd, len(rounds))
            accuracy = self.recorder.block_accuracy(rnd)
            if accuracy >= p.accuracy_criterion:
                self.recorder.update(practice_passed=True)
                return
            if rnd.block < len(rounds):
                self.screen("practice-again", f"Practice accuracy {accuracy:.0%} (needed "
                            f"{p.accuracy_criterion:.0%}).\n\nLet's practise once more.",
                            title="PRACTICE")
        self.screen("practice-failed", f"Practice criterion ({p.accuracy_criterion:.0%}) not met "
                    f"after {len(rounds)} rounds.\n\nExperimenter: "
                    f"{self.config.response.continue_key.upper()} to go on with the session, "
                    f"{self.config.response.pause_key.upper()} to pause or abort.",
                    title="EXPERIMENTER")
        self.recorder.update(practice_passed=False)

    # ---- blocks ----------------------------------------------------------------------------
    def run_block(self, block: PlannedBlock, n_blocks: int) -> None:
        if self.recorder.block_row(block) is not None:
            return
        cond = self.config.condition(block.condition)
        kind = "PRACTICE" if block.is_practice else "BLOCK"
        remaining = self.recorder.remaining(block)
        started = now_iso()
        if remaining:
            self.screen("block-start",
                        f"{kind} {block.block} of {n_blocks}\n\n"
                        f"Set the treadmill to {cond.treadmill_speed_kmh:.1f} km/h.\n\n"
                        f"{cond.instruction}",
                        title=cond.label,
                        footer=f"Experimenter: {self.config.response.continue_key.upper()} once the "
                        "participant is ready" + (" and walks steadily." if cond.treadmill_speed_kmh
                                                  > 0 else "."))
            if cond.treadmill_speed_kmh > 0:
                self.settle(cond.label)
            self.device.prepare_block(self, block)
            logging.exp(f"block start: {kind.lower()} {block.block} {block.condition}")
            started = now_iso()
            for trial in remaining:
                self.run_trial_until_done(trial)
        if block.is_practice:
            actual = cond.treadmill_speed_kmh
            self.screen("practice-end", f"Practice round done: {self.recorder.block_accuracy(block):.0%} "
                        "correct.", title="PRACTICE")
        else:
            actual = self.speed_screen(block, n_blocks)
        self.recorder.record_block(block, actual, started)

    def settle(self, label: str) -> None:
        end = core.getTime() + self.config.timing.settle_s
        while core.getTime() < end:
            left = max(0, int(end - core.getTime() + 0.999))
            self.stim.draw_screen(f"Keep walking.\n\nStarting in {left} s", title=label)
            self.win.flip()
            if self._pause_pressed():
                self.pause()

    def speed_screen(self, block: PlannedBlock, n_blocks: int) -> float:
        """Block-end screen: the experimenter confirms the treadmill speed or types the actual one (km/h)."""
        cond = self.config.condition(block.condition)
        go = self.config.response.continue_key
        typed = ""
        self._reset_on_next_flip()
        if self.participant is not None:
            self.participant.on_screen("block-end-speed", [go])
        seen = 0
        while True:
            entry = typed or f"{cond.treadmill_speed_kmh:.1f}"
            self.stim.draw_screen(
                f"Block {block.block} of {n_blocks} done ({self.recorder.block_accuracy(block):.0%} "
                f"correct).\nStop the treadmill; the participant may rest.\n\n"
                f"Treadmill speed this block:  {entry} km/h", title="BLOCK END",
                footer=f"Experimenter: {go.upper()} confirms the speed; or type the actual "
                f"speed (digits and '.', backspace corrects), then {go.upper()}.")
            self.win.flip()
            presses = self.keyboard.presses(SPEED_KEYS + [go, self.config.response.pause_key])
            for press in presses[seen:]:
                if press.name == go:
                    speed = parse_speed(typed, default=cond.treadmill_speed_kmh)
                    if speed is not None:
                        logging.exp(f"block {block.block}: treadmill speed {speed} km/h")
                        return speed
                    typed = ""
                elif press.name == self.config.response.pause_key:
                    self.pause()
                    return self.speed_screen(block, n_blocks)
                elif press.name == "backspace":
                    typed = typed[:-1]
                else:
                    typed += "." if press.name in ("period", "comma") else press.name
            seen = len(presses)

    # ---- trials ----------------------------------------------------------------------------
    def run_trial_until_done(self, trial: PlannedTrial) -> None:
        while True:
            try:
                self.run_trial(trial)
                return
            except PauseRequested:
                self.recorder.add_event("pause", block=trial.block, trial_in_block=trial.trial_in_block,
                                        is_practice=trial.is_practice)
                self.pause()

    def run_trial(self, trial: PlannedTrial) -> None:
        """Fixation, word until a response or the window ends, then the interval (row saved there)."""
        t = self.config.timing
        pause_key = self.config.response.pause_key
        dropped_before = self.win.nDroppedFrames
        self._reset_on_next_flip()
        self.stim.fixation.draw()
        t_fix = self.win.flip()
        while next_flip_before(self.win, t_fix + t.fixation_s):
            if self._pause_pressed():
                raise PauseRequested
            self.stim.fixation.draw()
            self.win.flip()
        self.stim.set_word(trial.word, trial.ink)
        self.stim.word.draw()
        frame = self.win.getMovieFrame(buffer="back") if self.capture_dir else None
        if frame is not None:
            self.win.movieFrames.clear()
        self.win.callOnFlip(self.device.reset_clock)  # RT zero = the flip that shows the word
        if self.keyboard is not self.device:
            self.win.callOnFlip(self.keyboard.reset_clock)
        t_on = self.win.flip()
        if self.participant is not None:
            self.participant.on_stimulus(trial, t_on, t.response_window_s, pause_key)
        while True:
            press = first_press(self.device.presses(self.response_keys)
                                + self.keyboard.presses([pause_key]))
            if press is not None and (press.name == pause_key or self.device.ends_word_on_response):
                break
            if not next_flip_before(self.win, t_on + t.response_window_s):
                break
            self.stim.word.draw()
            self.win.flip()
        t_off = self.win.flip()  # blank: the word is gone, the interval starts
        if press is not None and press.name == pause_key:
            raise PauseRequested
        if press is not None and press.rt_s > t.response_window_s:
            press = None  # came after the window closed (between the last poll and the check)
        outcome = TrialOutcome(
            response=press.name if press else "", rt_ms=press.rt_s * 1000 if press else None,
            fixation_onset_s=t_fix, stim_onset_s=t_on,
            dropped_frames=self.win.nDroppedFrames - dropped_before,
            rt_source=self.device.rt_source)
        if frame is not None:
            frame.save(self.capture_dir / f"trial{len(self.recorder.trial_rows) + 1:04d}_"
                       f"{trial.word_colour or trial.word}_{trial.ink}.png")
        if self.device.whole_window:
            coding_s = self.config.response.code_time_s if self.device.scoring == "experimenter" else 0
            self._finish_recorded_trial(trial, outcome, max(t_off + trial.iti_s, t_off + coding_s,
                                                            t_on + t.response_window_s))
        else:
            end = t_off + trial.iti_s
            draw = None
            if trial.is_practice:
                end += t.feedback_s
                draw = self._feedback_drawer(trial, outcome, t_off + t.feedback_s)
            self.timing.save_s.append(self.recorder.record_trial(trial, outcome))
            wait_until(self.win, end, draw)

    def _finish_recorded_trial(self, trial: PlannedTrial, outcome: TrialOutcome, end_s: float) -> None:
        """The interval of a device that records the whole window (voice): the experimenter's
        code keys are read until ``end_s``, then the device's measurements are added and the
        row is saved (so the save time, mostly the offline voice key, lengthens the interval)."""
        codes = self.config.response.code_keys
        by_key = {key: code for code, key in codes.items()}
        wait_until(self.win, end_s)
        code = "auto"
        if self.device.scoring == "experimenter":
            coded = self.keyboard.presses(list(by_key))  # since the word flip, earliest first
            code = by_key[coded[-1].name] if coded else self.config.response.code_default
        t0 = time.perf_counter()
        facts = self.device.trial_facts(trial, outcome.stim_onset_s, self.config.timing.response_window_s)
        outcome = dataclasses.replace(outcome, accuracy_code=code, **facts)
        self.recorder.record_trial(trial, outcome)
        self.timing.save_s.append(time.perf_counter() - t0)
        logging.exp(f"trial {trial.block}.{trial.trial_in_block}: voice rt {outcome.rt_ms} ms, code {code}")
        if trial.is_practice:
            now = core.getTime()
            wait_until(self.win, now + self.config.timing.feedback_s,
                       self._feedback_drawer(trial, outcome, now + self.config.timing.feedback_s))

    def _feedback_drawer(self, trial: PlannedTrial, outcome: TrialOutcome, until_s: float):
        correct, _ = score_response(trial.correct_key, outcome.response, outcome.accuracy_code)
        if outcome.response == "":
            text = "Too slow"
        elif correct:
            text = "Correct"
        elif outcome.accuracy_code in ("auto", "wrong"):
            text = f"Wrong: the ink was {trial.ink.upper()}"
        else:
            text = ""  # a vocal answer coded unclear or not coded: no feedback

        def draw() -> None:
            if core.getTime() < until_s:
                self.stim.draw_screen(text)
        return draw

    # ---- screens and pausing ---------------------------------------------------------------
    def holding_screen(self, body: str, title: str = ""):
        """A callable that draws a text screen and flips once: for waits a device controls."""
        logging.exp(f"screen {title or body.splitlines()[0]}")

        def draw_and_flip() -> None:
            self.stim.draw_screen(body, title)
            self.win.flip()
        return draw_and_flip

    def _reset_on_next_flip(self) -> None:
        self.win.callOnFlip(self.keyboard.reset_clock)

    def _pause_pressed(self) -> bool:
        return bool(self.keyboard.presses([self.config.response.pause_key]))

    def screen(self, screen_id: str, body: str, title: str = "", extra=(),
               keys: list[str] | None = None, pausable: bool = True, footer: str = "",
               body_y: float = 0.0) -> str:
        """Show a text screen until one of ``keys`` (default: the continue key); returns the key."""
        keys = keys or [self.config.response.continue_key]
        pause_key = self.config.response.pause_key
        watch = keys + ([pause_key] if pausable and pause_key not in keys else [])
        logging.exp(f"screen {screen_id}")

        def draw() -> None:
            self.stim.draw_screen(body, title, footer, body_y)
            for stim in extra:
                stim.draw()
        self._reset_on_next_flip()
        draw()
        self.win.flip()
        if self.process_start_wall is not None:  # command -> first screen, for the sidecar
            self.recorder.update_run(first_screen_s=round(time.time() - self.process_start_wall, 3))
            self.process_start_wall = None
        if self.participant is not None:
            self.participant.on_screen(screen_id, keys)
        while True:
            press = first_press(self.keyboard.presses(watch))
            if press is not None and press.name == pause_key and pause_key not in keys:
                self.pause()
                return self.screen(screen_id, body, title, extra, keys, pausable, footer, body_y)
            if press is not None:
                return press.name
            draw()
            self.win.flip()

    def pause(self) -> None:
        """The pause screen: continue returns, abort raises SessionAborted."""
        r = self.config.response
        logging.exp("paused")
        key = self.screen("pause", f"PAUSED\n\n{r.continue_key.upper()}: continue\n"
                          f"{r.abort_key.upper()}: abort the session (data so far are kept)",
                          title="EXPERIMENTER", keys=[r.continue_key, r.abort_key], pausable=False)
        if key == r.abort_key:
            raise SessionAborted
        self.recorder.add_event("continued")


def parse_speed(typed: str, default: float) -> float | None:
    """The speed typed on the block-end screen (km/h): ``default`` if nothing was typed, None if invalid."""
    if not typed:
        return default
    try:
        value = float(typed)
    except ValueError:
        return None
    return value if 0 <= value <= 30 else None
