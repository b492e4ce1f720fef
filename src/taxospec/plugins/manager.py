"""The plugin manager, built once per process on first use (never at import time)."""

from __future__ import annotations

import functools
import importlib
import sys

import pluggy

from taxospec.plugins import hookspecs

BUILTIN_PLUGINS: tuple[str, ...] = (
    "taxospec.spec.lint",
    "taxospec.spec.templates",
    "taxospec.commands.spec",
    "taxospec.commands.check",
    "taxospec.commands.todo",
    "taxospec.commands.labelstudio",
    "taxospec.plugins.labelstudio.plugin",
    "taxospec.checks.labels",
    "taxospec.checks.hygiene",
    "taxospec.checks.counts",
    "taxospec.checks.axes",
    "taxospec.checks.tightness",
    "taxospec.checks.splits",
    "taxospec.checks.duplicates",
    "taxospec.checks.embedding",
    "taxospec.embeddings.media",
    "taxospec.embeddings.encoder",
)
"""Modules of the built-in plugins, registered exactly like a third-party plugin."""

ENTRY_POINT_GROUP = "taxospec"


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with the built-in plugins and every installed `taxospec` plugin."""
    pm = pluggy.PluginManager("taxospec")
    pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken third-party plugin must not take taxospec down
        print(f"taxospec: warning: a plugin failed to load and was skipped: {exc}", file=sys.stderr)
    return pm
