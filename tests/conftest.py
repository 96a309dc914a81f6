"""Shared pytest set-up: every test (and every process it starts) keeps LSL on this machine."""
from __future__ import annotations

from pathlib import Path

import pytest

LSL_LOCAL_CONFIG = Path(__file__).resolve().parent / "lsl_local.cfg"


@pytest.fixture(autouse=True, scope="session")
def lsl_on_this_machine():
    """liblsl reads LSLAPICFG once, when it loads: set for the whole test session (so also for
    module- and session-scoped fixtures that start sessions): resolution on this machine
    only, IPv4 loopback, no IPv6."""
    assert LSL_LOCAL_CONFIG.is_file(), LSL_LOCAL_CONFIG
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LSLAPICFG", str(LSL_LOCAL_CONFIG))
        yield
