"""The PsychoPy session: a thin layer that runs a :class:`SessionPlan` through a window and a device.

The Session owns the window, the response device and the recorder; a trial owns its phases
(fixation, word until response or window end, interval in which the row is saved).
Presses come from the devices once each into a :class:`PressLedger`; a screen or trial counts
only a press that went down after the flip that showed it (a screen waiting for a key: at
least ``display.min_screen_s`` after), and each press counts once in the whole session.
Every wait watches the pause key: a pause shows continue / abort; a trial paused while its
word was up is run again from its fixation (it was not saved), a pause in the interval takes
effect once the row is saved; abort keeps all data and marks the session.
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from psychopy import core, logging, visual

from experiment.core import screens
from experiment.core.config import Config
from experiment.core.design import PlannedBlock, PlannedTrial
from experiment.shell.display import Stimuli, next_flip_before
from experiment.core.session_files import SessionRecorder, TrialOutcome, score_response
from experiment.devices.protocol import Press, PressLedger, ResponseDevice
from experiment.core.screens import ScreenText
from experiment.shell.telemetry import SessionTelemetry

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
                 process_start_wall: float | None = None, keyboard: ResponseDevice | None = None,
                 telemetry: SessionTelemetry | None = None):
        self.config, self.recorder, self.win, self.device = config, recorder, win, device
        # frame intervals and LSL markers (experiment/shell/telemetry.py)
        self.telemetry = telemetry or SessionTelemetry.without_markers(win, recorder, config)
        self.keyboard = keyboard or device  # the experimenter's keys (screens, pause)
        self.process_start_wall = process_start_wall  # time.time() at process start, if known
        self.participant = participant  # a SimulatedParticipant, or None for a person
        self.capture_dir = capture_dir
        self.stim = Stimuli(win, config)
        self.presses = PressLedger()
        names = config.response.response_names()  # key or button name per ink, as the device reports it
        self.response_keys = list(device.reports or [names[c] for c in config.design.colours])
        self.timing = TimingStats()
        self.vocal = device.scoring == "experimenter"

    # ---- the whole session -----------------------------------------------------------------
    def run(self) -> str:
        """Run what is left of the session; returns the final status ('complete' or 'aborted')."""
        self.telemetry.session_started()
        try:
            device_info = self.device.prepare_session(self)
            if device_info:
                self.recorder.update_run(response_device=device_info)
            self.screen(screens.instructions(self.config, self.vocal))
            self.practice()
            n = len(self.recorder.plan.blocks)
            for block in self.recorder.plan.blocks:
                self.run_block(block, n)
            self.screen(screens.end(self.config))
            status = "complete"
        except SessionAborted:
            self.recorder.add_event("aborted")
            self.telemetry.event("abort")
            status = "aborted"
        self.recorder.update_run(**self.timing.summary())
        self.telemetry.session_ended(status)
        self.recorder.finish(status)
        logging.exp(f"session {status}")
        return status

    def practice(self) -> None:
        rounds = self.recorder.plan.practice_rounds
        if not rounds or self.recorder.sidecar.get("practice_passed") is not None:
            return
        for rnd in rounds:
            if self.recorder.block_row(rnd) is None:
                self.run_block(rnd, len(rounds))
            accuracy = self.recorder.block_accuracy(rnd)
            if accuracy >= self.config.practice.accuracy_criterion:
                self.recorder.update(practice_passed=True)
                return
            if rnd.block < len(rounds):
                self.screen(screens.practice_again(self.config, accuracy))
        self.screen(screens.practice_failed(self.config, len(rounds)))
        self.recorder.update(practice_passed=False)

    # ---- blocks ----------------------------------------------------------------------------
    def run_block(self, block: PlannedBlock, n_blocks: int) -> None:
        if self.recorder.block_row(block) is not None:
            return
        cond = self.config.condition(block.condition)
        remaining = self.recorder.remaining(block)
        frames = None
        if remaining:
            self.screen(screens.block_start(self.config, block.condition, block.block, n_blocks,
                                            block.is_practice, len(self.recorder.plan.practice_rounds)))
            if cond.treadmill_speed_kmh > 0:
                self.settle(cond.label)
            self.device.prepare_block(self, block)
            logging.exp(f"block start: {'practice' if block.is_practice else 'block'} "
                        f"{block.block} {block.condition}")
            started = self.recorder.block_started(block)  # the first start, across resumes
            self.telemetry.block_started(block, cond.treadmill_speed_kmh)
            for trial in remaining:
                self.run_trial_until_done(trial)
            frames = self.telemetry.block_ended(block)
        else:  # every trial was saved before a crash: the block started in an earlier run
            started = self.recorder.block_started(block)
        warning = self.telemetry.dropped_frames_warning(frames) if frames else ""
        if block.is_practice:
            actual = cond.treadmill_speed_kmh
            self.screen(screens.practice_end(self.config, self.recorder.block_accuracy(block),
                                             warning))
        else:
            actual = self.speed_screen(block, n_blocks, warning)
        self.recorder.record_block(block, actual, started)

    def settle(self, label: str) -> None:
        """The walking countdown (``timing.settle_s``); a pause starts it again."""
        while True:
            shown = self.show(screens.settle(label, int(self.config.timing.settle_s + 0.999)))
            end = shown + self.config.timing.settle_s
            if not self.wait_until(end, lambda: self.stim.draw_screen(
                    screens.settle(label, max(0, int(end - core.getTime() + 0.999)))), shown):
                return
            self.pause()

    def speed_screen(self, block: PlannedBlock, n_blocks: int, warning: str = "") -> float:
        """Block-end screen: the experimenter confirms the treadmill speed or types the actual one
        (km/h); ``warning``: the block's dropped-frames warning, if any."""
        cond = self.config.condition(block.condition)
        r = self.config.response
        typed = ""

        def text() -> ScreenText:
            return screens.block_end(self.config, block.block, n_blocks,
                                     self.recorder.block_accuracy(block),
                                     typed or f"{cond.treadmill_speed_kmh:.1f}", warning)
        shown = self.show(text())
        self.announce("block-end-speed", [r.continue_key])
        while True:
            self.poll()
            # digits count from the screen's appearance (none is held over from the screen
            # before); only the keys that leave the screen need a fresh press
            typed_keys = self.presses.take_all(SPEED_KEYS, shown)
            leaving = self.presses.take_all([r.continue_key, r.pause_key],
                                            shown + self.config.display.min_screen_s)
            for press in sorted(typed_keys + leaving, key=lambda p: p.t_down_s):
                if press.name == r.continue_key:
                    speed = parse_speed(typed, default=cond.treadmill_speed_kmh)
                    if speed is not None:
                        logging.exp(f"block {block.block}: treadmill speed {speed} km/h")
                        return speed
                    typed = ""
                elif press.name == r.pause_key:
                    self.pause()
                    return self.speed_screen(block, n_blocks, warning)
                elif press.name == "backspace":
                    typed = typed[:-1]
                else:
                    typed += "." if press.name in ("period", "comma") else press.name
            self.stim.draw_screen(text())
            self.win.flip()

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
        self.stim.fixation.draw()
        t_fix = self.win.flip()
        self.telemetry.fixation(trial, t_fix)
        self.presses.forget_before(t_fix)
        if self.participant is not None:
            self.participant.on_fixation(trial, t_fix, t.fixation_s)
        while next_flip_before(self.win, t_fix + t.fixation_s):
            self.poll()
            if self.presses.take([pause_key], t_fix) is not None:
                raise PauseRequested
            self.stim.fixation.draw()
            self.win.flip()
        self.stim.set_word(trial.word, trial.ink)
        self.stim.word.draw()
        frame = self.win.getMovieFrame(buffer="back") if self.capture_dir else None
        if frame is not None:
            self.win.movieFrames.clear()
        self.poll()  # presses from before the word stay before it
        self.win.logOnFlip(f"word {trial.word} in {trial.ink} (trial {'p' if trial.is_practice else 'b'}"
                           f"{trial.block}.{trial.trial_in_block})", level=logging.EXP)
        t_on = self.win.flip()  # RT zero: the flip that shows the word
        self.telemetry.word_onset(trial, t_on)
        self.device.on_stimulus_flip(t_on)
        if self.participant is not None:
            self.participant.on_stimulus(trial, t_on, t.response_window_s, pause_key)
        press, paused = self._response(t_on, t.response_window_s)
        t_off = self.win.flip()  # blank: the word is gone, the interval starts
        if paused:
            raise PauseRequested
        outcome = TrialOutcome(
            response=press.name if press else "", rt_ms=press.rt_ms(t_on) if press else None,
            fixation_onset_s=t_fix, stim_onset_s=t_on,
            dropped_frames=self.win.nDroppedFrames - dropped_before,
            rt_source=self.device.rt_source)
        if press is not None and not self.device.whole_window:
            self.telemetry.response(trial, press.name, outcome.rt_ms / 1000, t_on)
        if frame is not None:
            frame.save(self.capture_dir / f"trial{len(self.recorder.trial_rows) + 1:04d}_"
                       f"{trial.word_colour or trial.word}_{trial.ink}.png")
        if self.device.whole_window:
            coding_s = self.config.response.code_time_s if self.vocal else 0
            self._finish_recorded_trial(trial, outcome, max(t_off + trial.iti_s, t_off + coding_s,
                                                            t_on + t.response_window_s))
            return
        self.timing.save_s.append(self.recorder.record_trial(trial, outcome))
        end = t_off + trial.iti_s + (t.feedback_s if trial.is_practice else 0.0)
        draw = self._feedback_drawer(trial, outcome, t_off + t.feedback_s) if trial.is_practice else None
        if self.wait_until(end, draw, t_off):
            self.pause_between_trials(trial)

    def _response(self, t_on: float, window_s: float) -> tuple[Press | None, bool]:
        """Keep the word up until a response (or the window's end); returns the first response
        press down after ``t_on`` and within the window, and whether the pause key was pressed."""
        pause_key = self.config.response.pause_key
        press = None
        while True:
            self.poll()
            if press is None:
                first = self.presses.take(self.response_keys + [pause_key], t_on, t_on + window_s)
                if first is not None and first.name == pause_key:
                    return None, True
                press = first
                if press is not None and self.device.ends_word_on_response:
                    return press, False
            elif self.presses.take([pause_key], t_on) is not None:
                return press, True
            if not next_flip_before(self.win, t_on + window_s):
                return press, False
            self.stim.word.draw()
            self.win.flip()

    def _finish_recorded_trial(self, trial: PlannedTrial, outcome: TrialOutcome, end_s: float) -> None:
        """The interval of a device that records the whole window (voice): the experimenter's
        code keys are read until ``end_s``, then the device's measurements are added and the
        row is saved (so the save time, mostly the offline voice key, lengthens the interval)."""
        codes = self.config.response.code_keys
        by_key = {key: code for code, key in codes.items()}
        paused = self.wait_until(end_s, None, outcome.stim_onset_s, stop_on_pause=False)
        code = "auto"
        if self.vocal:
            coded = self.presses.take_all(list(by_key), outcome.stim_onset_s, end_s)
            code = by_key[coded[-1].name] if coded else self.config.response.code_default
        t0 = time.perf_counter()
        facts = self.device.trial_facts(trial, outcome.stim_onset_s, self.config.timing.response_window_s)
        outcome = dataclasses.replace(outcome, accuracy_code=code, **facts)
        self.recorder.record_trial(trial, outcome)
        if outcome.rt_ms is not None:
            self.telemetry.response(trial, outcome.response, outcome.rt_ms / 1000,
                                    outcome.stim_onset_s)
        self.timing.save_s.append(time.perf_counter() - t0)
        logging.exp(f"trial {trial.block}.{trial.trial_in_block}: voice rt {outcome.rt_ms} ms, code {code}")
        if trial.is_practice:
            now = core.getTime()
            paused = self.wait_until(now + self.config.timing.feedback_s,
                                     self._feedback_drawer(trial, outcome, now + self.config.timing.feedback_s),
                                     now) or paused
        if paused:
            self.pause_between_trials(trial)

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
        shown = screens.feedback(text)

        def draw() -> None:
            if text and core.getTime() < until_s:
                self.stim.draw_screen(shown)
        return draw

    def pause_between_trials(self, trial: PlannedTrial) -> None:
        """A pause pressed in the interval, once the trial's row is saved."""
        self.recorder.add_event("pause", block=trial.block, trial_in_block=trial.trial_in_block,
                                is_practice=trial.is_practice, after_trial=True)
        self.pause()

    # ---- presses, screens and pausing ------------------------------------------------------
    def poll(self) -> None:
        """Move every new press of the response device and the keyboard into the ledger."""
        self.presses.add(self.device.poll())
        if self.keyboard is not self.device:
            self.presses.add(self.keyboard.poll())

    def wait_until(self, end_s: float, draw: Callable[[], None] | None, since_s: float,
                   stop_on_pause: bool = True) -> bool:
        """Keep flipping (drawing with ``draw``) until the next flip would reach ``end_s``;
        returns True if the pause key went down after ``since_s``. The wait ends at the pause
        unless ``stop_on_pause`` is False (a device records the whole wait)."""
        pause_key = self.config.response.pause_key
        paused = False
        while next_flip_before(self.win, end_s):
            self.poll()
            paused = paused or self.presses.take([pause_key], since_s) is not None
            if paused and stop_on_pause:
                return True
            if draw is not None:
                draw()
            self.win.flip()
        self.poll()
        return paused or self.presses.take([pause_key], since_s, end_s) is not None

    def show(self, screen: ScreenText) -> float:
        """Draw ``screen`` and flip; returns the flip's time (the screen's onset, PsychoPy clock s).
        The .log gets one line per screen, stamped with that flip."""
        self.stim.draw_screen(screen)
        self.win.logOnFlip(f"screen {screen.screen_id}", level=logging.EXP)
        shown = self.win.flip()
        self.presses.forget_before(shown)
        if self.process_start_wall is not None:  # command -> first screen, for the sidecar
            self.recorder.update_run(first_screen_s=round(time.time() - self.process_start_wall, 3))
            self.process_start_wall = None
        return shown

    # ---- what a device may use (experiment.devices.protocol.DeviceHost) ----------------------------
    @property
    def files(self):
        return self.recorder.paths

    @property
    def trials_saved(self) -> int:
        return len(self.recorder.trial_rows)

    def add_event(self, kind: str, **details) -> None:
        self.recorder.add_event(kind, **details)

    def draw(self, screen: ScreenText) -> None:
        self.stim.draw_screen(screen)

    def announce(self, screen_id: str, keys: list[str]) -> None:
        if self.participant is not None:
            self.participant.on_screen(screen_id, keys)

    def holding_screen(self, screen: ScreenText) -> Callable[[], None]:
        """A callable that draws ``screen`` and flips once: for waits a device controls."""
        logging.exp(f"screen {screen.screen_id}")

        def draw_and_flip() -> None:
            self.stim.draw_screen(screen)
            self.win.flip()
        return draw_and_flip

    def wait_for_press(self, names: list[str], after_s: float, draw: Callable[[], None]) -> Press:
        """The first press of ``names`` down at or after ``after_s``, flipping (with ``draw``) until it comes."""
        while True:
            self.poll()
            press = self.presses.take(names, after_s)
            if press is not None:
                return press
            draw()
            self.win.flip()

    def screen(self, screen: ScreenText, keys: list[str] | None = None, pausable: bool = True) -> str:
        """Show ``screen`` until a fresh press of one of ``keys`` (default: the continue key):
        down at least ``display.min_screen_s`` after the screen appeared. Returns the key."""
        keys = keys or [self.config.response.continue_key]
        pause_key = self.config.response.pause_key
        watch = keys + ([pause_key] if pausable and pause_key not in keys else [])
        shown = self.show(screen)
        self.announce(screen.screen_id, keys)
        press = self.wait_for_press(watch, shown + self.config.display.min_screen_s,
                                    lambda: self.stim.draw_screen(screen))
        logging.exp(f"screen {screen.screen_id}: {press.name} down {press.t_down_s - shown:.3f} s "
                    "after it appeared")
        if press.name == pause_key and pause_key not in keys:
            self.pause()
            return self.screen(screen, keys, pausable)
        return press.name

    def pause(self) -> None:
        """The pause screen: continue returns, abort raises SessionAborted."""
        r = self.config.response
        logging.exp("paused")
        self.telemetry.event("pause")
        key = self.screen(screens.pause(self.config), keys=[r.continue_key, r.abort_key], pausable=False)
        if key == r.abort_key:
            raise SessionAborted
        self.recorder.add_event("continued")
        self.telemetry.event("continue")


def parse_speed(typed: str, default: float) -> float | None:
    """The speed typed on the block-end screen (km/h): ``default`` if nothing was typed, None if invalid."""
    if not typed:
        return default
    try:
        value = float(typed)
    except ValueError:
        return None
    return value if 0 <= value <= 30 else None
