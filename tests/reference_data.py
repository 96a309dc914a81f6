"""Where the real public reference data lives (``../shared/reference-data/`` beside the
repository, never copied into the project), and what a test does when it is missing."""
from __future__ import annotations

from pathlib import Path

import pytest

REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference-data" / "vonbastian2016"
CSV = REF_DIR / "LEF_stroop.csv"
SHA256 = "955af96fbdee88eece1e5359cc3f886f6d3d6964bd174fb0de6fff7b08ae4188"


def require_reference(csv: Path, ci: bool) -> None:
    """Fail (under CI) or skip when the reference file is missing."""
    if csv.is_file():
        return
    msg = (f"reference data missing: {csv}. Get LEF_stroop.csv from the public repository "
           f"PerceptionCognitionLab/data0 (inhibitionTasks/vonBastianJEPG2015/) and put it "
           f"in ../shared/reference-data/vonbastian2016/ next to the repository")
    if ci:
        pytest.fail(msg)
    pytest.skip(msg)
