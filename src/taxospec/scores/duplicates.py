"""Near-duplicates relative to the data, in groups that cannot chain.

What "near" means depends on the features: CLIP vectors of different photos of one scene are closer than
pixels of two 8×8 digits. So the threshold is relative: two examples are near-duplicates when their
Euclidean distance (in the prepared features) is below `relative` × the median distance of every example
to its nearest neighbour (0.25 by default, chosen on benchmarks/detection_quality.py; Cleanlab's Datalab
uses 0.13). An absolute cosine threshold can be added (the spec's `duplicates.max_similarity`).

Pairs are grouped around leaders, not chained: the example with the most near-duplicates leads a group of
every example near *it*; those leave, and the next one leads. Chaining (union-find over pairs) joins a, b
and c when a~b and b~c even if a and c are far apart, and on dense data it swallowed whole classes (144 of
iris's 150 rows in one run). A leader's group has a diameter of at most twice the threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class DuplicateScores:
    """Per example: its nearest-neighbour distance relative to the dataset's median (the duplicate score:
    below `relative` is a near-duplicate), and the groups found."""

    nearest_ratio: npt.NDArray[np.float64]
    median_nearest: float
    threshold: float
    """The distance below which two examples are near-duplicates."""
    groups: list[list[int]]


def relative_threshold(nearest: npt.NDArray[np.float64], relative: float) -> tuple[float, float]:
    """(threshold, median nearest-neighbour distance): the distance below which two examples are
    near-duplicates, `relative` × the median of the positive nearest distances (exact copies excluded, so
    that a dataset full of copies does not make its own threshold zero)."""
    finite = nearest[np.isfinite(nearest)]
    positive = finite[finite > 1e-9]
    median = float(np.median(positive)) if len(positive) else 0.0
    return relative * median, median


def leader_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Groups of the pairs' examples, each a leader and the examples paired with it (see the module)."""
    partners: dict[int, set[int]] = defaultdict(set)
    for i, j in pairs:
        if i != j:
            partners[i].add(j)
            partners[j].add(i)
    taken = np.zeros(n, dtype=bool)
    groups = []
    for leader in sorted(partners, key=lambda v: (-len(partners[v]), v)):
        if taken[leader]:
            continue
        members = [v for v in sorted(partners[leader]) if not taken[v]]
        if not members:
            continue
        group = sorted([leader, *members])
        taken[group] = True
        groups.append(group)
    return sorted(groups)


def find_duplicates(
    nearest: npt.NDArray[np.float64],
    pairs: list[tuple[int, int, float]],
    relative: float,
    extra_pairs: Iterable[tuple[int, int]] = (),
) -> DuplicateScores:
    """Groups of near-duplicates: `pairs` are (i, j, distance) candidate pairs (those within the threshold
    are kept), `extra_pairs` are pairs known by other means (identical bytes, perceptual hash, the absolute
    cosine); `nearest` is each example's distance to its nearest neighbour."""
    threshold, median = relative_threshold(nearest, relative)
    kept = [(i, j) for i, j, d in pairs if d <= threshold]
    groups = leader_groups(len(nearest), [*kept, *extra_pairs])
    ratio = np.divide(nearest, median, out=np.zeros_like(nearest), where=median > 0) if median > 0 else nearest * 0
    return DuplicateScores(np.asarray(ratio, dtype=np.float64), median, threshold, groups)
