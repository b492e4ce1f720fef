"""How well the labeled data covers the deployment sample.

A deployment picture is *covered* when its nearest labeled example is no farther than that example's
class allows: the class's upper Tukey fence of the distances from each of its examples to its nearest
labeled neighbour (the dataset's fence for a class of fewer than `MIN_CLASS` examples). So "covered" means
"as close to the labeled data as the class's own examples are to each other", calibrated per class and per
dataset rather than one cosine for every model.

Uncovered pictures of one deployment sample that look alike (nearest uncovered neighbours within the
dataset's fence, joined into connected groups) are *scenarios*; groups under `deployment.min_scenario`
pictures are scattered. The *shift score* is how well a linear probe tells labeled from deployment
pictures, out of sample: the area under its ROC curve (0.5: indistinguishable, 1: two different worlds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taxospec.deployment.describe import ZeroShot
from taxospec.embeddings.index import NeighborIndex
from taxospec.scores.chunked import RowMatrix
from taxospec.scores.outliers import tukey_fence

MIN_CLASS = 5
"""Examples a class needs for a fence of its own."""
LINKS = 5
"""Nearest uncovered neighbours each uncovered picture may join."""
PROBE_ROWS = 4000
"""Rows of each side the shift probe is fitted on (a seeded sample beyond)."""

Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Scenario:
    """A group of uncovered deployment pictures that look alike."""

    rows: Rows
    """Its deployment rows, the most central first."""
    described: dict[str, tuple[str, float]]
    """Per axis, the value most of its pictures show (zero-shot) and its share."""
    looks_like: str | None
    """The class its pictures look like (class prompts, else the nearest labeled examples' class)."""


@dataclass(frozen=True)
class CoverageResult:
    """The labeled data against the deployment sample."""

    covered: npt.NDArray[np.bool_]
    distance: npt.NDArray[np.float64]
    """Per deployment picture, the distance (1 − cosine) to its nearest labeled example."""
    nearest_class: list[str | None]
    thresholds: dict[str, float]
    """Per class (and `*` for the dataset), the distance up to which a picture is covered."""
    scenarios: list[Scenario]
    scattered: int
    """Uncovered pictures in no scenario."""
    shift_auc: dict[str, float | None]
    """Per deployment sample, how well a probe tells its pictures from the labeled data (`shift_auc`)."""


def measure_coverage(
    index: NeighborIndex,
    labels: list[str | None],
    deployment: npt.NDArray[np.float32],
    samples: list[str],
    guesses: ZeroShot,
    fence: float,
    min_scenario: int,
) -> CoverageResult:
    """Coverage of `deployment` (unit vectors, of the deployment samples named by `samples`) by the labeled
    unit vectors `index` holds (of classes `labels`): the run's shared index, whose k-NN graph gives each
    labeled example's nearest neighbour without another search."""
    own, _ = index.knn(1)
    thresholds = _thresholds(1.0 - own[:, 0].astype(np.float64), labels, fence)
    distance, nearest_class, covered = nearest_labeled(index, labels, thresholds, deployment)
    sample_of = np.asarray(samples, dtype=object)
    scenarios: list[Rows] = []
    scattered = 0
    for name in sorted(set(samples)):  # a scenario is seen by one camera, site or run
        found, left = _scenarios(
            deployment, np.flatnonzero(~covered & (sample_of == name)), thresholds["*"], min_scenario
        )
        scenarios, scattered = scenarios + found, scattered + left
    scenarios.sort(key=lambda rows: (-len(rows), int(rows[0])))
    described = [
        Scenario(rows, guesses.describe(rows), guesses.likely_class(rows) or _most(nearest_class, rows))
        for rows in scenarios
    ]
    shift = {name: shift_auc(index.vectors, deployment[sample_of == name]) for name in sorted(set(samples))}
    return CoverageResult(covered, distance, nearest_class, thresholds, described, scattered, shift)


def nearest_labeled(
    index: NeighborIndex, labels: list[str | None], thresholds: dict[str, float], pictures: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float64], list[str | None], npt.NDArray[np.bool_]]:
    """Each of `pictures`: the distance (1 − cosine) to its nearest labeled example, that example's class,
    and whether it is covered (within that class's threshold, the dataset's `*` for a class without one)."""
    sims, ids = index.search(pictures, 1)
    distance = 1.0 - sims[:, 0].astype(np.float64)
    nearest_class = [labels[int(i)] if i >= 0 else None for i in ids[:, 0]]
    limit = np.array([thresholds.get(c or "*", thresholds["*"]) for c in nearest_class])
    return distance, nearest_class, distance <= limit


