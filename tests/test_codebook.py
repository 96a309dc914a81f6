"""data/README.md (the codebook) documents exactly the columns experiment/records.py writes."""
from __future__ import annotations

import re
from pathlib import Path

from experiment.records import BLOCK_COLUMNS, TRIAL_COLUMNS

CODEBOOK = Path(__file__).resolve().parents[1] / "data" / "README.md"


def _table_columns(heading: str) -> list[str]:
    text = CODEBOOK.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [re.sub(r"\s+", "", row.split("|")[1]) for row in rows[1:]]  # skip the header row


def test_trial_columns_documented_in_order():
    assert tuple(_table_columns("## `_trials.csv`")) == TRIAL_COLUMNS


def test_block_columns_documented_in_order():
    assert tuple(_table_columns("## `_blocks.csv`")) == BLOCK_COLUMNS


def _subsection_columns(heading: str) -> list[str]:
    """First column of the first table under ``heading`` (up to the next heading)."""
    text = CODEBOOK.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [re.sub(r"\s+", "", row.split("|")[1]) for row in rows[1:]]


def test_recordings_index_documented_in_order():
    from experiment.voice_device import INDEX_COLUMNS
    assert tuple(_subsection_columns("### `recordings.csv`")) == INDEX_COLUMNS


def test_coder_file_documented_in_order_and_restated_by_the_analysis():
    from analysis.codebook import CODER_COLUMN_NAMES
    from experiment.voice_coding import CODER_COLUMNS
    assert tuple(_subsection_columns("### `coding_<coder>.csv`")) == CODER_COLUMNS
    assert CODER_COLUMN_NAMES == CODER_COLUMNS
