from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from taxospec.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke the taxospec CLI in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str | Path) -> Result:
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert "Traceback" not in result.output
        assert "Traceback" not in result.stderr
        return result

    return invoke


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write spec text to a file in a temporary folder and return its path."""
    counter = iter(range(1_000_000))

    def write(text: str) -> Path:
        path = tmp_path / f"spec-{next(counter)}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
