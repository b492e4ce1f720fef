"""Label these next: the unlabeled pool ranked by how much of the to-do list labeling each picture fills.

Every to-do item is a *need* with what is still missing of it. A pool picture fills an item in the measure
it matches it: its class (zero-shot by the class prompts; by its nearest labeled examples where classes
have no prompts) and each of the item's conditions (zero-shot by the axis's value prompts; an axis without
prompts cannot be judged and counts half); a deployment scenario is filled by a picture that no labeled
example is like and that is as close to the scenario's pictures as labeled examples are to each other.
A look-alike negative counts fully near the positives it must resemble and half as far from them as the
pool goes (by its rank of distance to their labeled examples). Pictures are picked greedily: the one that
fills the most still-open need (missing items count double),
then the needs are reduced by what it fills, and so on; a near-duplicate of a picked picture is not picked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from taxospec.coverage import MISSING
from taxospec.deployment.describe import ZeroShot
from taxospec.embeddings.index import NeighborIndex
from taxospec.spec.model import Spec
from taxospec.todo import PoolPick, TodoItem

UNJUDGED = 0.5
"""How much a condition on an axis without value prompts counts (it cannot be seen)."""
VOTERS = 10
"""Nearest labeled examples whose classes vote where classes have no prompts."""


@dataclass(frozen=True)
class PoolView:
    """The pool as the ranking sees it."""

    vectors: npt.NDArray[np.float32]
    uris: list[str]
    task_ids: list[int | None]
    guesses: ZeroShot
    classes: list[str | None]
    """Each picture's class (zero-shot, or by its nearest labeled examples)."""
    scenario_match: dict[int, npt.NDArray[np.float64]]
    """Per deployment to-do item (by rank), how much each picture fills it (0 or 1)."""
    closeness: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per positive class, how near each picture lies to its labeled examples, as a rank among the pool
    (1: the nearest picture, 0: the farthest): a look-alike negative is worth most near the positives."""


def matches(spec: Spec, items: list[TodoItem], pool: PoolView) -> npt.NDArray[np.float64]:
    """How much each pool picture fills each item (pictures × items, 0..1)."""
    out = np.zeros((len(pool.uris), len(items)))
    classes = np.asarray([c or "" for c in pool.classes], dtype=object)
    for j, item in enumerate(items):
        if item.kind == "deployment":
            out[:, j] = pool.scenario_match.get(item.rank, 0.0)
            continue
        fit = (classes == item.class_name).astype(np.float64)
        near = [pool.closeness[p] for p in item.look_alike_of if p in pool.closeness]
        if near:  # a look-alike far from the positives teaches half as much
            fit *= 0.5 + 0.5 * np.max(near, axis=0)
        for axis, value in item.conditions.items():
            seen = pool.guesses.values.get(axis)
            if seen is None:
                fit *= UNJUDGED
            else:
                fit *= np.asarray([v == value for v in seen], dtype=np.float64)
        out[:, j] = fit
    return out


def rank_pool(spec: Spec, items: list[TodoItem], pool: PoolView, top: int, duplicate_distance: float) -> list[PoolPick]:
    """The `top` pool pictures to label next, greedily (see the module)."""
    if not items or not len(pool.uris):
        return []
    fit = matches(spec, items, pool)
    open_need = np.asarray([float(i.missing) for i in items])
    urgency = np.asarray([2.0 if i.status == MISSING else 1.0 for i in items])
    available = np.ones(len(pool.uris), dtype=bool)
    picks: list[PoolPick] = []
    while len(picks) < top and available.any():
        gain = (fit * (urgency * np.minimum(open_need, 1.0))).sum(axis=1)
        gain[~available] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        filled = np.flatnonzero(fit[best] * (open_need > 0) > 0)
        open_need = np.maximum(0.0, open_need - fit[best])
        close = 1.0 - pool.vectors @ pool.vectors[best] <= duplicate_distance
        available &= ~close
        available[best] = False
        picks.append(
            PoolPick(
                rank=len(picks) + 1,
                media=pool.uris[best],
                task_id=pool.task_ids[best],
                gain=round(float(gain[best]), 4),
                fills=[items[int(j)].rank for j in filled],
                looks_like=pool.classes[best],
                conditions={axis: values[best] for axis, values in pool.guesses.values.items()},
            )
        )
    return picks


def closeness_to(
    labeled: npt.NDArray[np.float32], labels: list[str | None], pool: npt.NDArray[np.float32], names: set[str]
) -> dict[str, npt.NDArray[np.float64]]:
    """Per class of `names` with labeled examples, each pool picture's nearness to them as a rank (1: the
    nearest of the pool)."""
    out = {}
    given = np.asarray([c or "" for c in labels], dtype=object)
    for name in sorted(names):
        members = labeled[given == name]
        if not len(members) or len(pool) < 2:
            continue
        sims, _ = NeighborIndex(members, device="cpu").search(pool, 1)
        order = np.argsort(np.argsort(-sims[:, 0], kind="stable"), kind="stable")
        out[name] = 1.0 - order / (len(pool) - 1)
    return out


def voted_classes(index: NeighborIndex, labels: list[str | None], pool: npt.NDArray[np.float32]) -> list[str | None]:
    """Each pool picture's class by the vote of its `VOTERS` nearest labeled examples (in `index`)."""
    if not len(index) or not len(pool):
        return [None] * len(pool)
    _, ids = index.search(pool, VOTERS)
    out: list[str | None] = []
    for row in ids:
        votes = Counter(labels[int(i)] for i in row if i >= 0 and labels[int(i)])
        out.append(votes.most_common(1)[0][0] if votes else None)
    return out
