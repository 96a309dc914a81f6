"""What a session's trial file may hold, read from the config the session ran with.

Every session saves its merged config as ``<stem>_config.toml`` beside ``<stem>_trials.csv``
(``data/README.md``). Its ``design.conditions`` and ``practice.condition`` are the
conditions, ``design.colours`` the inks (and the colours words may name), the proportions
of congruent and neutral trials say which congruency levels occur, ``experiment.language``
the language of the words. A lab that adds a colour to ``stimuli/colours.toml`` or names its
own conditions therefore needs no change here. Files are only read.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CONFIG_SUFFIX = "_config.toml"


class VocabularyError(ValueError):
    """A saved config that cannot be read; the message is one line."""


@dataclass(frozen=True)
class Vocabulary:
    """The values one session's trials may take; an empty tuple: not given by the config."""
    conditions: tuple[str, ...]
    inks: tuple[str, ...]
    congruency: tuple[str, ...]
    language: str
    config: str                 # the config file, for messages


def config_path(trials_path: Path, trials_suffix: str) -> Path:
    """``<folder>/<stem>_config.toml`` for ``<folder>/<stem><trials_suffix>``."""
    p = Path(trials_path)
    return p.with_name(p.name[: -len(trials_suffix)] + CONFIG_SUFFIX)


def _strings(v) -> tuple[str, ...]:
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


def session_vocabulary(path: Path) -> Vocabulary | None:
    """The vocabulary of the session whose saved config is ``path`` (None if there is none)."""
    if not path.is_file():
        return None
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise VocabularyError(f"{path}: the session's saved config cannot be read "
                              f"({str(e).splitlines()[0]}); restore it from the session "
                              f"sidecar (_session.json, key config)") from None
    design = d.get("design", {}) if isinstance(d.get("design"), dict) else {}
    practice = d.get("practice", {}) if isinstance(d.get("practice"), dict) else {}
    experiment = d.get("experiment", {}) if isinstance(d.get("experiment"), dict) else {}
    conditions = _strings(design.get("conditions"))
    if conditions and isinstance(practice.get("condition"), str) and \
            practice["condition"] not in conditions:
        conditions += (practice["condition"],)
    congruency: tuple[str, ...] = ()
    pc, pn = design.get("proportion_congruent"), design.get("proportion_neutral")
    if isinstance(pc, (int, float)) and isinstance(pn, (int, float)):
        congruency = ("incongruent",) + (("congruent",) if pc > 0 else ()) + \
            (("neutral",) if pn > 0 else ())
    language = experiment.get("language", "")
    return Vocabulary(conditions=conditions, inks=_strings(design.get("colours")),
                      congruency=congruency,
                      language=language if isinstance(language, str) else "",
                      config=str(path))


#: trial column → (the vocabulary's field, the config key that defines it, empty cell ok)
CHECKED = (("condition", "conditions", "design.conditions", False),
           ("ink", "inks", "design.colours", False),
           ("word_colour", "inks", "design.colours", True),
           ("congruency", "congruency", "design.proportion_congruent/_neutral", False),
           ("prev_congruency", "congruency", "design.proportion_congruent/_neutral", True))


def vocabulary_problems(t: pd.DataFrame, vocab: dict[int, Vocabulary],
                        wheres: list[str]) -> dict[int, str]:
    """Per file index (``t['_file']``), the first row whose condition, ink, word colour or
    congruency is not in its session's config: one line naming file, row, column, value,
    what the config allows and which key says so."""
    out: dict[int, tuple[int, str]] = {}
    for f, v in vocab.items():
        rows = t[t["_file"] == f]
        for col, attr, key, empty_ok in CHECKED:
            allowed = getattr(v, attr)
            if not allowed or col not in rows.columns:
                continue
            cells = rows[col]
            bad = ~cells.isin(allowed) & ~(empty_ok & (cells == ""))
            if not bad.any():
                continue
            i = int(np.flatnonzero(bad.to_numpy())[0])
            r = int(rows["_row"].iat[i])
            if f not in out or r < out[f][0]:
                out[f] = (r, f"{wheres[f]}: row {r}: {col} = {cells.iat[i]!r} is not one of "
                             f"{', '.join(allowed)} ({key} in {Path(v.config).name}, the "
                             f"config the session ran with)")
    return {f: m for f, (_, m) in out.items()}
