from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import Result

from taxospec.cli import cli
from taxospec.schemas import SCHEMAS

from ..conftest import EXAMPLES, FIXTURES, ROOT

Run = Callable[..., Result]
BROKEN = sorted((FIXTURES / "specs" / "broken").glob("*.yaml"))


def test_lint_clean_examples_exit_0(run_cli: Run) -> None:
    result = run_cli("lint", *sorted(EXAMPLES.glob("*/spec.yaml")))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"{len(list(EXAMPLES.glob('*/spec.yaml')))} specs checked: clean." in result.stderr


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_lint_broken_spec_prints_location_and_exits_2(run_cli: Run, path: Path) -> None:
    first = path.read_text().splitlines()[0].removeprefix("# expect: ")
    line_col = first.split(":")[0] + ":" + first.split(":")[1]
    result = run_cli("lint", path)
    assert result.exit_code == 2
    assert f"{path}:{line_col}: error[spec-invalid]: " in result.stdout


def test_lint_errors_exit_1_and_warnings_respect_fail_on(run_cli: Run) -> None:
    errors = FIXTURES / "specs" / "lint" / "hard-negatives.yaml"
    assert run_cli("lint", errors).exit_code == 1
    warnings_only = FIXTURES / "specs" / "lint" / "media-and-splits.yaml"
    assert run_cli("lint", warnings_only).exit_code == 1
    spec = EXAMPLES / "football-signals" / "spec.yaml"
    assert run_cli("lint", "--fail-on", "info", spec).exit_code == 0


def test_lint_warning_threshold(run_cli: Run, write_spec: Callable[[str], Path]) -> None:
    path = write_spec("taxospec: 1\nname: x\nembedding: {enabled: false}\nclasses: {a: {}}\n")
    assert run_cli("lint", path).exit_code == 0
    result = run_cli("lint", "--fail-on", "warning", path)
    assert result.exit_code == 1
    assert "warning[positive-without-hard-negative]" in result.stdout


def test_lint_mixed_specs_report_all_and_exit_2(run_cli: Run) -> None:
    result = run_cli("lint", BROKEN[0], FIXTURES / "specs" / "lint" / "quotas.yaml")
    assert result.exit_code == 2
    assert "spec-invalid" in result.stdout and "quota-impossible" in result.stdout


def test_lint_json_output(run_cli: Run) -> None:
    result = run_cli("lint", "--format", "json", FIXTURES / "specs" / "lint" / "quotas.yaml")
    report = json.loads(result.stdout)
    assert {r["code"] for r in report} == {"quota-impossible", "quota-exceeds-minimum"}
    assert all({"path", "line", "column", "message", "severity"} <= set(r) for r in report)


def test_lint_list_rules(run_cli: Run) -> None:
    result = run_cli("lint", "--list-rules")
    assert result.exit_code == 0
    assert "unknown-hard-negative" in result.stdout and "quota-exceeds-minimum" in result.stdout


def test_lint_without_arguments_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("lint")
    assert result.exit_code == 2
    assert "give at least one spec file" in result.stderr


def test_lint_missing_file_and_directory(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("lint", tmp_path / "missing.yaml", tmp_path)
    assert result.exit_code == 2
    assert "no such file" in result.stdout and "is a directory" in result.stdout


def test_schema_to_stdout_and_file(run_cli: Run, tmp_path: Path) -> None:
    committed = (ROOT / "schemas" / "taxospec.schema.json").read_text()
    assert run_cli("schema").stdout == committed
    out = tmp_path / "s.json"
    assert run_cli("schema", "-o", out).exit_code == 0
    assert out.read_text() == committed


def test_schema_refuses_a_directory_and_a_missing_folder(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("schema", "-o", tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.stderr
    result = run_cli("schema", "-o", tmp_path / "no" / "such" / "s.json")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()
    result = run_cli("schema", "-o", "/proc/taxospec-schema.json")  # a folder no file can be created in
    assert result.exit_code == 2 and "/proc/taxospec-schema.json: cannot be written" in result.stderr
    result = run_cli("check", "--list-checks", "--per-code", "-1")
    assert result.exit_code == 2 and "-1 is not in the range" in result.stderr


def test_describe_summarises_a_spec(run_cli: Run) -> None:
    result = run_cli("describe", EXAMPLES / "football-signals" / "spec.yaml")
    assert result.exit_code == 0
    for text in ("football-signals", "timeout", "clapping, waving", "lighting × bystanders", "lint: clean"):
        assert text in result.stdout


def test_describe_broken_spec_exits_2_with_location(run_cli: Run) -> None:
    path = FIXTURES / "specs" / "broken" / "06-bad-enum-value.yaml"
    result = run_cli("describe", path)
    assert result.exit_code == 2
    assert f"{path}:4:8: media:" in result.stderr


def test_unexpected_exception_is_reported_as_a_bug(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(SCHEMAS, "spec", explode)
    result = run_cli("schema")
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.stderr


def test_every_command_has_help_from_its_docstring() -> None:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, name
        assert command.callback is not None and command.callback.__doc__
        assert command.help.split("\n")[0] in command.callback.__doc__


def test_version(run_cli: Run) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and "taxospec, version" in result.stdout


def test_outputs_that_are_no_plain_file_are_written_into_not_replaced(run_cli: Run, tmp_path: Path) -> None:
    """`-o` a pipe or a link: the report goes into the pipe and through the link, which stay what they are
    (an atomic rename would put a file in their place: `-o /dev/stdout` run as root replaced the link
    /dev/stdout itself); a plain file is still replaced atomically."""
    import os
    import threading

    example = EXAMPLES / "football-signals"
    todo = ["todo", example / "spec.yaml", example / "export.json", "-o"]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    assert run_cli(*todo, pipe).exit_code == 0
    reader.join(timeout=30)
    assert received and received[0].startswith(b"# Collection to-do") and pipe.is_fifo()
    real, link = tmp_path / "real.md", tmp_path / "link.md"
    real.write_text("old")
    link.symlink_to(real)
    assert run_cli(*todo, link).exit_code == 0
    assert link.is_symlink() and real.read_text().startswith("# Collection to-do")
    from taxospec.output import _written_in_place  # checked, not tried: a regression would replace /dev/null

    assert _written_in_place(Path("/dev/stdout")) and _written_in_place(Path("/dev/null"))
    assert not _written_in_place(real) and not _written_in_place(tmp_path / "new.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.md", "pipe", "real.md"], "no temporary file left"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_an_error_not_a_bug(tmp_path: Path) -> None:
    """Standard output on a full disk (`> /dev/full`) or `-o /dev/full`: a plain message and exit 2."""
    import subprocess
    import sys

    example = EXAMPLES / "football-signals"
    command = [sys.executable, "-m", "taxospec", "todo", example / "spec.yaml", example / "export.json"]
    with open("/dev/full", "w") as full:
        to_stdout = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert to_stdout.returncode == 2, to_stdout.stderr
    assert to_stdout.stderr.strip() == "taxospec: error: No space left on device (writing the output)"
    to_file = subprocess.run([*command, "-o", "/dev/full"], capture_output=True, text=True, timeout=120)
    assert to_file.returncode == 2 and "No space left on device" in to_file.stderr, to_file.stderr
