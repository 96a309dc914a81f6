"""The type-I benchmark resumes: replications in its csv are kept and not fitted again."""
from __future__ import annotations

import pandas as pd
import pytest

from bench.type1_error import (COLUMNS, CONDITION_SDS_MS, NS, Task, pending_tasks, read_reps,
                               replications, summary, write)


def test_written_replications_are_not_fitted_again(tmp_path):
    done = [Task(CONDITION_SDS_MS[0], NS[0], 0), Task(CONDITION_SDS_MS[1], NS[0], 1)]
    rows = replications(done)
    assert all(r["error"] == "" and r["structure"] for r in rows)
    write(pd.DataFrame(rows, columns=COLUMNS), tmp_path, 2, False, "test", 1.0)
    back = read_reps(tmp_path / "type1_error_reps.csv")
    assert len(back) == 2 and list(back.columns) == COLUMNS
    assert (back["error"] == "").all()
    pd.testing.assert_series_equal(back["p"], pd.DataFrame(rows)["p"], check_names=False)
    todo = pending_tasks(back, 2)
    assert len(todo) == 2 * len(NS) * len(CONDITION_SDS_MS) - 2
    assert not set(done) & set(todo)
    # the first null model's tasks come first, N interleaved
    assert [t.condition_sd_ms for t in todo[:3]] == [CONDITION_SDS_MS[0]] * 3
    table = summary(back)
    assert table["replications"].sum() == 2
    assert "INTERRUPTED" in (tmp_path / "type1_error.md").read_text(encoding="utf-8")


def test_a_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "type1_error_reps.csv"
    path.write_text("participants,rep,p\n12,0,0.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks column"):
        read_reps(path)
