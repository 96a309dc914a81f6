"""Word lists of every language, the font check at start-up, and what a real window draws.

The display tests render every word of every language in a real PsychoPy window (Xvfb) with
the font the language needs and read the pixels back: each word must be visible, and no
character may be drawn as the font's "notdef" glyph (the tofu box a missing glyph becomes).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from experiment.core.config import load_config
from experiment.core.glyphs import describe_characters, missing_characters
from experiment.core.stimulus_set import STIMULI_DIR, load_stimulus_set

REPO = Path(__file__).resolve().parents[3]
COLOURS = ("red", "green", "blue", "yellow")
with open(STIMULI_DIR / "words.toml", "rb") as _fh:
    LANGUAGES = tuple(tomllib.load(_fh))
CJK_REGULAR = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def require_display() -> None:
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("the rendering tests need an X display: run them with `make test`")
        pytest.skip("no X display: run under xvfb-run (make test does)")


# ---- word lists (pure) -------------------------------------------------------------------------
def test_at_least_eight_languages_with_neutral_words():
    assert len(LANGUAGES) >= 8
    assert {"en", "de", "nl", "fr", "es", "it", "zh", "ja"} <= set(LANGUAGES)
    for lang in LANGUAGES:
        stim = load_stimulus_set(lang, COLOURS)
        assert len(stim.neutral_words) >= 4, lang
        assert len(set(stim.words)) == len(stim.words), f"{lang}: a word appears twice"
        assert not set(stim.neutral_words) & set(stim.colour_words.values()), lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_loads_as_a_session_config(lang):
    stim = load_stimulus_set(lang, COLOURS)
    overlay = {"experiment": {"language": lang}}
    if stim.font:
        overlay["display"] = {"font": stim.font}
    config = load_config(overlay)
    assert config.stimuli.words == stim.words


def test_cjk_languages_name_a_font_that_covers_them():
    if not CJK_REGULAR.exists():
        pytest.skip("fonts-noto-cjk not installed (make setup installs it)")
    for lang in ("zh", "ja", "ko"):
        stim = load_stimulus_set(lang, COLOURS)
        assert stim.font.startswith("Noto Sans CJK"), lang
        assert missing_characters(CJK_REGULAR, stim.words) == [], lang


def test_missing_characters_finds_what_a_latin_font_lacks():
    if not DEJAVU.exists():
        pytest.skip("DejaVu Sans not installed")
    zh = load_stimulus_set("zh", COLOURS)
    missing = missing_characters(DEJAVU, zh.words + ("ROT",))
    assert missing == [c for w in zh.words for c in w]  # every Han character, no Latin one
    assert describe_characters(missing, limit=2) == "红 (U+7EA2), 绿 (U+7EFF) and 6 more"
    assert missing_characters(DEJAVU, ["GRÜN", "AMARILLO", "JAUNE"]) == []


def test_a_non_font_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "font.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(ValueError, match="not a readable font file"):
        missing_characters(bad, ["RED"])


# ---- start-up check (real session process) -----------------------------------------------------
@pytest.mark.display
def test_session_refuses_a_font_without_the_glyphs(tmp_path):
    require_display()
    overlay = tmp_path / "zh.toml"
    overlay.write_text('[experiment]\nlanguage = "zh"\n[display]\nfont = "DejaVu Sans"\n')
    data = tmp_path / "data"
    proc = subprocess.run([sys.executable, "-m", "experiment", "--preset", "demo", "--config",
                           str(overlay), "--simulate", "--participant", "Z01", "--windowed",
                           "--data-dir", str(data)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: display.font = 'DejaVu Sans'")
    assert "红 (U+7EA2)" in err[0] and "'Noto Sans CJK SC'" in err[0]
    assert not any(data.rglob("*")) if data.exists() else True


# ---- rendering (real window) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def window():
    require_display()
    from psychopy import visual
    win = visual.Window(size=(900, 260), units="pix", color=[0, 0, 0], colorSpace="rgb255",
                        checkTiming=False, allowGUI=False, winType="pyglet")
    yield win
    win.close()


def rendered(win, text: str, font: str, rgb=(255, 255, 255)) -> np.ndarray:
    """The back buffer (H x W x 3, uint8) after drawing ``text`` as the session draws a word."""
    from psychopy import visual
    stim = visual.TextStim(win, text=text, font=font, height=110, bold=True, color=list(rgb),
                           colorSpace="rgb255")
    stim.draw()
    frame = np.asarray(win.getMovieFrame(buffer="back"))
    win.movieFrames.clear()
    win.flip()
    return frame


def ink_mask(frame: np.ndarray) -> np.ndarray:
    return frame.max(axis=2) > 80


def same_shape(a: np.ndarray, b: np.ndarray) -> bool:
    """Two glyph masks are the same drawing (intersection over union above 0.9)."""
    union = np.logical_or(a, b).sum()
    return union > 0 and np.logical_and(a, b).sum() / union > 0.9


def notdef_mask(win, font: str) -> np.ndarray:
    """What the font draws for a character it has no glyph for (a private-use code point)."""
    return ink_mask(rendered(win, "\U000F0001", font))


def tofu_characters(win, word: str, font: str) -> list[str]:
    notdef = notdef_mask(win, font)
    return [ch for ch in dict.fromkeys(word) if same_shape(ink_mask(rendered(win, ch, font)), notdef)]


@pytest.mark.display
def test_the_tofu_detector_sees_tofu(window):
    """The negative control: Han characters in a Latin font are drawn as notdef boxes."""
    assert tofu_characters(window, "红绿", "DejaVu Sans") == ["红", "绿"]
    assert tofu_characters(window, "RED", "DejaVu Sans") == []


@pytest.mark.display
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_word_renders_visibly_without_tofu(window, lang):
    stim = load_stimulus_set(lang, COLOURS)
    font = stim.font or "Arial"
    if stim.font and not CJK_REGULAR.exists():
        pytest.skip("fonts-noto-cjk not installed (make setup installs it)")
    inks = [stim.rgb[c] for c in COLOURS]
    for i, word in enumerate(stim.words):
        frame = rendered(window, word, font, inks[i % len(inks)])
        mask = ink_mask(frame)
        ys, xs = np.nonzero(mask)
        assert mask.sum() > 400 * len(word), f"{lang} {word}: hardly any ink drawn"
        assert xs.max() - xs.min() > 40 * len(word), f"{lang} {word}: narrower than its letters"
        colour = frame[mask].mean(axis=0)
        assert np.abs(colour - inks[i % len(inks)]).max() < 60, f"{lang} {word}: wrong ink {colour}"
        assert tofu_characters(window, word, font) == [], f"{lang} {word}: drawn as tofu"
