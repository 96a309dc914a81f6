"""The loader reads codebook files and rejects malformed or foreign ones, naming file and row."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from analysis.input.codebook import TRIAL_COLUMN_NAMES
from analysis.input.loader import DataError, load_trials
from analysis_data import write_dataset


@pytest.fixture()
def dataset(tmp_path) -> tuple[Path, list[Path]]:
    root = tmp_path / "data"
    paths = write_dataset(root, n_participants=3, trials_per_block=8, blocks_per_condition=1,
                          practice_trials=4, seed=3)
    return root, paths


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set data row ``row`` (1-based) of ``column``."""
    rows = _rows(path)
    rows[row][rows[0].index(column)] = value
    _write_rows(path, rows)


def test_reads_every_session_recursively_with_types_and_speed(dataset):
    root, paths = dataset
    loaded = load_trials(root)
    t = loaded.trials
    assert len(t) == 3 * (4 + 3 * 8)
    assert list(t.columns[: len(TRIAL_COLUMN_NAMES)]) == list(TRIAL_COLUMN_NAMES)
    assert t["rt_ms"].dtype == np.float64 and t["block"].dtype == np.int64
    assert t.loc[t["timeout"] == 1, "rt_ms"].isna().all()
    assert t.loc[t["timeout"] == 0, "rt_ms"].gt(0).all()
    # speed_actual_kmh merged from the blocks files, by block
    assert (t.loc[t["condition"] == "stand", "speed_actual_kmh"] == 0).all()
    assert (t.loc[t["condition"] != "stand", "speed_actual_kmh"] == 2).all()
    kinds = sorted(f.kind for f in loaded.files)
    assert kinds == ["blocks"] * 3 + ["trials"] * 3
    f0 = next(f for f in loaded.files if f.path.endswith(paths[0].name))
    assert f0.sha256 == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    assert f0.path == paths[0].relative_to(root).as_posix()
    assert loaded.skipped == [] and loaded.simulated_participants == loaded.participants


def test_without_blocks_file_speed_is_missing(tmp_path):
    write_dataset(tmp_path / "d", n_participants=1, trials_per_block=4,
                  blocks_per_condition=1, with_blocks=False)
    t = load_trials(tmp_path / "d").trials
    assert t["speed_actual_kmh"].isna().all()


@pytest.mark.parametrize("column, value, expected", [
    ("rt_ms", "fast", r"row 5: rt_ms = 'fast' is not a number"),
    ("condition", "jogging", r"row 5: condition = 'jogging' is not one of stand, forward"),
    ("block", "0", r"row 5: block = '0' is below 1"),
    ("correct", "2", r"row 5: correct = '2' is above 1"),
    ("session", "1.5", r"row 5: session = '1.5' is not an integer"),
    ("participant", "", r"row 5: participant = '' is empty"),
])
def test_bad_cell_names_file_row_and_column(dataset, column, value, expected):
    root, paths = dataset
    _set_cell(paths[1], 5, column, value)
    with pytest.raises(DataError, match=expected) as e:
        load_trials(root)
    assert str(paths[1]) in str(e.value) and "\n" not in str(e.value)


def test_first_bad_row_is_reported(dataset):
    root, paths = dataset
    _set_cell(paths[0], 9, "ink", "purple")
    _set_cell(paths[0], 7, "rt_ms", "-3")
    with pytest.raises(DataError, match=r"row 7: rt_ms = '-3'"):
        load_trials(root)


def test_timeout_with_rt_is_inconsistent(dataset):
    root, paths = dataset
    rows = _rows(paths[2])
    h = rows[0]
    i = next(k for k in range(1, len(rows)) if rows[k][h.index("timeout")] == "0")
    rows[i][h.index("timeout")] = "1"
    rows[i][h.index("correct")] = "0"
    _write_rows(paths[2], rows)
    with pytest.raises(DataError, match=rf"row {i}: timeout = 1 but rt_ms is not empty"):
        load_trials(root)


def test_foreign_file_lacks_columns(dataset):
    root, _ = dataset
    (root / "other_trials.csv").write_text("ID;congruency;RT;accuracy\n1;neutral;700;1\n")
    with pytest.raises(DataError, match=r"other_trials\.csv: line 1 \(header\) lacks column"):
        load_trials(root)


def test_ragged_row_names_line(dataset):
    root, paths = dataset
    with open(paths[0], "a", encoding="utf-8") as fh:
        fh.write("a,b,c\n")
    with pytest.raises(DataError, match=r"row 29 \(line 30\) has 3 fields, the header has 37"):
        load_trials(root)


def test_not_utf8_and_empty(dataset):
    root, paths = dataset
    paths[0].write_bytes(b"\xff\xfe" + paths[0].read_bytes()[:50])
    with pytest.raises(DataError, match="not UTF-8"):
        load_trials(root)
    paths[0].write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        load_trials(root)


def test_duplicate_copy_of_a_session_is_rejected(dataset):
    root, paths = dataset
    copy = root / "backup" / paths[0].name
    copy.parent.mkdir()
    copy.write_bytes(paths[0].read_bytes())
    with pytest.raises(DataError, match=r"repeats .*SIM001.*_trials\.csv; remove the duplicate"):
        load_trials(root)


def test_skip_bad_lists_each_skipped_file_and_keeps_the_rest(dataset):
    root, paths = dataset
    _set_cell(paths[1], 2, "congruency", "weird")
    (root / "notes_trials.csv").write_text("hello\n")
    loaded = load_trials(root, skip_bad=True)
    skipped = {s.path: s.reason for s in loaded.skipped}
    assert set(skipped) == {"notes_trials.csv", paths[1].relative_to(root).as_posix()}
    assert "row 2: congruency = 'weird'" in skipped[paths[1].relative_to(root).as_posix()]
    assert sorted(loaded.participants) == ["SIM001", "SIM003"]


def test_torn_last_line_is_left_out_with_a_note(dataset):
    root, paths = dataset
    raw = paths[0].read_bytes()
    paths[0].write_bytes(raw + b"SIM001,1,1,stroop-walk")   # a crash mid-row, no newline
    loaded = load_trials(root)
    assert any("incomplete last line" in n for n in loaded.notes)
    assert (loaded.trials["participant"] == "SIM001").sum() == 28


def test_no_trial_files(tmp_path):
    with pytest.raises(DataError, match=r"no \*_trials\.csv files"):
        load_trials(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        load_trials(tmp_path / "nope")


def test_simulated_sessions_are_recognised_by_their_rows_not_by_folder_names(tmp_path):
    """Real participants in folders called demo/ and example/ are analysed; simulated sessions
    (simulated = 1) beside real ones are left out with a note, or included on request; a
    folder of simulated sessions only is analysed."""
    import shutil
    root = tmp_path / "data"
    real = write_dataset(tmp_path / "real", n_participants=2, trials_per_block=12,
                         simulated=0, prefix="P", seed=3)
    for path, folder in zip(real, ("demo", "example")):
        shutil.move(str(path.parent), str(root / folder))
    write_dataset(root / "sims", n_participants=2, trials_per_block=12, simulated=1,
                  prefix="SIM", seed=4)
    loaded = load_trials(root)
    assert loaded.participants == ["P001", "P002"]
    assert any("left out 2 simulated session(s)" in n and "--include-simulated" in n
               for n in loaded.notes)
    assert load_trials(root, include_simulated=True).participants == [
        "P001", "P002", "SIM001", "SIM002"]
    assert load_trials(root / "sims").participants == ["SIM001", "SIM002"]