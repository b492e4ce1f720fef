"""The HTML report's explorer: the embedding map, every example in a sortable, filterable table, and one
example at a time with its findings drawn on its picture, its scores and its nearest neighbours.

The page stays one self-contained file: the data is JSON in a `<script type="application/json">` element,
the code is `assets/explorer.js` (plain JavaScript on a canvas, no library), and pictures are `data:` URIs
(`render.explorer_media`). It needs the report's `examples` table (`check(…, explore=True)`); the map also
needs `scores.map` (a run with embeddings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from importlib.resources import files
from typing import Any

from taxospec.report import Report


@dataclass(frozen=True)
class ExplorerMedia:
    """The pictures the explorer shows: one per task (for a video, per example: its segment's middle) and,
    for flagged segments, a strip of frames across the segment."""

    pictures: dict[tuple[int, float | None], str] = field(default_factory=dict)
    """(task id, moment) → `data:` URI; the moment is None for a still picture."""
    strips: dict[int, list[tuple[float, str]]] = field(default_factory=dict)
    """Example index → the frames across its segment (seconds, `data:` URI)."""


def explorer_section(report: Report, media: ExplorerMedia | None) -> str:
    """The map and examples sections with the explorer's data and code (empty without `report.examples`)."""
    if report.examples is None:
        return ""
    payload = explorer_payload(report, media or ExplorerMedia())
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    assets = files("taxospec.render").joinpath("assets")
    code = assets.joinpath("explorer.js").read_text(encoding="utf-8")
    style = assets.joinpath("explorer.css").read_text(encoding="utf-8")
    method = report.scores.map.method if report.scores is not None and report.scores.map is not None else None
    where = (
        f"Each embedded example placed by {escape(method)}: near on the map is near in the embedding space. "
        if method
        else "The run had no embeddings, so no example is on the map; the table lists them all. "
    )
    return (
        f"<style>{style}</style>"
        '<section id="map"><h2>Embedding map</h2>'
        f'<p class="lead">{where}Scroll to zoom, drag to move, shift-drag to draw a lasso around examples, '
        "hover for the picture, click to open an example. Flagged examples are ringed.</p>"
        '<div class="controls"><label>colour by <select id="color-by"></select></label>'
        '<button id="reset-view" type="button">reset view</button>'
        '<button id="clear-selection" type="button">clear selection</button></div>'
        '<div class="map-box"><canvas id="map-canvas" aria-label="embedding map"></canvas></div>'
        '<div id="legend" class="legend"></div><div id="map-tip" class="tip" hidden></div></section>'
        '<section id="examples"><h2>Every example</h2>'
        '<div class="controls"><input id="filter-text" type="search" placeholder="Search task, class, region, check…">'
        '<select id="filter-class"></select><select id="filter-code"></select>'
        '<select id="filter-score" aria-label="score"></select><select id="filter-side" aria-label="side">'
        '<option value="below">below</option><option value="above">above</option></select>'
        '<input id="filter-bound" type="number" step="any" placeholder="value" aria-label="bound">'
        '<label><input id="only-flagged" type="checkbox"> flagged only</label>'
        '<label><input id="only-selected" type="checkbox"> selected on the map</label></div>'
        '<p id="example-count" class="lead"></p>'
        '<div id="example" class="example" hidden></div>'
        '<div class="examples" role="table"><div id="examples-head" class="row head" role="row"></div>'
        '<div id="examples-scroll" class="examples-scroll"><div id="examples-spacer" class="spacer">'
        '<div id="examples-rows" class="rows"></div></div></div></div></section>'
        f'<script type="application/json" id="explorer-data">{data}</script>'
        f"<script>{code}</script>"
    )


def explorer_payload(report: Report, media: ExplorerMedia) -> dict[str, Any]:
    """What the explorer's code reads: the examples as columns of indices and numbers, the findings, the
    pictures."""
    table = report.examples
    assert table is not None
    n = len(table.task_id)
    classes = list(report.classes)
    axes = {axis: _values(report, axis, table.axes[axis]) for axis in table.axes}
    splits = sorted({s for s in table.split if s is not None})
    findings, flags, codes = _findings(report, table.task_id, table.region_id)
    scores = _score_columns(report, table.score_row, classes)
    suggested = {
        i: findings[f]["suggested"] for i, fs in enumerate(flags) for f in fs if findings[f]["suggested"] is not None
    }
    pictures, pic, strips = _pictures(media, table.task_id, table.seconds, suggested)
    by_task: dict[int, list[int]] = {}
    for i, task in enumerate(table.task_id):
        by_task.setdefault(task, []).append(i)
    keypoints: dict[int, list[list[Any]]] = {}
    for point in table.keypoints:
        keypoints.setdefault(int(str(point[0])), []).append(point[1:])
    return {
        "classes": classes,
        "splits": splits,
        "axisNames": list(axes),
        "axes": {axis: values for axis, (values, _) in axes.items()},
        "codes": codes,
        "findings": findings,
        "pictures": pictures,
        "strips": strips,
        "byTask": {str(t): rows for t, rows in by_task.items() if len(rows) > 1},
        "keypoints": {str(t): points for t, points in keypoints.items()},
        "examples": {
            "task": table.task_id,
            "region": table.region_id,
            "cls": [classes.index(c) if c in classes else -1 for c in table.class_name],
            "split": [splits.index(s) if s is not None else -1 for s in table.split],
            "axes": {axis: indices for axis, (_, indices) in axes.items()},
            "box": table.box,
            "outline": table.outline,
            "seconds": table.seconds,
            "flags": flags,
            "pic": pic,
            "text": [_text(table, i, [findings[f]["code"] for f in flags[i]]) for i in range(n)],
            **scores,
        },
    }


def _values(report: Report, axis: str, given: list[str | None]) -> tuple[list[str], list[int]]:
    values = list(dict.fromkeys(v for per_class in report.axis_counts.get(axis, {}).values() for v in per_class))
    values = [v for v in values if v != "(missing)"]
    for v in given:
        if v is not None and v not in values:
            values.append(v)
    index = {v: i for i, v in enumerate(values)}
    return values, [index[v] if v is not None else -1 for v in given]


def _findings(
    report: Report, tasks: list[int], regions: list[str | None]
) -> tuple[list[dict[str, Any]], list[list[int]], list[str]]:
    """The findings about examples, and each example's: a finding about a region marks its examples, one
    about a task without a region marks every example of the task."""
    at: dict[tuple[int, str | None], list[int]] = {}
    for i, (task, region) in enumerate(zip(tasks, regions, strict=True)):
        at.setdefault((task, region), []).append(i)
        if region is not None:
            at.setdefault((task, None), []).append(i)
    flags: list[list[int]] = [[] for _ in tasks]
    kept: list[dict[str, Any]] = []
    for finding in report.findings:
        if finding.task_id is None:
            continue
        examples = at.get((finding.task_id, finding.region_id), [])
        if not examples:
            continue
        for i in examples:
            flags[i].append(len(kept))
        kept.append(
            {
                "code": finding.code,
                "severity": finding.severity.value,
                "message": finding.message,
                "task": finding.task_id,
                "region": finding.region_id,
                "suggested": finding.suggested_seconds,
            }
        )
    return kept, flags, sorted({f["code"] for f in kept})


def _score_columns(report: Report, score_row: list[int | None], classes: list[str]) -> dict[str, list[Any]]:
    n = len(score_row)
    out: dict[str, list[Any]] = {key: [None] * n for key in ("quality", "outlier", "uniqueness", "duplicate", "x", "y")}
    out["suggested"] = [-1] * n
    out["nb"] = [[] for _ in range(n)]
    tables = report.scores
    if tables is None:
        return out
    example_of = {row: i for i, row in enumerate(score_row) if row is not None}
    for i, row in enumerate(score_row):
        if row is None:
            continue
        score = tables.examples[row]
        out["quality"][i] = score.label_quality
        out["outlier"][i] = score.outlier_score
        out["uniqueness"][i] = score.uniqueness
        out["duplicate"][i] = score.duplicate_score
        out["suggested"][i] = classes.index(score.suggested) if score.suggested in classes else -1
        if tables.map is not None:
            out["x"][i], out["y"][i] = tables.map.x[row], tables.map.y[row]
            out["nb"][i] = [example_of[k] for k in tables.map.neighbours[row] if k in example_of]
    return out


def _pictures(
    media: ExplorerMedia,
    tasks: list[int],
    seconds: list[list[float] | None],
    suggested: dict[int, list[float]],
) -> tuple[list[str], list[int], dict[str, Any]]:
    """The distinct pictures, each example's picture index (-1: none), and the strips by example (with the
    bounds a check suggests instead, where one does)."""
    uris: list[str] = []
    index: dict[str, int] = {}

    def at(uri: str) -> int:
        if uri not in index:
            index[uri] = len(uris)
            uris.append(uri)
        return index[uri]

    pic = []
    for task, span in zip(tasks, seconds, strict=True):
        moment = round((span[0] + span[1]) / 2, 3) if span is not None else None
        uri = media.pictures.get((task, moment)) or media.pictures.get((task, None))
        pic.append(at(uri) if uri else -1)
    strips: dict[str, Any] = {}
    for i, frames in media.strips.items():
        span = seconds[i] or [0.0, 0.0]
        better = suggested.get(i)
        strips[str(i)] = {
            "suggested": better,
            "frames": [
                {
                    "t": t,
                    "picture": at(uri),
                    "inside": span[0] <= t <= span[1],
                    "suggested": better is not None and better[0] <= t <= better[1],
                }
                for t, uri in frames
            ],
        }
    return uris, pic, strips


def _text(table: Any, i: int, codes: list[str]) -> str:
    """What the search box matches an example by, lower-cased."""
    parts = [str(table.task_id[i]), table.class_name[i] or "", table.region_id[i] or "", table.split[i] or ""]
    parts += [v for values in table.axes.values() if (v := values[i])]
    return " ".join([*parts, *codes]).lower()
