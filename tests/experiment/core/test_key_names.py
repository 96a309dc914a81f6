"""The key names the config accepts (:mod:`experiment.core.key_names`) are exactly the names
PsychoPy's keyboard reports on Windows, macOS and Linux (``psychopy.hardware.keyboard``)."""
from __future__ import annotations

import pytest

from experiment.core.key_names import KEY_NAMES, key_problem


def test_key_names_equal_the_union_of_psychopys_platform_tables():
    kb = pytest.importorskip("psychopy.hardware.keyboard")
    psychopy_names = set()
    for table in (kb.keyNamesWin, kb.keyNamesMac, kb.keyNamesLinux):
        psychopy_names |= {v for v in table.values() if isinstance(v, str)}
    assert set(KEY_NAMES) - psychopy_names == set(), "names PsychoPy never reports"
    assert psychopy_names - set(KEY_NAMES) == set(), "names PsychoPy reports that we reject"


def test_a_wrong_case_gets_a_hint():
    assert key_problem("space") is None
    assert "did you mean 'space'" in key_problem("SPACE")
    assert "did you mean" not in key_problem("notakey")
