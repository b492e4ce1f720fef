"""Standard output closed, a pipe that closes early, and text no encoding can carry: a message and a
defined exit code each, never a traceback, never output lost in silence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import EXAMPLES, FIXTURES

TAXOSPEC = [sys.executable, "-m", "taxospec"]
SPEC = EXAMPLES / "football-signals" / "spec.yaml"
EXPORT = EXAMPLES / "football-signals" / "export.json"


def _shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)


def _cmd(*args: Any) -> str:
    return " ".join([*TAXOSPEC, *(str(a) for a in args)])


@pytest.mark.parametrize(
    "args",
    [
        ("schema",),
        ("describe", SPEC),
        ("config", SPEC, "--no-validate"),
        ("lint", FIXTURES / "specs" / "lint" / "quotas.yaml"),
        ("todo", SPEC, EXPORT),
        ("check", SPEC, EXPORT, "--no-embeddings"),
    ],
    ids=lambda a: a[0],
)
def test_a_closed_stdout_is_an_error_not_silence(args: tuple[Any, ...]) -> None:
    done = _shell(_cmd(*args) + " >&-")
    assert done.returncode == 2, done.stderr
    assert "standard output is closed" in done.stderr and "Traceback" not in done.stderr


def test_the_output_file_option_needs_no_stdout(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    done = _shell(_cmd("schema", "-o", out) + " >&-")
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 1000


def test_a_pipe_closed_early_is_exit_2_with_a_message() -> None:
    done = _shell(_cmd("describe", SPEC) + " | head -c 10 > /dev/null; exit ${PIPESTATUS[0]}")
    assert done.returncode == 2, done.stderr
    assert "the output was cut off" in done.stderr and "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_unwritable_text_is_shown_escaped_and_refused_by_config(tmp_path: Path) -> None:
    spec = FIXTURES / "specs" / "lint" / "unwritable-text.yaml"
    described = _shell(_cmd("describe", spec))
    assert described.returncode in (0, 1) and "Traceback" not in described.stderr, described.stderr
    assert "\\ud800" in described.stdout
    config = _shell(_cmd("config", spec, "-o", tmp_path / "c.xml"))
    assert config.returncode == 2 and f"{spec}:10:18: error[text-not-writable]" in config.stderr
    assert not (tmp_path / "c.xml").exists()