def _thresholds(own_distance: npt.NDArray[np.float64], labels: list[str | None], fence: float) -> dict[str, float]:
    out = {"*": tukey_fence(own_distance, fence)}
    names = np.asarray([c or "" for c in labels], dtype=object)
    for name in sorted({c for c in labels if c}):
        of_class = own_distance[names == name]
        if len(of_class) >= MIN_CLASS:
            out[name] = tukey_fence(of_class, fence)
    return out


def _scenarios(
    vectors: npt.NDArray[np.float32], uncovered: Rows, link: float, min_scenario: int
) -> tuple[list[Rows], int]:
    """Groups of uncovered rows joined by near neighbours, largest first, each ordered from its most
    central picture; and how many uncovered rows are in no group of `min_scenario`. Two pictures are
    joined within `link` (the labeled data's own nearest-neighbour fence) or within the uncovered
    pictures' own fence, whichever is wider: a scenario seen a few times is sparser than the labeled data."""
    from taxospec.embeddings.index import NeighborIndex

    if len(uncovered) == 0:
        return [], 0
    if len(uncovered) == 1:
        return ([uncovered] if min_scenario <= 1 else []), (0 if min_scenario <= 1 else 1)
    points = vectors[uncovered]
    sims, ids = NeighborIndex(points, device="cpu").knn(min(LINKS, len(points) - 1))
    link = max(link, tukey_fence(1.0 - sims[:, 0].astype(np.float64), 1.5))
    pairs = [
        (i, int(j))
        for i in range(len(points))
        for s, j in zip(sims[i], ids[i], strict=True)
        if j >= 0 and 1 - s <= link
    ]
    groups = [g for g in components(len(points), pairs) if len(g) >= min_scenario]
    grouped = sum(len(g) for g in groups)
    out = []
    for group in sorted(groups, key=lambda g: (-len(g), min(g))):
        members = points[group]
        centre = members.mean(axis=0)
        order = np.argsort(-(members @ centre), kind="stable")
        out.append(uncovered[np.asarray(group)[order]])
    return out, len(uncovered) - grouped


def components(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """The connected groups of `n` points joined by `pairs` (single points included), each sorted."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _most(names: list[str | None], rows: Rows) -> str | None:
    found = [name for r in rows if (name := names[int(r)])]
    return max(sorted(set(found)), key=found.count) if found else None


def shift_auc(labeled: RowMatrix, deployment: npt.NDArray[np.float32]) -> float | None:
    """How well a ridge probe tells `deployment` from `labeled` out of sample (leave-one-out), as the area
    under its ROC curve, on at most `PROBE_ROWS` of each (only those rows of a large space are read);
    None when either side has fewer than 5 pictures."""
    from taxospec.scores.probe import ridge_probe

    if len(labeled) < 5 or len(deployment) < 5:
        return None
    rng = np.random.default_rng(0)
    left = labeled[rng.permutation(len(labeled))[:PROBE_ROWS]]
    right = deployment[rng.permutation(len(deployment))[:PROBE_ROWS]]
    features = np.vstack([left, right]).astype(np.float64)
    sides = np.r_[np.zeros(len(left), dtype=np.int64), np.ones(len(right), dtype=np.int64)]
    probabilities, _ = ridge_probe(features, sides, 2)
    return round(auc(probabilities[:, 1], sides), 4)


def auc(scores: npt.NDArray[np.float64], positive: npt.NDArray[np.int64]) -> float:
    """The area under the ROC curve of `scores` for the rows where `positive` is 1 (ties count half)."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    ordered = scores[order]
    for value in np.unique(ordered[1:][np.diff(ordered) == 0]):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    return float((ranks[positive == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
