"""Does a font file have a glyph for every character of the session's words? No PsychoPy import.

A character the font lacks is drawn as its empty "notdef" glyph (a tofu box or nothing), so
a session in a language the configured font does not cover would show boxes instead of
words. :func:`missing_characters` reads the font's character map with fontTools.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Iterable

from fontTools.ttLib import TTCollection, TTFont, TTLibError


def font_cmap(font_file: Path) -> set[int]:
    """The code points the font maps to a glyph. A collection (.ttc) is read at face 0, the
    face pyglet (and so PsychoPy's TextStim) loads. ValueError if the file is no font."""
    try:
        if Path(font_file).suffix.lower() in (".ttc", ".otc"):
            with TTCollection(font_file, lazy=True) as collection:
                return set(collection.fonts[0].getBestCmap() or {})
        with TTFont(font_file, lazy=True) as font:
            return set(font.getBestCmap() or {})
    except (OSError, TTLibError, AssertionError) as exc:
        raise ValueError(f"{font_file}: not a readable font file ({exc})") from None


def missing_characters(font_file: Path, texts: Iterable[str]) -> list[str]:
    """Characters of ``texts`` (whitespace and format characters aside) that ``font_file``
    has no glyph for, in order of first appearance."""
    cmap = font_cmap(font_file)
    missing: list[str] = []
    for text in texts:
        for ch in text:
            if ch.isspace() or unicodedata.category(ch) == "Cf":
                continue
            if ord(ch) not in cmap and ch not in missing:
                missing.append(ch)
    return missing


def describe_characters(chars: Iterable[str], limit: int = 6) -> str:
    """'红 (U+7EA2), 绿 (U+7EFF)' for the first ``limit`` characters, '…' when there are more."""
    chars = list(chars)
    shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")
