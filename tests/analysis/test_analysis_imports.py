"""`analysis` imports without PsychoPy and without `experiment` (an analyst installs only
the analysis side): every module is imported in a fresh interpreter whose import system
refuses both."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

GUARD = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("psychopy", "experiment"):
                raise ImportError(f"analysis imported {name}")
            return None

    sys.meta_path.insert(0, Refuse())
    import analysis
    names = sorted(m.name for m in pkgutil.walk_packages(analysis.__path__, "analysis."))
    for name in names:
        importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("psychopy", "experiment"))
    assert not leaked, leaked
    print("\\n".join(names))
""")


def test_every_analysis_module_imports_without_psychopy_or_experiment():
    proc = subprocess.run([sys.executable, "-c", GUARD], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = set(proc.stdout.split())
    for module in ("analysis.statistics.models", "analysis.input.loader", "analysis.input.plan", "analysis.pipeline",
                   "analysis.output.report", "analysis.output.figures", "analysis.__main__"):
        assert module in imported


def test_the_guard_catches_an_import():
    """The guard is live: importing psychopy under it fails."""
    code = GUARD.replace("import analysis\n", "import psychopy\nimport analysis\n", 1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "analysis imported psychopy" in proc.stderr
