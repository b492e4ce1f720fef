"""The README documents every command, every lint rule and every spec key."""

from __future__ import annotations

import re

import click
from pydantic import BaseModel

from taxospec.cli import cli
from taxospec.plugins.registry import lint_rules
from taxospec.spec import model as spec_model
from taxospec.spec.model import Spec

from ..conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block


def test_every_command_is_documented() -> None:
    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert names
    missing = [name for name in names if f"### `taxospec {name}`" not in README]
    assert missing == []


def test_every_lint_rule_is_documented() -> None:
    missing = [name for name in lint_rules().names() if f"| `{name}` |" not in README]
    assert missing == []


def _keys(model: type[BaseModel]) -> set[str]:
    keys = set(model.model_fields)
    for field in model.model_fields.values():
        for sub in re.findall(r"taxospec\.spec\.model\.(\w+)", repr(field.annotation)):
            candidate = getattr(spec_model, sub, None)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys |= _keys(candidate)
    return keys


def test_every_spec_key_is_documented() -> None:
    missing = sorted(key for key in _keys(Spec) if not re.search(rf"[`.]{key}[`.]", README))
    assert missing == []


def test_changelog_keeps_an_unreleased_section() -> None:
    assert CHANGELOG.startswith("# Changelog")
    assert "## [Unreleased]" in CHANGELOG


def test_every_check_is_documented() -> None:
    from taxospec.plugins.registry import checks

    missing = [item.name for item in checks() if f"| `{item.name}` |" not in README]
    assert missing == []


def test_every_check_parameter_is_documented() -> None:
    from taxospec.spec.model import LabelIssueParams, OutlierParams

    missing = [
        key for model in (LabelIssueParams, OutlierParams) for key in model.model_fields if f"`{key}`" not in README
    ]
    assert missing == []
