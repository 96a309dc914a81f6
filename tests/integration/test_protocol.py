"""docs/PROTOCOL.md: every command in it runs as written.

The commands are taken from the page's ``sh`` blocks and the config files from its ``toml``
blocks (whose first line names the file), and run in order in a scratch folder that links
the repository's code and venv, so that relative paths work as they do for a student in the
repository folder. A command that starts a real session (it needs a participant in front of
the screen) is run with ``--check-config`` added, as the page says.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = REPO / "docs" / "PROTOCOL.md"
LINKED = (".venv", "experiment", "analysis", "stimuli")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PROTOCOL.read_text(encoding="utf-8"), re.S)


def commands() -> list[str]:
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.strip() and line not in out:
                out.append(line.strip())
    return out


def config_files() -> dict[str, str]:
    files = {}
    for block in blocks("toml"):
        first = block.splitlines()[0]
        assert re.fullmatch(r"# [\w.-]+\.toml", first), f"toml block must start '# NAME.toml': {first}"
        files[first[2:]] = block
    return files


def starts_a_real_session(argv: list[str]) -> bool:
    return (argv[1:3] == ["-m", "experiment"] and "--participant" in argv
            and not {"--simulate", "--check-config", "--export-conditions"} & set(argv))


def test_the_page_has_the_commands_a_student_needs():
    cmds = commands()
    assert all(c.startswith(".venv/bin/python -m ") for c in cmds), cmds
    text = " ".join(cmds)
    for needed in ("--check-config", "--simulate", "--preset koch2009 --preset voice",
                   "-m analysis ", "-m analysis.bids"):
        assert needed in text, needed
    named = set(re.findall(r"--config (\S+)", text))
    assert named <= set(config_files()), named - set(config_files())


@pytest.mark.display
@pytest.mark.slow
def test_every_command_of_the_protocol_runs(tmp_path):
    if not os.environ.get("DISPLAY"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("the protocol test needs an X display: run it with `make test`")
        pytest.skip("no X display: run under xvfb-run (make test does)")
    for name in LINKED:
        (tmp_path / name).symlink_to(REPO / name)
    for name, text in config_files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for cmd in commands():
        argv = shlex.split(cmd)
        if starts_a_real_session(argv):
            argv.append("--check-config")
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        if "--check-config" in argv:
            assert proc.stdout.startswith("config OK"), proc.stdout
    sessions = list((tmp_path / "data" / "rehearsal").rglob("*_session.json"))
    assert len(sessions) == 1 and '"status": "complete"' in sessions[0].read_text()
    assert (tmp_path / "results" / "rehearsal" / "report.md").is_file()
    from bids_validation import errors_of, validate
    assert errors_of(validate(tmp_path / "bids" / "rehearsal")) == []
