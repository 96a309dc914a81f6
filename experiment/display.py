"""The PsychoPy window and what is drawn on it: fixation, the coloured word, text screens."""
from __future__ import annotations

import statistics
import string
from pathlib import Path

from psychopy import visual

from experiment.config import Config
from experiment.glyphs import describe_characters, missing_characters

#: What the text screens (instructions, experimenter screens) and the fixation cross need.
SCREEN_TEXT = string.ascii_letters + string.digits + "+.,:;!?()%'\"-="


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
    """Measure the refresh rate and make the window use it; returns the figures for the sidecar.

    PsychoPy's measured rate (Hz, None if unstable: then 60 Hz is assumed, as PsychoPy does)
    sets ``win.monitorFramePeriod``, which :func:`next_flip_before` and the dropped-frame
    count rely on; the median flip interval (ms) is measured over ``n_frames`` flips.
    """
    rate = win.getActualFrameRate(nIdentical=10, nMaxFrames=120, nWarmUpFrames=10, threshold=1)
    win.monitorFramePeriod = 1.0 / rate if rate else 1.0 / 60
    win.refreshThreshold = win.monitorFramePeriod * 1.2
    stamps = [win.flip() for _ in range(n_frames)]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"frame_rate_hz": None if rate is None else round(float(rate), 3),
            "frame_period_used_ms": round(win.monitorFramePeriod * 1000, 4),
            "frame_interval_median_ms": round(statistics.median(intervals) * 1000, 4)}


def font_file(name: str, bold: bool = False) -> Path:
    """The file pyglet draws font ``name`` from (fontconfig's best match, as pyglet asks for
    it when PsychoPy's TextStim loads a font; an unknown name gets fontconfig's fallback)."""
    from pyglet.font.fontconfig import get_fontconfig
    match = get_fontconfig().find_font(name, 12, bold, False)
    if not match or not match.file:
        raise ValueError(f"display.font = {name!r}: fontconfig finds no font file")
    return Path(match.file)


def font_coverage_error(config: Config) -> str | None:
    """None if ``display.font`` (bold, as the word is drawn) has a glyph for every character
    of the language's words and the regular face covers the screens' text; else a one-line
    error naming the characters and a font that covers them."""
    d, stim = config.display, config.stimuli
    for bold, texts, what in ((True, stim.words, f"the {stim.language!r} words"),
                              (False, [SCREEN_TEXT], "the screens' text")):
        try:
            path = font_file(d.font, bold)
            missing = missing_characters(path, texts)
        except ValueError as exc:
            return str(exc)
        if missing:
            hint = (f"set display.font = {stim.font!r} (install fonts-noto-cjk)" if stim.font
                    else "set display.font to a font that has them")
            return (f"display.font = {d.font!r} (drawn from {path.name}) has no glyph for "
                    f"{describe_characters(missing)} of {what}; {hint}")
    return None


class Stimuli:
    """The stimuli of a session, created once: fixation cross, word, and text screens.

    Screen layout is given in 'height' units (screen height = 1) and converted to the
    window's units.
    """

    def __init__(self, win: visual.Window, config: Config):
        d = config.display
        self.win = win
        self.rgb = config.stimuli.rgb
        self._scale = {"height": 1.0, "norm": 2.0, "pix": float(win.size[1])}[d.units]
        fg = list(d.foreground)
        small = d.text_height * 0.38

        def text(height: float, y: float, bold: bool = False) -> visual.TextStim:
            return visual.TextStim(win, text="", height=height * 1.0, pos=(0, self.y(y)),
                                   wrapWidth=self.y(1.5), color=fg, colorSpace="rgb255",
                                   font=d.font, bold=bold, alignText="center")
        self.fixation = visual.TextStim(win, text="+", height=d.text_height, color=fg,
                                        colorSpace="rgb255", font=d.font)
        self.word = visual.TextStim(win, text="", height=d.text_height, font=d.font, bold=True,
                                    colorSpace="rgb255")
        self.title = text(d.text_height * 0.55, 0.36, bold=True)
        self.text = text(small, 0.0)
        self.footer = text(small, -0.36)

    def y(self, height_units: float) -> float:
        """A vertical position or size given in height units, in the window's units."""
        return height_units * self._scale

    def set_word(self, word: str, ink: str) -> None:
        self.word.text = word
        self.word.color = list(self.rgb[ink])

    def draw_screen(self, body: str, title: str = "", footer: str = "", body_y: float = 0.0) -> None:
        """A text screen: title at the top, body (centred at ``body_y`` height units), footer."""
        self.text.pos = (0, self.y(body_y))
        for stim, value in ((self.title, title), (self.text, body), (self.footer, footer)):
            if value:
                stim.text = value
                stim.draw()


FRAME_TOLERANCE_S = 0.001


def next_flip_before(win: visual.Window, t_end_s: float) -> bool:
    """True while the next refresh still comes before ``t_end_s`` (PsychoPy clock, seconds).

    Loops that keep a screen up while this holds end so that the following flip lands on
    the refresh at ``t_end_s`` instead of one frame after it (as PsychoPy Builder does).
    """
    return win.getFutureFlipTime(clock=None) < t_end_s - FRAME_TOLERANCE_S


def wait_until(win: visual.Window, t_end_s: float, draw=None) -> None:
    """Keep flipping (drawing with ``draw``) until the next flip would reach ``t_end_s``."""
    while next_flip_before(win, t_end_s):
        if draw is not None:
            draw()
        win.flip()
