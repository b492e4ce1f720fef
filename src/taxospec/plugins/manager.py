"""The plugin manager, built once per process on first use (never at import time)."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import warnings
from dataclasses import dataclass

import pluggy

from taxospec.plugins import hookspecs

BUILTIN_PLUGINS: tuple[str, ...] = (
    "taxospec.spec.rules_taxonomy",
    "taxospec.spec.rules_settings",
    "taxospec.spec.templates",
    "taxospec.commands.spec",
    "taxospec.commands.check",
    "taxospec.commands.todo",
    "taxospec.commands.embed",
    "taxospec.plugins.labelstudio.commands",
    "taxospec.commands.plugins",
    "taxospec.plugins.labelstudio.plugin",
    "taxospec.plugins.labelstudio.media",
    "taxospec.plugins.labelstudio.live",
    "taxospec.checks.labels",
    "taxospec.checks.hygiene",
    "taxospec.checks.counts",
    "taxospec.checks.axes",
    "taxospec.checks.tightness",
    "taxospec.checks.splits",
    "taxospec.checks.duplicates",
    "taxospec.checks.embedding",
    "taxospec.checks.quality",
    "taxospec.checks.deployment",
    "taxospec.media.resolvers",
    "taxospec.embeddings.encoder",
)
"""Modules of the built-in plugins, registered exactly like a third-party plugin."""

ENTRY_POINT_GROUP = "taxospec"


class PluginWarning(UserWarning):
    """A third-party plugin that could not be loaded (it is skipped; the others load)."""


@dataclass(frozen=True)
class PluginStatus:
    """One plugin as `taxospec plugins` lists it."""

    name: str
    source: str
    """`built-in`, or the distribution (name and version) that installed the entry point."""
    loaded: bool
    problem: str | None = None
    """Why it did not load."""


_STATUSES: list[PluginStatus] = []


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with the built-in plugins and every installed `taxospec` plugin.

    Each entry point is loaded in a guard of its own: one that fails to import or to register is skipped
    with a `PluginWarning`, and the plugins after it still load (pluggy's own loader stops at the first
    failure)."""
    pm = pluggy.PluginManager("taxospec")
    pm.add_hookspecs(hookspecs)
    _STATUSES.clear()
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        _STATUSES.append(PluginStatus(module_name, "built-in", True))
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        source = _distribution_of(entry_point)
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            pm.register(entry_point.load(), name=entry_point.name)
        except Exception as exc:  # a broken third-party plugin must not take taxospec (or other plugins) down
            problem = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"taxospec plugin {entry_point.name!r} ({source}) failed to load and was skipped: {problem}",
                PluginWarning,
                stacklevel=2,
            )
            _STATUSES.append(PluginStatus(entry_point.name, source, False, problem))
            continue
        _STATUSES.append(PluginStatus(entry_point.name, source, True))
    return pm


def plugin_statuses() -> list[PluginStatus]:
    """Every plugin the manager tried: the built-in ones, then each installed entry point, loaded or not."""
    get_plugin_manager()
    return list(_STATUSES)


def _distribution_of(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"
