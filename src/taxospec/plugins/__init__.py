"""The plugin system: hook specifications, the plugin manager, and the built-in plugins' registry."""

from taxospec.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
