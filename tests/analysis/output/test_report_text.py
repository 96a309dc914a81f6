"""Sentences of the report that depend on counts read correctly for any count."""
from __future__ import annotations

import pandas as pd

from analysis.output.report import simulated_banner


def _trials(simulated: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame([{"participant": p, "simulated": s} for p, s in simulated.items()
                         for _ in range(3)])


def test_simulated_banner_for_one_many_and_mixed_participants():
    assert simulated_banner(_trials({"P1": 0, "P2": 0})) == ""
    one = simulated_banner(_trials({"DEMO1": 1}))
    assert "the one participant was simulated" in one and "1 participants" not in one
    assert "all 3 participants were simulated" in simulated_banner(_trials({"a": 1, "b": 1, "c": 1}))
    assert "1 of 2 participants are simulated" in simulated_banner(_trials({"a": 1, "b": 0}))
