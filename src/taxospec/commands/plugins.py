"""`taxospec plugins`: every plugin, built-in or installed, whether it loaded, and what it provides."""

from __future__ import annotations

import click

from taxospec.plugins.hookspecs import hookimpl


@click.command(name="plugins")
def plugins_command() -> None:
    """List every plugin: the built-in ones and each installed `taxospec` entry point, whether it loaded
    (and why not), and the hooks it implements (checks, export readers, media resolvers, embedders, lint
    rules, templates, commands).

    A plugin that fails to load is skipped with a warning; the others still load. Exit 0, or 1 when an
    installed plugin failed to load."""
    from taxospec.plugins.manager import get_plugin_manager, plugin_statuses

    pm = get_plugin_manager()
    failed = 0
    for status in plugin_statuses():
        if not status.loaded:
            failed += 1
            click.echo(f"{status.name:40} {status.source:28} failed: {status.problem}")
            continue
        plugin = pm.get_plugin(status.name)
        hooks = sorted(h.name.removeprefix("taxospec_") for h in pm.get_hookcallers(plugin) or [])
        click.echo(f"{status.name:40} {status.source:28} {', '.join(hooks) or '(no hooks)'}")
    if failed:
        raise click.exceptions.Exit(1)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec plugins`."""
    cli.add_command(plugins_command)
