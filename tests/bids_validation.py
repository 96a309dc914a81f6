"""The real BIDS validator (``bids-validator-deno`` from PyPI, installed by ``make setup``) run on
a folder, and the errors among its findings."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VALIDATOR = Path(sys.executable).with_name("bids-validator-deno")


def validate(root: Path) -> list[dict]:
    """The validator's issues for the dataset at ``root`` (every TSV row checked)."""
    assert VALIDATOR.exists(), "bids-validator-deno missing: run make setup"
    res = subprocess.run([str(VALIDATOR), "--format", "json", "--max-rows", "-1", str(root)],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(res.stdout)
    return report["issues"]["issues"]


def errors_of(issues: list[dict]) -> list[str]:
    return [f"{i['code']} {i.get('subCode') or ''} {i.get('location', '')}" for i in issues
            if i["severity"] == "error"]
