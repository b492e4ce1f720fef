"""The report as JSON, written a piece at a time: the per-example rows (one per embedded example, ~350
bytes each) are serialized a chunk at a time, so that a report of 10 million examples is never one
3.5 GB string (nor that string and its encoding at once)."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import TypeAdapter

from taxospec.example_rows import ExampleScore
from taxospec.report import Report

ROWS_PER_PIECE = 65_536
"""Per-example rows serialized at a time (~23 MB of JSON)."""
INDENT = 2
_PLACEHOLDER = b'\n    "examples": []'
"""Where the rows go in the report serialized without them: `scores.examples`, the only `examples` key at
the second level (the top level's is an object or null, a tightness row's is a number, deeper)."""
_ROWS = TypeAdapter(list[ExampleScore])


def render_json(report: Report) -> str:
    """The report document (follows schemas/report.schema.json), whole."""
    return b"".join(json_pieces(report)).decode("utf-8")


def json_pieces(report: Report) -> Iterator[bytes]:
    """The report document in pieces, byte for byte what `render_json` gives: the report without its
    per-example rows, then the rows `ROWS_PER_PIECE` at a time, then the rest."""
    if report.scores is None or len(report.scores.examples) <= ROWS_PER_PIECE:
        yield _whole(report)
        return
    rows = report.scores.examples
    shell = report.model_copy(update={"scores": report.scores.model_copy(update={"examples": []})})
    document = _whole(shell)
    if document.count(_PLACEHOLDER) != 1:  # (cannot happen with today's models; correct if it ever does)
        yield _whole(report)
        return
    head, tail = document.split(_PLACEHOLDER)
    yield head + _PLACEHOLDER[:-1]
    for start in range(0, len(rows), ROWS_PER_PIECE):
        serialized = _ROWS.dump_json(list(rows[start : start + ROWS_PER_PIECE]), by_alias=True, indent=INDENT)
        inner = serialized[1:-2].replace(b"\n", b"\n    ")  # the rows, without "[" and "\n]", one level in
        yield inner if start == 0 else b"," + inner
    yield b"\n    ]" + tail


def _whole(report: Report) -> bytes:
    return report.__pydantic_serializer__.to_json(report, by_alias=True, indent=INDENT) + b"\n"
