"""The PsychoPy window and what is drawn on it: fixation, the coloured word, text screens."""
from __future__ import annotations

import statistics

from psychopy import core, visual

from experiment.config import Config


def open_window(config: Config, fullscreen: bool | None = None) -> visual.Window:
    """The experiment window (``fullscreen`` overrides the config when given)."""
    d = config.display
    win = visual.Window(
        size=list(d.size_px), fullscr=d.fullscreen if fullscreen is None else fullscreen,
        screen=d.screen, units=d.units, color=list(d.background), colorSpace="rgb255",
        allowGUI=False, checkTiming=False, winType="pyglet")
    win.mouseVisible = False
    win.recordFrameIntervals = True
    return win


def measured_frame_timing(win: visual.Window, n_frames: int = 60) -> dict[str, float | None]:
    """PsychoPy's measured refresh rate (Hz, None if unstable) and the median flip interval (ms)."""
    rate = win.getActualFrameRate(nIdentical=10, nMaxFrames=120, nWarmUpFrames=10, threshold=1)
    stamps = [win.flip() for _ in range(n_frames)]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"frame_rate_hz": None if rate is None else round(float(rate), 3),
            "frame_interval_median_ms": round(statistics.median(intervals) * 1000, 4)}


class Stimuli:
    """The stimuli of a session, created once: fixation cross, word, and text screens."""

    def __init__(self, win: visual.Window, config: Config):
        d = config.display
        self.win = win
        self.rgb = config.stimuli.rgb
        self.fixation = visual.TextStim(win, text="+", height=d.text_height, color=list(d.foreground),
                                        colorSpace="rgb255", font=d.font)
        self.word = visual.TextStim(win, text="", height=d.text_height, font=d.font, bold=True,
                                    colorSpace="rgb255")
        self.text = visual.TextStim(win, text="", height=d.text_height * 0.32, wrapWidth=1.6
                                    if d.units == "height" else None, color=list(d.foreground),
                                    colorSpace="rgb255", font=d.font, alignText="center")
        self.title = visual.TextStim(win, text="", height=d.text_height * 0.5, pos=(0, 0.33)
                                     if d.units == "height" else (0, 0.7), bold=True,
                                     color=list(d.foreground), colorSpace="rgb255", font=d.font)

    def set_word(self, word: str, ink: str) -> None:
        self.word.text = word
        self.word.color = list(self.rgb[ink])

    def draw_screen(self, body: str, title: str = "", title_rgb: tuple[int, ...] | None = None) -> None:
        self.title.text = title
        self.title.color = list(title_rgb) if title_rgb else self.text.color
        self.text.text = body
        if title:
            self.title.draw()
        self.text.draw()


def wait_until(win: visual.Window, t_end_s: float, draw=None) -> None:
    """Keep flipping (drawing with ``draw``) until PsychoPy's clock reaches ``t_end_s``.

    Ends within one frame of ``t_end_s``; on a real display each flip waits for the refresh.
    """
    while core.getTime() < t_end_s:
        if draw is not None:
            draw()
        win.flip()
