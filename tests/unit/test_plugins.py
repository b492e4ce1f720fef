from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import Result

from taxospec import Severity, lint_spec, load_spec_text
from taxospec.errors import UnknownNameError
from taxospec.plugins import hookimpl
from taxospec.plugins.hookspecs import hookspec
from taxospec.plugins.manager import BUILTIN_PLUGINS, get_plugin_manager
from taxospec.plugins.registry import Catalog, lint_rules, spec_templates
from taxospec.spec.lint import LintRule
from taxospec.spec.templates import SpecTemplate


def _no_emoji_class_names(spec: object) -> Iterator[tuple[tuple[str, ...], str]]:
    for name in getattr(spec, "classes", {}):
        if not name.isascii():
            yield ("classes", name), f"class {name!r} is not ASCII"


@pytest.fixture
def third_party_plugin() -> Iterator[types.ModuleType]:
    module = types.ModuleType("acme_taxospec_plugin")

    @hookimpl
    def taxospec_lint_rules() -> list[LintRule]:
        return [LintRule("ascii-class-names", Severity.WARNING, "Class names are ASCII.", _no_emoji_class_names)]

    @hookimpl
    def taxospec_spec_templates() -> list[SpecTemplate]:
        return [SpecTemplate("acme", "the acme starter", "taxospec: 1\nname: acme\nclasses: {a: {}}\n")]

    @click.command()
    def hello() -> None:
        """Say hello from a plugin."""
        click.echo("hello from acme")

    @hookimpl
    def taxospec_register_commands(cli: click.Group) -> None:
        cli.add_command(hello)

    module.taxospec_lint_rules = taxospec_lint_rules  # type: ignore[attr-defined]
    module.taxospec_spec_templates = taxospec_spec_templates  # type: ignore[attr-defined]
    module.taxospec_register_commands = taxospec_register_commands  # type: ignore[attr-defined]
    pm = get_plugin_manager()
    pm.register(module, name="acme")
    lint_rules.cache_clear()
    spec_templates.cache_clear()
    yield module
    pm.unregister(name="acme")
    lint_rules.cache_clear()
    spec_templates.cache_clear()


def test_builtins_are_registered_as_plugins() -> None:
    pm = get_plugin_manager()
    assert [name for name in BUILTIN_PLUGINS if pm.get_plugin(name) is None] == []
    assert get_plugin_manager() is pm, "the plugin manager is built once"


def test_every_hook_is_specified() -> None:
    pm = get_plugin_manager()
    expected = {
        "taxospec_lint_rules",
        "taxospec_spec_templates",
        "taxospec_register_commands",
        "taxospec_export_readers",
        "taxospec_media_resolvers",
        "taxospec_embedders",
        "taxospec_checks",
    }
    assert expected <= {name for name in dir(pm.hook) if name.startswith("taxospec_")}
    assert hookspec.project_name == "taxospec"


def test_third_party_lint_rule_and_template(third_party_plugin: types.ModuleType) -> None:
    assert "ascii-class-names" in lint_rules()
    spec = load_spec_text("taxospec: 1\nname: x\nembedding: {enabled: false}\nclasses: {café: {}}\n")
    assert "ascii-class-names" in {f.code for f in lint_spec(spec)}
    assert spec_templates().get("acme").summary == "the acme starter"
    assert spec_templates().names()[0] == "image-detection", "built-ins come first"


def test_third_party_command(third_party_plugin: types.ModuleType, run_cli: Callable[..., Result]) -> None:
    from taxospec.cli import TaxospecGroup, cli

    assert isinstance(cli, TaxospecGroup)
    cli._loaded = False  # let the group ask the plugins again
    try:
        result = run_cli("hello")
        assert result.exit_code == 0 and result.stdout == "hello from acme\n"
    finally:
        cli.commands.pop("hello", None)


def test_catalog_rejects_duplicates_and_unknown_names() -> None:
    template = SpecTemplate("t", "s", "x")
    with pytest.raises(Exception, match="two plugins register a template named 't'"):
        Catalog("template", [template, template])
    catalog = Catalog("template", [template])
    with pytest.raises(UnknownNameError, match="unknown template 'u'"):
        catalog.get("u")


def test_importing_taxospec_does_no_heavy_work(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys, taxospec, taxospec.cli; "
        "from taxospec.plugins.manager import get_plugin_manager as g; "
        "heavy = [m for m in ('torch', 'open_clip', 'faiss', 'av', 'label_studio_sdk') if m in sys.modules]; "
        "print(','.join(heavy), g.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "0", "no heavy import and no plugin loading at import time"


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two plugins installed the way pip installs them (a dist-info with entry points on sys.path): the
    first fails to import, the second adds a check."""
    from taxospec.plugins.registry import checks

    (tmp_path / "acme_broken.py").write_text("raise ImportError('the acme SDK is not installed')\n")
    (tmp_path / "acme_good.py").write_text(
        "from taxospec.checks.base import check\n"
        "from taxospec.findings import Severity\n"
        "from taxospec.plugins import hookimpl\n\n"
        "@check('acme-always-passes', 'acme', Severity.INFO)\n"
        "def always(ctx, params):\n"
        "    '''A third-party check that finds nothing.'''\n"
        "    return 0, []\n\n"
        "@hookimpl\n"
        "def taxospec_checks():\n"
        "    return [always]\n"
    )
    info = tmp_path / "acme_plugins-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugins\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[taxospec]\na-broken = acme_broken\nb-good = acme_good\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    get_plugin_manager.cache_clear()
    checks.cache_clear()
    yield tmp_path
    get_plugin_manager.cache_clear()
    checks.cache_clear()
    sys.modules.pop("acme_good", None)


def test_a_broken_plugin_is_skipped_with_a_warning_and_the_others_load(installed_plugins: Path) -> None:
    from taxospec.plugins.manager import PluginWarning, plugin_statuses
    from taxospec.plugins.registry import checks

    with pytest.warns(PluginWarning, match=r"'a-broken' \(acme-plugins 1.2\) failed to load.*acme SDK"):
        get_plugin_manager()
    assert "acme-always-passes" in checks()  # the plugin after the broken one loaded
    statuses = {s.name: s for s in plugin_statuses()}
    assert not statuses["a-broken"].loaded and statuses["b-good"].loaded
    assert statuses["b-good"].source == "acme-plugins 1.2"


def test_the_plugins_command_lists_what_loaded_and_what_did_not(
    installed_plugins: Path, run_cli: Callable[..., Result]
) -> None:
    with pytest.warns(UserWarning):
        get_plugin_manager()
    result = run_cli("plugins")
    assert result.exit_code == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "failed: ImportError: the acme SDK is not installed" in lines["a-broken"]
    assert lines["b-good"].endswith("checks") and "acme-plugins 1.2" in lines["b-good"]
    assert lines["taxospec.checks.embedding"].endswith("checks")
