"""The built wheel works outside the checkout: stimuli, presets, plans and the codebook are package data.

The wheel is built from this checkout and installed (without dependencies) into a fresh venv
in a temporary folder; the dependencies come from the test's own environment through
PYTHONPATH (its site-packages, whose editable-install hook is then not active). Every command
runs from the temporary folder, so nothing can be found through the source tree.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a copy of the tracked files: the build writes nothing into the checkout
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp / "dist"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp / "dist").glob("stroop_walk-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    work = tmp / "work"
    work.mkdir()

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=timeout)
    return wheel, run, work


def test_the_wheel_carries_the_data_files(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("stimuli/colours.toml", "stimuli/words.toml", "experiment/default.toml",
                 "experiment/presets/demo.toml", "analysis/plan.toml", "analysis/codebook.md"):
        assert name in names, name
    codebook = zipfile.ZipFile(wheel).read("analysis/codebook.md").decode()
    assert codebook == (REPO / "data" / "README.md").read_text()  # the codebook itself, not a link


def test_installed_packages_are_not_the_checkout(installed):
    _, run, _ = installed
    proc = run("-c", "import experiment, analysis, stimuli; print(experiment.__file__, "
                     "analysis.__file__, stimuli.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert str(REPO) not in proc.stdout and "site-packages" in proc.stdout


def test_check_config_and_presets_outside_the_checkout(installed):
    _, run, _ = installed
    proc = run("-m", "experiment", "--check-config")
    assert proc.returncode == 0 and proc.stdout.startswith("config OK"), proc.stderr
    proc = run("-m", "experiment", "--preset", "koch2009", "--check-config")
    assert proc.returncode == 0, proc.stderr


def test_analysis_of_the_example_data_outside_the_checkout(installed):
    _, run, work = installed
    proc = run("-m", "analysis", "--data", str(REPO / "data" / "example"), "--out",
               str(work / "results"), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "results" / "report.md").is_file()


@pytest.mark.display
def test_a_short_simulated_session_outside_the_checkout(installed):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display: run under xvfb-run (make test does)")
    _, run, work = installed
    proc = run("-m", "experiment", "--config", str(REPO / "tests" / "e2e.toml"), "--simulate",
               "--participant", "W001", "--data-dir", str(work / "data"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert next((work / "data" / "W001").glob("*_trials.csv")).stat().st_size > 0
