from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from taxospec import lint_spec, load_spec
from taxospec.plugins.registry import spec_templates
from taxospec.spec.templates import SCHEMA_LINE_PREFIX

Run = Callable[..., Result]


@pytest.mark.parametrize("template", spec_templates().names())
def test_every_template_writes_a_spec_that_lints_clean(run_cli: Run, tmp_path: Path, template: str) -> None:
    target = tmp_path / f"{template}.yaml"
    result = run_cli("init", "--template", template, target)
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert text.startswith(f"{SCHEMA_LINE_PREFIX}taxospec.schema.json\n")
    assert "#" in text.split("\n", 2)[2], "starter specs are commented"
    assert lint_spec(load_spec(target)) == []
    assert run_cli("lint", target).exit_code == 0


def test_required_templates_exist() -> None:
    names = spec_templates().names()
    assert "image-detection" in names and "video-actions" in names


def test_init_never_overwrites_without_force(run_cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    target.write_text("mine\n")
    result = run_cli("init", target)
    assert result.exit_code == 2
    assert "already exists (use --force" in result.stderr
    assert target.read_text() == "mine\n"
    assert list(tmp_path.iterdir()) == [target], "no temporary file is left behind"
    assert run_cli("init", "--force", target).exit_code == 0
    assert target.read_text().startswith(SCHEMA_LINE_PREFIX)


def test_init_refuses_a_dangling_symlink(run_cli: Run, tmp_path: Path) -> None:
    link = tmp_path / "spec.yaml"
    link.symlink_to(tmp_path / "elsewhere.yaml")
    assert run_cli("init", link).exit_code == 2
    assert not (tmp_path / "elsewhere.yaml").exists()


def test_init_default_path_and_schema_ref(run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "--schema-ref", "https://example.org/s.json")
    assert result.exit_code == 0
    assert (tmp_path / "spec.yaml").read_text().startswith(f"{SCHEMA_LINE_PREFIX}https://example.org/s.json\n")


def test_init_unknown_template_suggests(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("init", "--template", "video-action", tmp_path / "s.yaml")
    assert result.exit_code == 2
    assert "unknown template 'video-action' (did you mean 'video-actions'?)" in result.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_init_into_missing_folder_or_directory(run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("init", tmp_path / "missing" / "s.yaml").exit_code == 2
    assert not (tmp_path / "missing").exists()
    assert run_cli("init", tmp_path).exit_code == 2


def test_init_list(run_cli: Run) -> None:
    result = run_cli("init", "--list")
    assert result.exit_code == 0
    assert "video-actions" in result.stdout and "image-detection" in result.stdout
