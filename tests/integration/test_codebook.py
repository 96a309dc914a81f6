"""data/README.md (the codebook) documents exactly the columns experiment/core/records.py writes."""
from __future__ import annotations

from analysis.input.codebook import documented_columns
from experiment.core.records import BLOCK_COLUMNS, TRIAL_COLUMNS


def _table_columns(heading: str) -> tuple[str, ...]:
    return tuple(c.name for c in documented_columns(heading))


def test_trial_columns_documented_in_order():
    assert _table_columns("## `_trials.csv`") == TRIAL_COLUMNS


def test_block_columns_documented_in_order():
    assert _table_columns("## `_blocks.csv`") == BLOCK_COLUMNS


def test_recordings_index_documented_in_order():
    from experiment.voice.device import INDEX_COLUMNS
    assert _table_columns("### `recordings.csv`") == INDEX_COLUMNS


def test_coder_file_documented_in_order_and_restated_by_the_analysis():
    from analysis.input.codebook import CODER_COLUMN_NAMES
    from experiment.voice.coding import CODER_COLUMNS
    assert _table_columns("### `coding_<coder>.csv`") == CODER_COLUMNS
    assert CODER_COLUMN_NAMES == CODER_COLUMNS


def test_plan_columns_documented_in_order_and_restated_by_the_analysis():
    from analysis.input.codebook import PLAN_COLUMN_NAMES
    from experiment.core.design import PLAN_COLUMNS
    assert _table_columns("## `_plan.csv`") == PLAN_COLUMNS == PLAN_COLUMN_NAMES


def test_frame_intervals_documented_in_order():
    from experiment.core.frame_qa import FRAME_COLUMNS
    assert _table_columns("## `_frames.csv`") == FRAME_COLUMNS


def test_developers_guide_says_where_every_trial_column_is_written_and_read():
    import re
    from pathlib import Path
    guide = (Path(__file__).resolve().parents[2] / "docs" / "DEVELOPING.md").read_text()
    section = guide.split("## Where each trial-file column is written and read", 1)[1].split("\n## ", 1)[0]
    named = [c for row in section.splitlines() if row.startswith("| `")
             for c in re.findall(r"`([a-z_]+)`", row.split("|")[1])]
    assert sorted(named) == sorted(TRIAL_COLUMNS), (set(TRIAL_COLUMNS) ^ set(named))
    for row in section.splitlines():
        if row.startswith("| `"):
            for path in re.findall(r"`((?:experiment|analysis)/[\w/]+\.py)`", row):
                assert (Path(__file__).resolve().parents[2] / path).is_file(), path
