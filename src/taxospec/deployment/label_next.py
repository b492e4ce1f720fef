"""`taxospec todo --pool`: the pool embedded and seen as the ranking needs it (its classes, what it shows,
which deployment scenarios it fills), then ranked (`pool.rank_pool`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext
from taxospec.deployment.analysis import DeploymentAnalysis
from taxospec.deployment.coverage import nearest_labeled
from taxospec.deployment.describe import zero_shot
from taxospec.deployment.embed import UnlabeledSpace
from taxospec.deployment.pool import PoolView, closeness_to, rank_pool, voted_classes
from taxospec.embeddings.index import NeighborIndex
from taxospec.todo import PoolPick, TodoItem


def label_next(
    context: CheckContext, pool: UnlabeledSpace, items: list[TodoItem], found: DeploymentAnalysis | None, top: int
) -> list[PoolPick]:
    """The `top` pictures of `pool` to label next for the to-do `items` of the run in `context` (whose
    labeled data is embedded), with the deployment analysis `found` when there is one."""
    from taxospec.checks.embedding_view import view_of

    view = view_of(context)
    labels = [context.class_names[int(c)] if c >= 0 else None for c in view.labels]
    texts = view.space.texts if view.space.encode_text is not None else None
    guesses = zero_shot(context.spec, texts, pool.vectors)
    classes: list[str | None] = list(guesses.classes) if guesses.classes is not None else []
    if not classes:
        classes = voted_classes(view.index, labels, pool.vectors)
    scenario_match = _scenario_match(items, pool, view.index, labels, found)
    positives = {p for item in items for p in item.look_alike_of}
    near = closeness_to(view.index.vectors, labels, pool.vectors, positives)
    seen = PoolView(pool.vectors, pool.uris, [*pool.task_ids], guesses, classes, scenario_match, near)
    return rank_pool(context.spec, items, seen, top, duplicate_distance(context, view.index))


def _scenario_match(
    items: list[TodoItem],
    pool: UnlabeledSpace,
    index: NeighborIndex,
    labels: list[str | None],
    found: DeploymentAnalysis | None,
) -> dict[int, npt.NDArray[np.float64]]:
    """Per deployment item (by rank), 1 for each pool picture no labeled example is like (the coverage's
    own rule) that is as close to the scenario's pictures as labeled examples are to each other."""
    if found is None:
        return {}
    thresholds = found.coverage.thresholds
    uncovered = ~nearest_labeled(index, labels, thresholds, pool.vectors)[2]
    by_pictures = {
        tuple(found.space.uris[int(r)] for r in s.rows[: found.settings.pictures_per_scenario]): s
        for s in found.coverage.scenarios
    }
    out = {}
    for item in items:
        scenario = by_pictures.get(tuple(item.pictures)) if item.kind == "deployment" else None
        if scenario is None:
            continue
        near, _ = NeighborIndex(found.space.vectors[scenario.rows], device="cpu").search(pool.vectors, 1)
        out[item.rank] = (uncovered & (1.0 - near[:, 0] <= thresholds["*"])).astype(np.float64)
    return out


def duplicate_distance(context: CheckContext, index: NeighborIndex) -> float:
    """The near-duplicate distance of the labeled data `index` holds (`duplicates.relative_distance` × its
    median nearest-neighbour distance, from the index's shared k-NN graph): a pick closer than this to
    another pick adds nothing."""
    own, _ = index.knn(1)
    return float(context.spec.duplicates.relative_distance * np.median(1.0 - own[:, 0]))
