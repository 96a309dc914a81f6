"""JSON sidecar descriptions of the BIDS export's TSV columns, taken from the codebook.

Each column of a stroop-walk trial or block file is described with the codebook's own
words (``data/README.md``, read through :func:`analysis.input.codebook.documented_columns`), its
BIDS ``Units`` (derived from the codebook's unit cell) and, for columns with a closed set of
values (:mod:`analysis.input.codebook`), its ``Levels``. Nothing here touches files.
"""
from __future__ import annotations

from typing import Any

from analysis.input.codebook import TRIAL_COLUMNS, Column, DocumentedColumn, documented_columns

TRIALS_HEADING = "## `_trials.csv`"

# The codebook's unit cell starts with one of these words -> the BIDS unit symbol.
_UNITS = (("milliseconds", "ms"), ("microseconds", "us"), ("seconds", "s"), ("km/h", "km/h"),
          ("Hz", "Hz"), ("dB", "dB"))

#: What each value of a closed set means (BIDS ``Levels``); a value not listed is shown as is.
LEVEL_MEANINGS = {
    "condition": {"stand": "standing still", "forward": "walking forward",
                  "backward": "walking backward",
                  "left": "after stepping to the left (step-then-respond design)",
                  "right": "after stepping to the right (step-then-respond design)"},
    "congruency": {"congruent": "the word names its ink colour",
                   "incongruent": "the word names another colour than its ink",
                   "neutral": "a non-colour word"},
    "rt_source": {"keyboard": "psychtoolbox keyboard event time",
                  "button": "time pyglet dispatched the button press (at most one frame late)",
                  "voice-detected": "the voice key's offline speech onset in the recording",
                  "voice-corrected": "a coder's hand-corrected speech onset"},
    "response_device": {"keyboard": "keyboard", "buttons": "gamepad or handheld buttons",
                        "voice": "naming the ink colour aloud into a microphone"},
    "accuracy_code": {"auto": "response compared with correct_response",
                      "correct": "coded correct", "wrong": "coded wrong",
                      "unclear": "coded unclear", "uncoded": "not coded"},
}
_BINARY_LEVELS = {"0": "no", "1": "yes"}


def bids_unit(values: str) -> str | None:
    """The BIDS ``Units`` of a codebook unit cell ('milliseconds, empty if …' -> 'ms'), or None."""
    for word, unit in _UNITS:
        if values.startswith(word):
            return unit
    return None


def column_description(doc: DocumentedColumn, column: Column | None = None) -> dict[str, Any]:
    """The sidecar entry of one column: Description (the codebook's meaning, and its values
    cell when that is not just the unit), Units, Levels."""
    unit = bids_unit(doc.values)
    text = doc.meaning or doc.name
    if doc.values and unit is None:
        text = f"{text} ({doc.values})"
    entry: dict[str, Any] = {"Description": text}
    if unit:
        entry["Units"] = unit
    if column is not None and column.allowed:
        meanings = LEVEL_MEANINGS.get(column.name, {})
        entry["Levels"] = {v: meanings.get(v, v) for v in column.allowed}
    elif column is not None and column.kind == "int" and (column.minimum, column.maximum) == (0, 1):
        entry["Levels"] = dict(_BINARY_LEVELS)
    return entry


def trial_column_descriptions(extra: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Sidecar entries of every trial-file column (codebook order), then ``extra``'s."""
    return _descriptions(TRIALS_HEADING, TRIAL_COLUMNS, extra)


def _descriptions(heading: str, columns: tuple[Column, ...],
                  extra: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    by_name = {c.name: c for c in columns}
    out = {d.name: column_description(d, by_name.get(d.name)) for d in documented_columns(heading)}
    out.update(extra or {})
    return out
