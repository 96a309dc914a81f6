"""analysis/input/codebook.py restates the codebook columns; they must match experiment/core/records.py."""
from __future__ import annotations

from analysis.input.codebook import BLOCK_COLUMN_NAMES, TRIAL_COLUMN_NAMES
from experiment.core.records import BLOCK_COLUMNS, TRIAL_COLUMNS


def test_trial_columns_match_the_records():
    assert TRIAL_COLUMN_NAMES == TRIAL_COLUMNS


def test_block_columns_match_the_records():
    assert BLOCK_COLUMN_NAMES == BLOCK_COLUMNS
