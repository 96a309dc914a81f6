"""What one analysis run produced, in report order: the pipeline fills it, the report reads it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analysis.cleaning.selection import Prepared
from analysis.output.figures import FigureFile
from analysis.input.loader import LoadedData
from analysis.statistics.models import ConditionFit
from analysis.input.plan import Plan
from analysis.output.tables import Table


@dataclass
class Results:
    """Everything :func:`run` produced, in report order."""
    plan: Plan
    loaded: LoadedData
    prepared: Prepared
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureFile] = field(default_factory=list)
    sentences: dict[str, str] = field(default_factory=dict)   # section -> extra text
    primary: ConditionFit | None = None
    untrimmed: ConditionFit | None = None
    out_dir: Path | None = None

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)
