"""The pictures the HTML explorer shows, read through the same safe media roots as the checks: one per task
(for a video, one per example, at its segment's middle) and, for flagged segments, a strip of frames across
the segment. Within a budget: `limit` pictures at most, flagged tasks first, the rest spread evenly over the
dataset; small JPEGs (`SIZE` pixels, quality `QUALITY`), about 3 kB each."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from taxospec.media.sources import MediaSources
from taxospec.render.explorer import ExplorerMedia
from taxospec.render.thumbnails import Picture, _pictures_of_task
from taxospec.report import Report

SIZE = 128
"""Longest side of an explorer picture, in pixels."""
QUALITY = 70
LIMIT = 2000
"""Pictures in one report at most, by default (`--pictures N`): about 6 MB."""
STRIPS = 40
"""Flagged segments pictured as a strip at most."""
STRIP_FRAMES = 7
STRIP_CODES = frozenset({"segment-ends-loose", "segment-too-long", "segment-too-short", "segments-too-close"})
"""The checks about a segment's bounds, whose segments are pictured as a strip of frames."""


def explorer_media(report: Report, sources: MediaSources, *, video: bool, limit: int = LIMIT) -> ExplorerMedia:
    """The explorer's pictures of `report`'s examples (empty without `report.examples`)."""
    table = report.examples
    if table is None or limit <= 0:
        return ExplorerMedia()
    wanted = _wanted(report, video, limit)
    strips = _strip_moments(report) if video else {}
    moments: dict[int, list[float | None]] = {}
    for task, moment in [*wanted, *((table.task_id[i], t) for i, ts in strips.items() for t in ts)]:
        if moment not in moments.setdefault(task, []):
            moments[task].append(moment)
    pictures: dict[Picture, str] = {}

    def of(task: int) -> dict[Picture, str]:
        uri = report.picture_source(task)
        return _pictures_of_task(task, uri, moments[task], sources, video, SIZE, QUALITY) if uri else {}

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # decoding releases the GIL
        for found in pool.map(of, list(moments)):
            pictures.update(found)
    return ExplorerMedia(
        pictures=pictures,
        strips={
            i: [(t, pictures[(table.task_id[i], t)]) for t in ts if (table.task_id[i], t) in pictures]
            for i, ts in strips.items()
        },
    )


def _wanted(report: Report, video: bool, limit: int) -> list[Picture]:
    """What to picture, in order: flagged tasks (or, for a video, examples) first, then the others spread
    evenly, `limit` at most."""
    table = report.examples
    assert table is not None
    keys: list[Picture] = []
    for i, task in enumerate(table.task_id):
        span = table.seconds[i]
        keys.append((task, round((span[0] + span[1]) / 2, 3) if video and span is not None else None))
    if not video:
        keys = list(dict.fromkeys(keys))
    flagged_tasks = {f.task_id for f in report.findings if f.task_id is not None}
    first = [k for k in keys if k[0] in flagged_tasks]
    rest = [k for k in keys if k[0] not in flagged_tasks]
    room = max(0, limit - len(first))
    step = max(1, -(-len(rest) // room)) if room else len(rest) + 1
    return [*first, *rest[::step]][:limit]


def _strip_moments(report: Report) -> dict[int, list[float]]:
    """For each flagged segment (by a check of its bounds), the moments of its strip: across the segment and
    a tenth of its length on either side."""
    table = report.examples
    assert table is not None
    flagged = {(f.task_id, f.region_id) for f in report.findings if f.code in STRIP_CODES}
    out: dict[int, list[float]] = {}
    for i, (task, region, span) in enumerate(zip(table.task_id, table.region_id, table.seconds, strict=True)):
        if span is None or (task, region) not in flagged or len(out) >= STRIPS:
            continue
        start, end = span
        margin = max(0.1 * (end - start), 0.2)
        a, b = max(0.0, start - margin), end + margin
        out[i] = [round(a + (b - a) * k / (STRIP_FRAMES - 1), 3) for k in range(STRIP_FRAMES)]
    return out
