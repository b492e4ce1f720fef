"""Starter specs for `taxospec init`, registered through the `taxospec_spec_templates` hook."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from taxospec.plugins.hookspecs import hookimpl

SCHEMA_LINE_PREFIX = "# yaml-language-server: $schema="


@dataclass(frozen=True)
class SpecTemplate:
    """A named starter spec: a one-line summary and the commented YAML text (without the schema line)."""

    name: str
    summary: str
    text: str

    def render(self, schema_ref: str) -> str:
        """The starter spec with the `yaml-language-server` schema line pointing at `schema_ref`."""
        return f"{SCHEMA_LINE_PREFIX}{schema_ref}\n{self.text}"


def _builtin(name: str, summary: str) -> SpecTemplate:
    text = (resources.files("taxospec.spec") / "starters" / f"{name}.yaml").read_text("utf-8")
    return SpecTemplate(name, summary, text)


@hookimpl
def taxospec_spec_templates() -> list[SpecTemplate]:
    """The built-in starter specs."""
    return [
        _builtin("image-detection", "boxes around objects in still images (unit: box)"),
        _builtin("image-classification", "one class per still image (unit: image)"),
        _builtin("video-actions", "time segments of actions in videos, with look-alike actions (unit: segment)"),
    ]
