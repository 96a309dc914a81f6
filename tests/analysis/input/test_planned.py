"""Trial rows against their session's plan file (analysis/input/planned.py): a row that
is not the trial the session planned is refused in one line naming file, row and column."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from analysis.input.loader import DataError, load_trials

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "example" / "simulated-24" / "SIM03"


@pytest.fixture
def session(tmp_path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "SIM03")
    return next((tmp_path / "SIM03").glob("*_trials.csv"))


def edit(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (``row`` 1-based) of a CSV file, written as the experiment writes it."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[row][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_the_example_sessions_are_their_plans(session):
    assert len(load_trials(session.parent.parent, progress=False).trials) == 156


@pytest.mark.parametrize("column,value", [("word", "XXXX"), ("ink", "__other__"),
                                          ("iti_s", "0.5"), ("condition", "__other__")])
def test_a_row_that_is_not_the_planned_trial_is_refused(session, column, value):
    rows = list(csv.DictReader(io.StringIO(session.read_text(encoding="utf-8"))))
    if value == "__other__":   # another valid value of the session, so only the plan can tell
        value = next(r[column] for r in rows if r[column] != rows[93][column])
    edit(session, 94, column, value)
    with pytest.raises(DataError, match=rf"row 94: column {column} = .* is not the planned "
                                        rf"trial's \(.*_plan\.csv\)"):
        load_trials(session.parent.parent, progress=False, accept_edited=True)


def test_a_trial_the_plan_does_not_hold_is_refused(session):
    plan = session.with_name(session.name.replace("_trials.csv", "_plan.csv"))
    lines = plan.read_text(encoding="utf-8").splitlines(keepends=True)
    plan.write_text("".join(lines[:-1]), encoding="utf-8")   # the last planned trial gone
    with pytest.raises(DataError, match=r"row 156: column trial_in_block = 24 is not a trial "
                                        r"of the session's plan"):
        load_trials(session.parent.parent, progress=False, accept_edited=True)


def test_an_unreadable_plan_is_refused(session):
    plan = session.with_name(session.name.replace("_trials.csv", "_plan.csv"))
    plan.write_text("is_practice,block\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a readable plan file"):
        load_trials(session.parent.parent, progress=False, accept_edited=True)
