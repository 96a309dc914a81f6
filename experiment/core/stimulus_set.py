"""The colour and word definitions in ``stimuli/`` (plain TOML data files). No PsychoPy import."""
from __future__ import annotations

import tomllib
from importlib import resources
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

STIMULI_DIR = Path(str(resources.files("stimuli")))  # the stimuli/ folder, also when installed


@dataclass(frozen=True)
class StimulusSet:
    """Colours (name -> RGB 0-255) and the words of one language."""
    language: str
    colours: tuple[str, ...]
    rgb: Mapping[str, tuple[int, int, int]]
    colour_words: Mapping[str, str]  # colour name -> displayed word
    neutral_words: tuple[str, ...]
    font: str = ""  # a font that covers the words (words.toml's ``font``; '' = any Latin font)

    @property
    def words(self) -> tuple[str, ...]:
        """Every word a trial of this language can show: colour words, then neutral words."""
        return tuple(self.colour_words.values()) + self.neutral_words


def load_stimulus_set(language: str, colours: tuple[str, ...],
                      stimuli_dir: Path = STIMULI_DIR) -> StimulusSet:
    """The stimulus set for ``language`` restricted to ``colours``; ValueError names what is missing."""
    tables = []
    for name in ("colours.toml", "words.toml"):
        try:
            with open(stimuli_dir / name, "rb") as fh:
                tables.append(tomllib.load(fh))
        except OSError as exc:
            raise ValueError(f"experiment.stimuli_dir = {str(stimuli_dir)!r}: cannot read "
                             f"{name} there ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{stimuli_dir / name}: not valid TOML ({exc})") from None
    colour_table, word_table = tables
    if language not in word_table:
        raise ValueError(f"experiment.language = {language!r}: allowed: "
                         f"{', '.join(sorted(word_table))} (stimuli/words.toml)")
    unknown = [c for c in colours if c not in colour_table]
    if unknown:
        raise ValueError(f"design.colours = {list(colours)!r}: {unknown[0]!r} is not defined; "
                         f"allowed: {', '.join(colour_table)} (stimuli/colours.toml)")
    if len(colours) < 4 or len(set(colours)) != len(colours):
        raise ValueError(f"design.colours = {list(colours)!r}: must list at least four "
                         "different colours (with three the sequence constraints cannot hold)")
    words = word_table[language]
    missing = [c for c in colours if c not in words.get("colours", {})]
    if missing:
        raise ValueError(f"experiment.language = {language!r}: stimuli/words.toml gives no "
                         f"word for colour {missing[0]!r}")
    neutral = tuple(words.get("neutral", ()))
    return StimulusSet(
        language=language,
        colours=tuple(colours),
        rgb={c: tuple(colour_table[c]["rgb"]) for c in colours},
        colour_words={c: words["colours"][c] for c in colours},
        neutral_words=neutral,
        font=str(words.get("font", "")),
    )
