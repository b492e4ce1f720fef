"""The duplicate checks of the example scores: near-duplicate groups (by distance relative to the data, by
identical bytes, by perceptual hash, by an absolute cosine when the spec sets one), each group reported by
the check its kind belongs to: within one medium, across sources in one split, or across splits."""

from __future__ import annotations

from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.checks.embedding_scores import duplicate_scores
from taxospec.checks.embedding_view import EmbeddingView, embeddings_off, scored, view_of
from taxospec.findings import Severity
from taxospec.spec.model import DuplicatesSpec


def group_kind(ctx: CheckContext, view: EmbeddingView, group: list[int]) -> str:
    """The code a duplicate group is reported under."""
    items = ctx.dataset.items
    tasks = {int(ctx.columns.task[view.rows[v]]) for v in group}
    media = {items.media[t] for t in tasks}
    if len(tasks) == 1 or (len(media) == 1 and None not in media):
        return "near-identical-frames"
    splits = {int(view.splits[v]) for v in group} - {-1}
    return "duplicate-across-splits" if len(splits) > 1 else "near-duplicate"


def _duplicate_check(code: str, severity: Severity, doc: str) -> Check[Any]:
    def run(ctx: CheckContext, params: DuplicatesSpec) -> Outcome:
        view = view_of(ctx)
        found = duplicate_scores(ctx, params)
        issues = []
        for group in found.groups:
            if group_kind(ctx, view, group) != code:
                continue
            task_ids = sorted({int(ctx.dataset.items.task_id[ctx.columns.task[view.rows[v]]]) for v in group})
            split_names = ctx.columns.split_names
            splits = sorted({split_names[s] for s in view.splits[group].tolist() if s >= 0})
            where = f" across splits {', '.join(splits)}" if code == "duplicate-across-splits" else ""
            closeness = float(np.max(found.nearest_ratio[group]))
            issues.append(
                scored(
                    view.flag(
                        f"{len(group)} near-identical examples{where} (nearest distance at most {closeness:.2f}× the "
                        "dataset's median, or the same bytes or picture): tasks "
                        + ", ".join(map(str, task_ids[:10]))
                        + (" …" if len(task_ids) > 10 else ""),
                        group[0],
                        count=len(group),
                        related=tuple(task_ids),
                    ),
                    1.0 - min(1.0, closeness),
                )
            )
        return len(view.rows), issues

    run.__doc__ = doc
    return check(code, "embeddings", severity, params=lambda spec: spec.duplicates, skip=embeddings_off)(run)


near_duplicate = _duplicate_check(
    "near-duplicate",
    Severity.WARNING,
    """Examples from different sources in one split that are near-identical: closer than
    `duplicates.relative_distance` × the dataset's median distance to a nearest neighbour, the same media
    bytes, whole pictures whose perceptual hashes differ in at most `duplicates.hash_distance` bits, or (when
    set) at cosine ≥ `duplicates.max_similarity`. Grouped around a leader, never chained.

    Duplicates weigh some scenes twice and make the dataset look bigger than it is.""",
)
duplicate_across_splits = _duplicate_check(
    "duplicate-across-splits",
    Severity.ERROR,
    """Near-identical examples (as `near-duplicate` finds them) in different splits: validation that has
    seen its answers in training.

    The most common reason validation scores beat production scores.""",
)
near_identical_frames = _duplicate_check(
    "near-identical-frames",
    Severity.INFO,
    """Several examples from one video (or one image) that look the same: frames too close to teach
    anything new.""",
)
