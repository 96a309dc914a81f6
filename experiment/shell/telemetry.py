"""What a session reports besides its trials: frame timing and LSL markers.

The :class:`Session` tells a :class:`SessionTelemetry` about its events with their flip
times (PsychoPy clock, seconds); this class keeps each block's frame intervals
(``win.frameIntervals``, cleared when the block's trials start, saved to ``<stem>_frames.csv``
when they end), warns the experimenter when a block dropped too many frames, writes the
session's ``frame_qa`` summary, the LSL clock offsets and the QA figure
(``<stem>_frame_qa.png``) when the session ends, and forwards every event to the LSL marker
outlet (:mod:`experiment.sync.lsl_markers`; a no-op unless ``[lsl] enabled = true``).
"""
from __future__ import annotations

from typing import Any, Callable

from experiment.core.config import Config
from experiment.core.datafile import CsvAppender, read_rows
from experiment.core.design import PlannedBlock, PlannedTrial
from analysis.statistics.timing_qa import onsets_on_planned_frame
from experiment.core.frame_qa import (FIGURE_SUFFIX, FRAME_COLUMNS, FRAMES_SUFFIX, BlockFrames,
                                      block_frames, dropped_frames_warning, frame_rows,
                                      session_frame_qa, write_frame_qa_figure)
from experiment.sync.lsl_markers import MarkerOutlet, NoMarkers
from experiment.core.session_files import SessionRecorder


def open_markers(config: Config, source_id: str, clock: Callable[[], float]) -> NoMarkers:
    """The LSL marker outlet the config asks for (``[lsl] enabled``), else a :class:`NoMarkers`."""
    if not config.lsl.enabled:
        return NoMarkers()
    return MarkerOutlet(config.lsl.stream_name, source_id, clock, config.lsl.wait_for_consumers_s)


class SessionTelemetry:
    """Frame intervals and markers of one run of a session (see the module docstring).
    ``win``: the PsychoPy window (recordFrameIntervals on); ``clock``: PsychoPy's clock."""

    def __init__(self, win: Any, recorder: SessionRecorder, config: Config,
                 markers: NoMarkers, clock: Callable[[], float]):
        self.win, self.recorder, self.config, self.markers, self.clock = (
            win, recorder, config, markers, clock)
        self._frames = CsvAppender(recorder.paths.file(FRAMES_SUFFIX), FRAME_COLUMNS)
        info = recorder.info
        self._who = {"participant": info.participant, "session": info.session}

    @classmethod
    def without_markers(cls, win: Any, recorder: SessionRecorder, config: Config
                        ) -> "SessionTelemetry":
        """Frame timing only (LSL off), on PsychoPy's clock."""
        from psychopy import core
        return cls(win, recorder, config, NoMarkers(), core.getTime)

    # ---- session -----------------------------------------------------------------------
    def session_started(self) -> None:
        self.markers.send("session_start", self.clock(), **self._who, run=self.recorder.run)

    def session_ended(self, status: str) -> None:
        """Marker, then the sidecar's ``frame_qa`` and ``lsl_clock_offsets`` and the figure."""
        self.markers.send("session_end", self.clock(), **self._who, status=status)
        self.markers.measure_offset("end")
        self._frames.close()
        rows = read_rows(self._frames.path)
        typed = [{"run": int(r["run"]), "is_practice": int(r["is_practice"]),
                  "block": int(r["block"]), "frame": int(r["frame"]),
                  "interval_ms": float(r["interval_ms"])} for r in rows]
        period, threshold = self.win.monitorFramePeriod, self.win.refreshThreshold
        blocks = [block_frames([r["interval_ms"] / 1000 for r in typed if (r["run"], r["is_practice"],
                                r["block"]) == key], threshold, run=key[0], is_practice=key[1],
                               block=key[2])
                  for key in dict.fromkeys((r["run"], r["is_practice"], r["block"]) for r in typed)]
        trials = [r for r in self.recorder.trial_rows if r["is_practice"] == "0"]
        on_frame = onsets_on_planned_frame([float(r["fixation_onset_s"]) for r in trials],
                                           [float(r["stim_onset_s"]) for r in trials],
                                           self.config.timing.fixation_s, period)
        rate = (self.recorder.sidecar["runs"][0]).get("frame_rate_hz")
        qa = session_frame_qa(blocks, rate, period, on_frame)
        qa["intervals_file"] = self._frames.path.name
        if typed:
            figure = self.recorder.paths.file(FIGURE_SUFFIX)
            write_frame_qa_figure(typed, period, threshold, figure,
                                  f"{self.recorder.paths.stem}: frame intervals")
            qa["figure"] = figure.name
        self.recorder.update(frame_qa=qa)
        if self.markers.enabled:
            offsets = self.recorder.sidecar.get("lsl_clock_offsets", [])
            self.recorder.update(lsl_stream=self.config.lsl.stream_name,
                                 lsl_clock_offsets=offsets + self.markers.offsets_for_sidecar())
        self.markers.close()

    def event(self, kind: str, **details: Any) -> None:
        """pause / continue / abort, now."""
        self.markers.send(kind, self.clock(), **details)

    # ---- blocks ------------------------------------------------------------------------
    def block_started(self, block: PlannedBlock, speed_kmh: float) -> None:
        """Call just before the block's first trial: clears the recorded frame intervals."""
        self.win.frameIntervals.clear()
        self.markers.measure_offset(f"{'practice' if block.is_practice else 'block'} {block.block} start")
        self.markers.send("block_start", self.clock(), **self._block(block), speed_kmh=speed_kmh)

    def block_ended(self, block: PlannedBlock) -> BlockFrames:
        """Call after the block's last trial: saves its frame intervals and summarises them."""
        intervals = list(self.win.frameIntervals)
        self.win.frameIntervals.clear()
        self._frames.append_rows(frame_rows(intervals, run=self.recorder.run,
                                            is_practice=block.is_practice, block=block.block))
        summary = block_frames(intervals, self.win.refreshThreshold, run=self.recorder.run,
                               is_practice=block.is_practice, block=block.block)
        self.markers.send("block_end", self.clock(), **self._block(block),
                          dropped_frames=summary.dropped)
        self.markers.measure_offset(f"{'practice' if block.is_practice else 'block'} {block.block} end")
        return summary

    def dropped_frames_warning(self, summary: BlockFrames) -> str:
        """The block-end screen's warning line ('' if the block is within the limit)."""
        return dropped_frames_warning(summary, self.config.frame_qa.warn_dropped_share)

    # ---- trials ------------------------------------------------------------------------
    def fixation(self, trial: PlannedTrial, flip_s: float) -> None:
        self.markers.send("fixation", flip_s, **self._trial(trial))

    def word_onset(self, trial: PlannedTrial, flip_s: float) -> None:
        self.markers.send("word_onset", flip_s, **self._trial(trial), word=trial.word,
                          ink=trial.ink, congruency=trial.congruency)

    def response(self, trial: PlannedTrial, name: str, rt_s: float, word_flip_s: float) -> None:
        self.markers.send("response", word_flip_s + rt_s, **self._trial(trial), key=name,
                          rt_ms=round(rt_s * 1000, 3))

    def _block(self, block: PlannedBlock) -> dict[str, Any]:
        return {**self._who, "is_practice": block.is_practice, "block": block.block,
                "condition": block.condition}

    def _trial(self, trial: PlannedTrial) -> dict[str, Any]:
        return {**self._who, "is_practice": trial.is_practice, "block": trial.block,
                "trial_in_block": trial.trial_in_block}
