"""Lab Streaming Layer (LSL) markers: one string marker per session event, on LSL's clock.

Labs that record gait (motion capture, IMUs, force plates) or EEG/fNIRS during the task line
the Stroop events up with those streams through LSL. With ``[lsl] enabled = true`` the
session opens a marker outlet (type ``Markers``, one string channel, irregular rate) and
sends, for every event, a JSON object ``{"event": ..., ...}`` stamped with the event's time
converted from PsychoPy's clock to LSL's clock (``pylsl.local_clock``): for fixation and
word onsets the flip time, for a response the word's flip plus the RT, for the others the
moment they happen.

The two clocks are different (PsychoPy counts from process start, LSL from boot), so the
offset between them is measured — an LSL clock read between two PsychoPy clock reads, the
narrowest of several tries — at session start and at every block boundary; each marker
uses the latest measurement, and all measurements go to the sidecar
(:meth:`MarkerOutlet.offsets_for_sidecar`). pylsl is imported only when markers are enabled.
Keep LSL traffic on one machine in tests with a config passed through ``LSLAPICFG``
(``tests/lsl_local.cfg``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Callable

EVENTS = ("session_start", "session_end", "block_start", "block_end", "fixation",
          "word_onset", "response", "pause", "continue", "abort")


@dataclass(frozen=True)
class ClockOffset:
    """LSL clock minus PsychoPy clock (seconds), measured at ``psychopy_time_s``;
    ``uncertainty_s``: half the bracketing window (how far the measurement can be off)."""
    label: str
    psychopy_time_s: float
    offset_s: float
    uncertainty_s: float


def measured_offset(psychopy_clock: Callable[[], float], lsl_clock: Callable[[], float],
                    label: str, tries: int = 25) -> ClockOffset:
    """The offset ``lsl_clock() - psychopy_clock()`` from the narrowest of ``tries`` brackets."""
    best = None
    for _ in range(tries):
        t1 = psychopy_clock()
        lsl = lsl_clock()
        t2 = psychopy_clock()
        if best is None or t2 - t1 < best[1] - best[0]:
            best = (t1, t2, lsl)
    t1, t2, lsl = best
    mid = (t1 + t2) / 2
    return ClockOffset(label, round(mid, 6), lsl - mid, (t2 - t1) / 2)


def marker_text(event: str, fields: dict[str, Any]) -> str:
    """The marker string: compact JSON with ``event`` first, then ``fields`` in given order."""
    if event not in EVENTS:
        raise ValueError(f"unknown marker event {event!r}; allowed: {', '.join(EVENTS)}")
    return json.dumps({"event": event, **fields}, ensure_ascii=False, separators=(",", ":"))


class NoMarkers:
    """What the session talks to when LSL is off: every call does nothing."""
    enabled = False

    def send(self, event: str, psychopy_time_s: float, **fields: Any) -> None:
        pass

    def measure_offset(self, label: str) -> None:
        pass

    def offsets_for_sidecar(self) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        pass


class MarkerOutlet(NoMarkers):
    """An LSL marker outlet (``stream_name``, source id ``source_id``) fed with events on
    PsychoPy's clock (``psychopy_clock``, seconds). ``wait_for_consumers_s`` > 0: wait that
    long at start-up for a recorder (LabRecorder, an inlet) to connect; RuntimeError if none
    does, so that no marker is lost."""
    enabled = True

    def __init__(self, stream_name: str, source_id: str, psychopy_clock: Callable[[], float],
                 wait_for_consumers_s: float = 0.0):
        import pylsl  # only with [lsl] enabled = true
        self._clock = psychopy_clock
        self._lsl_clock = pylsl.local_clock
        info = pylsl.StreamInfo(stream_name, "Markers", 1, pylsl.IRREGULAR_RATE,
                                pylsl.cf_string, source_id)
        info.desc().append_child_value("clock", "LSL local_clock; PsychoPy times + offset")
        self._outlet = pylsl.StreamOutlet(info)
        if wait_for_consumers_s > 0 and not self._outlet.wait_for_consumers(wait_for_consumers_s):
            raise RuntimeError(f"lsl.wait_for_consumers_s = {wait_for_consumers_s}: no LSL "
                               f"recorder connected to stream {stream_name!r}; start the "
                               "recorder first or set it to 0")
        self.offsets: list[ClockOffset] = []
        self.measure_offset("start")

    def measure_offset(self, label: str) -> None:
        self.offsets.append(measured_offset(self._clock, self._lsl_clock, label))

    def send(self, event: str, psychopy_time_s: float, **fields: Any) -> None:
        """Push one marker stamped ``psychopy_time_s`` + the latest offset (LSL seconds)."""
        self._outlet.push_sample([marker_text(event, fields)],
                                 psychopy_time_s + self.offsets[-1].offset_s)

    def offsets_for_sidecar(self) -> list[dict[str, Any]]:
        """Every offset measurement (offset_s = LSL clock − PsychoPy clock, seconds)."""
        return [asdict(o) for o in self.offsets]

    def close(self) -> None:
        del self._outlet
