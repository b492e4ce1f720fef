"""Every hook taxospec offers, in one place (the datasette pattern).

Built-in features register through these same hooks, so a third-party package that declares an entry
point in the `taxospec` group can add a lint rule, a spec template, a CLI command, and (as those features
land) an export reader, a media resolver, an embedder or a check, without forking taxospec.

Each hook returns a list of the things it contributes; the registry concatenates them in plugin order and
refuses two contributions under one name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from taxospec.checks.base import Check
    from taxospec.plugins.interfaces import CheckSource, EmbedderFactory, ExportReader, MediaResolver
    from taxospec.spec.lint import LintRule
    from taxospec.spec.templates import SpecTemplate

hookspec = pluggy.HookspecMarker("taxospec")
hookimpl = pluggy.HookimplMarker("taxospec")


@hookspec
def taxospec_lint_rules() -> list[LintRule]:
    """Spec lint rules: each has a code, a default severity and a function that yields problems."""
    raise NotImplementedError


@hookspec
def taxospec_spec_templates() -> list[SpecTemplate]:
    """Starter specs for `taxospec init --template NAME`."""
    raise NotImplementedError


@hookspec
def taxospec_register_commands(cli: click.Group) -> None:
    """Add click commands to the `taxospec` command group."""


@hookspec
def taxospec_export_readers() -> list[ExportReader]:
    """Readers of export formats (Label Studio JSON is the built-in one)."""
    raise NotImplementedError


@hookspec
def taxospec_media_resolvers() -> list[MediaResolver]:
    """Resolvers that turn a task's media URI into bytes under a safe root."""
    raise NotImplementedError


@hookspec
def taxospec_embedders() -> list[EmbedderFactory]:
    """Factories of embedders that turn images and frames into vectors (open_clip is the built-in one; the
    spec's `embedding.backend` chooses one by name)."""
    raise NotImplementedError


@hookspec
def taxospec_checks() -> list[Check[Any]]:
    """Dataset checks (rule checks and embedding checks), each named with its parameters."""
    raise NotImplementedError


@hookspec
def taxospec_check_sources() -> list[CheckSource]:
    """Places `taxospec check` reads from besides an export file, with their options (a live Label Studio
    project is the built-in one)."""
    raise NotImplementedError
