"""The report formats `taxospec check` writes, in one table: a format's name, the file suffixes that pick
it, and the function that renders it (as pieces of bytes, written as they come: a JSON report of millions
of examples is never whole in memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from taxospec.findings import Severity
from taxospec.render.explorer import ExplorerMedia
from taxospec.render.html import HTML_PER_CODE, render_html
from taxospec.render.report_files import render_junit, render_markdown
from taxospec.render.report_json import json_pieces
from taxospec.report import Report


@dataclass(frozen=True)
class RenderOptions:
    """What a format may need beside the report."""

    fail_on: Severity = Severity.ERROR
    """The severity at which a finding fails (JUnit marks those checks failed)."""
    thumbnails: Mapping[tuple[int, float | None], str] | None = None
    """Pictures of flagged tasks for HTML ((task id, moment) → `data:` URI)."""
    explorer: ExplorerMedia | None = None
    """The pictures of the HTML explorer (its map and table need none, the examples show them)."""
    deployment: Mapping[str, str] | None = None
    """Pictures of the deployment scenarios for HTML (example → `data:` URI)."""


ReportRenderer = Callable[[Report, RenderOptions], Iterable[bytes]]


def _whole(text: str) -> Iterable[bytes]:
    return (text.encode("utf-8"),)


REPORT_FORMATS: dict[str, ReportRenderer] = {
    "json": lambda report, options: json_pieces(report),
    "markdown": lambda report, options: _whole(render_markdown(report)),
    "junit": lambda report, options: _whole(render_junit(report, options.fail_on)),
    "html": lambda report, options: _whole(
        render_html(
            report,
            per_code=HTML_PER_CODE,
            thumbnails=options.thumbnails,
            explorer=options.explorer,
            deployment=options.deployment,
        )
    ),
}
"""Every file format of the report, by name (`terminal` prints instead: `render_terminal`)."""

BY_SUFFIX = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
}
"""The format `-o FILE` picks by the file's suffix (Markdown for any other)."""


def format_for(output_suffix: str) -> str:
    """The format a report file with this suffix is written in."""
    return BY_SUFFIX.get(output_suffix.lower(), "markdown")
