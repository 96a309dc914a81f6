"""A worker thread that runs actions at given times on a clock, to sub-millisecond precision.

Used by the simulated participant (key and button presses) and the simulated speaker
(words into the virtual microphone). No PsychoPy import: the clock (``core.getTime``,
seconds) is passed in.
"""
from __future__ import annotations

import heapq
import itertools
import threading
from typing import Callable


class TimedScheduler:
    """Runs ``action(t_s)`` at time ``t_s`` of ``clock``, in time order, on one worker thread.

    The thread sleeps until ``spin_s`` before an action is due, then spins, so the action
    starts within microseconds of ``t_s`` when the thread gets a CPU. Actions run one at a
    time: a long action delays the next.
    """

    def __init__(self, clock: Callable[[], float], spin_s: float = 0.002, name: str = "scheduler"):
        self._clock, self._spin_s = clock, spin_s
        self._queue: list[tuple[float, int, Callable[[float], None]]] = []
        self._counter = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def at(self, t_s: float, action: Callable[[float], None]) -> None:
        with self._cv:
            heapq.heappush(self._queue, (t_s, next(self._counter), action))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._queue:
                    self._cv.wait()
                if self._stop:
                    return
                t_s = self._queue[0][0]
                wait = t_s - self._clock() - self._spin_s
                if wait > 0:
                    self._cv.wait(timeout=wait)  # woken early by a new or earlier item
                    continue
                t_s, _, action = heapq.heappop(self._queue)
            while self._clock() < t_s:  # the last ~2 ms: spin
                pass
            action(t_s)

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=2)
