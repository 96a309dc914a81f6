"""The package boundaries hold (import-linter contracts in pyproject.toml):
the analysis never imports the experiment or PsychoPy, the pure core never imports PsychoPy,
devices never import the session, the layers of both packages hold (shell over devices/voice/
simulation over the pure core; output over statistics/cleaning over input), and no package has
an import cycle."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and "6 kept, 0 broken" in proc.stdout
