"""The PsychoPy window and what is drawn on it: fixation, the coloured word, text screens."""
from __future__ import annotations

import math
import statistics
import string
from dataclasses import dataclass
from pathlib import Path

from psychopy import visual

from experiment.core.config import Config
from experiment.core.glyphs import describe_characters, missing_characters
from experiment.core.screens import ScreenText

#: What the text screens (instructions, experimenter screens) and the fixation cross need.
SCREEN_TEXT = string.ascii_letters + string.digits + "+.,:;!?()%'\"-=/"


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


MARGIN = 0.04        # height units kept free at every edge of the window
GAP = 0.035          # height units between stacked texts
SMALL = 0.38         # experimenter text height, relative to the word's
TITLE = 0.55         # title height, relative to the word's
SHRINK = 0.9         # factor per step when a text must shrink to fit
MIN_SCALE = 0.35     # never shrink a text below this share of its size


@dataclass(frozen=True)
class TextBox:
    """A drawn text's box in pixels from the window's centre, and its letter height (window units)."""
    text: str
    left: float
    bottom: float
    right: float
    top: float
    height: float


@dataclass(frozen=True)
class Placed:
    """A text stimulus and its centre's height on the screen (pixels from the centre)."""
    stim: visual.TextStim
    y_px: float


class Stimuli:
    """The stimuli of a session, created once: fixation cross, word, and the screen texts.

    Screen texts (:class:`experiment.core.screens.ScreenText`) are laid out once per screen in
    pixels: the title at the top, the footer at the bottom, the participant message, the
    experimenter body and the key mapping stacked in between; each wraps at the window's
    width less the margins, and a text that still does not fit shrinks (the participant
    message last, and never below the word's size unless nothing else fits). So no text is
    clipped at any window shape. Sizes come from ``display.text_height`` (the word) and
    ``display.message_height`` (participant messages), in the window's units.
    """

    def __init__(self, win: visual.Window, config: Config):
        d = config.display
        self.win = win
        self.rgb = config.stimuli.rgb
        self._fg, self._font = list(d.foreground), d.font
        self._px_per_unit = {"height": float(win.size[1]), "norm": float(win.size[1]) / 2.0,
                             "pix": 1.0}[d.units]
        self._px_per_unit_x = {"height": float(win.size[1]), "norm": float(win.size[0]) / 2.0,
                               "pix": 1.0}[d.units]
        self.word_height, self.message_height = d.text_height, d.message_height
        self.fixation = visual.TextStim(win, text="+", height=d.text_height, color=self._fg,
                                        colorSpace="rgb255", font=d.font, autoLog=False)
        self.word = visual.TextStim(win, text="", height=d.text_height, font=d.font, bold=True,
                                    colorSpace="rgb255", autoLog=False)
        self._texts: dict[str, visual.TextStim] = {}
        self._shown: ScreenText | None = None
        self._layout: list[Placed] = []

    def set_word(self, word: str, ink: str) -> None:
        self.word.text = word
        self.word.color = list(self.rgb[ink])

    def _stim(self, key: str) -> visual.TextStim:
        if key not in self._texts:
            self._texts[key] = visual.TextStim(self.win, text="", font=self._font, color=self._fg,
                                               colorSpace="rgb255", alignText="center",
                                               autoLog=False)
        return self._texts[key]

    def _fitted(self, key: str, text: str, height: float, max_h_px: float, bold: bool,
                rgb=None) -> visual.TextStim:
        """A text stimulus (``height`` in the window's units) wrapped at the window's width,
        shrunk until it fits ``max_h_px`` pixels high."""
        stim = self._stim(key)
        width_px = self.win.size[0] - 2 * MARGIN * self.win.size[1]
        stim.wrapWidth = width_px / self._px_per_unit_x
        stim.bold = bold
        stim.color = list(rgb) if rgb is not None else self._fg
        for _ in range(int(math.log(MIN_SCALE) / math.log(SHRINK)) + 1):
            stim.height = height
            stim.text = text
            stim.draw()  # lays the text out; the caller clears the buffer afterwards
            w, h = stim.boundingBox
            if w <= width_px and h <= max_h_px:
                break
            height *= SHRINK
        return stim

    def _lay_out(self, screen: ScreenText) -> list[Placed]:
        H = float(self.win.size[1])
        usable = H * (1 - 2 * MARGIN)
        title = footer = None
        if screen.title:
            title = self._fitted("title", screen.title, TITLE * self.word_height,
                                 0.14 * H, bold=True)
        if screen.footer:
            footer = self._fitted("footer", screen.footer, SMALL * self.word_height,
                                  0.16 * H, bold=False)
        edges = [s for s in (title, footer) if s is not None]
        middle_px = usable - sum(s.boundingBox[1] + GAP * H for s in edges)
        middle: list[visual.TextStim] = []
        # the experimenter's lines give way before the participant's message
        parts = [("message", screen.message, self.message_height, True, None, 0.6),
                 ("body", screen.body, SMALL * self.word_height * 1.15, False, None, 0.45)]
        parts += [(f"map{i}", line.text, SMALL * self.word_height * 1.4, True, line.rgb,
                   0.5 / max(1, len(screen.mapping))) for i, line in enumerate(screen.mapping)]
        for key, text, height, bold, rgb, share in parts:
            if text:
                middle.append(self._fitted(key, text, height, middle_px * share, bold, rgb))
        placed = []
        top = H / 2 - MARGIN * H
        if title is not None:
            placed.append(Placed(title, top - title.boundingBox[1] / 2))
        if footer is not None:
            placed.append(Placed(footer, -top + footer.boundingBox[1] / 2))
        stack = sum(s.boundingBox[1] for s in middle) + GAP * H * max(0, len(middle) - 1)
        y = stack / 2 + (self._centre_px(title, footer, H))
        for stim in middle:
            h = stim.boundingBox[1]
            placed.append(Placed(stim, y - h / 2))
            y -= h + GAP * H
        for p in placed:
            p.stim.pos = (0, p.y_px / self._px_per_unit)
        self.win.clearBuffer()
        return placed

    @staticmethod
    def _centre_px(title, footer, H: float) -> float:
        """The middle of the space the title and footer leave free (pixels from the centre)."""
        top = H / 2 - MARGIN * H - (title.boundingBox[1] + GAP * H if title is not None else 0)
        bottom = -H / 2 + MARGIN * H + (footer.boundingBox[1] + GAP * H if footer is not None else 0)
        return (top + bottom) / 2

    def draw_screen(self, screen: ScreenText) -> None:
        """Draw ``screen`` (laid out again only when its texts change)."""
        if screen != self._shown:
            self._layout = self._lay_out(screen)
            self._shown = screen
        for p in self._layout:
            p.stim.draw()

    def text_boxes(self) -> list[TextBox]:
        """The drawn texts of the current screen and where they lie (for the layout test)."""
        boxes = []
        for p in self._layout:
            w, h = p.stim.boundingBox
            boxes.append(TextBox(p.stim.text, -w / 2, p.y_px - h / 2, w / 2, p.y_px + h / 2,
                                 float(p.stim.height)))
        return boxes


FRAME_TOLERANCE_S = 0.001


def next_flip_before(win: visual.Window, t_end_s: float) -> bool:
    """True while the next refresh still comes before ``t_end_s`` (PsychoPy clock, seconds).

    Loops that keep a screen up while this holds end so that the following flip lands on
    the refresh at ``t_end_s`` instead of one frame after it (as PsychoPy Builder does).
    """
    return win.getFutureFlipTime(clock=None) < t_end_s - FRAME_TOLERANCE_S
