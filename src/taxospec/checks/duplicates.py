"""Duplicate checks without embeddings: the same media twice, segments that repeat the same moment."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.dataset import KIND_SEGMENT
from taxospec.findings import Severity
from taxospec.media.sources import shown
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import DuplicatesSpec


@check("duplicate-media", "duplicates", Severity.WARNING, params=lambda s: s.duplicates)
def duplicate_media(ctx: CheckContext, params: DuplicatesSpec) -> Outcome:
    """The same media file in several tasks: one image counted twice, possibly in two splits.

    Duplicates inflate counts and, across splits, leak training data into validation."""
    if not params.exact:
        return 0, []
    tasks_of: dict[str, list[int]] = defaultdict(list)
    items = ctx.dataset.items
    for i, media in enumerate(items.media):
        if media:
            tasks_of[media].append(i)
    issues = []
    for media, tasks in tasks_of.items():
        if len(tasks) > 1:
            ids = ", ".join(str(items.task_id[t]) for t in tasks[:10]) + (" …" if len(tasks) > 10 else "")
            issues.append(
                ctx.flag(
                    f"{shown(media)} appears in {len(tasks)} tasks ({ids})",
                    task=tasks[0],
                    value=shown(media),
                    count=len(tasks),
                    related=tuple(int(items.task_id[t]) for t in tasks),
                )
            )
    return len(tasks_of), issues


@check("segments-too-close", "duplicates", Severity.WARNING, params=lambda s: s.duplicates, local=True)
def segments_too_close(ctx: CheckContext, params: DuplicatesSpec) -> Outcome:
    """Two segments of one class in one video that overlap or are closer than `duplicates.min_gap_seconds`.

    Neighbouring segments share near-identical frames: they teach nothing new and leak across splits."""
    cols = ctx.columns
    segments = np.flatnonzero((cols.kind == KIND_SEGMENT) & (cols.class_idx >= 0) & np.isfinite(cols.start_s))
    media = ctx.dataset.items.media
    by_video: dict[tuple[str, int], list[int]] = defaultdict(list)
    for s in segments.tolist():
        task = int(cols.task[s])
        key = media[task] or f"task:{ctx.dataset.items.task_id[task]}"
        by_video[(key, int(cols.class_idx[s]))].append(s)
    issues = []
    for (_, _c), members in by_video.items():
        members.sort(key=lambda s: (cols.start_s[s], cols.end_s[s]))
        for previous, current in itertools.pairwise(members):
            gap = cols.start_s[current] - cols.end_s[previous]
            if gap < params.min_gap_seconds:
                what = (
                    f"overlaps the previous one by {-gap:.2f} s"
                    if gap < 0
                    else f"starts {gap:.2f} s after the previous one"
                )
                issues.append(
                    ctx.flag(
                        f"the segment {what} (region {ctx.dataset.samples.region_id[previous]!r}); "
                        f"the spec asks for {params.min_gap_seconds:g} s apart",
                        current,
                    )
                )
    return len(segments), issues


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The duplicate checks that need no embeddings."""
    return [duplicate_media, segments_too_close]
