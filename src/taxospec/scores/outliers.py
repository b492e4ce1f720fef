"""Outliers: examples no class explains, kept apart from mislabels (which another class explains).

Two distances per example, both Euclidean in the prepared features (`geometry.Space.distances`):
- *class distance*: the mean distance to its `k` nearest examples of its own label;
- *any distance*: the mean distance to its `k` nearest examples of any label.

An example is an outlier when its class distance is beyond its class's Tukey fence (Q3 + `class_fence` ×
IQR, per class: a diverse class is not punished for its spread) and no other class explains it either:
- it is far from everything (any distance beyond the dataset's fence, `any_fence`), or
- no class is confident about it (confident learning's "confidently none": no class reaches its own
  threshold), which catches a cluster of things the taxonomy does not have: its members are near each
  other, so their any distance is small, but the labels they were given at random agree with nothing; or
- the class the evidence suggests does not take it in either: its mean distance to its `k` nearest
  examples of that class is beyond that class's inner fence (Q3 + `explained_fence` × IQR, 1.5 by
  default): a mislabel sits among its true class as its own examples do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.index import NeighborIndex, exact_search
from taxospec.scores.chunked import RowMatrix, float32_rows

MIN_CLASS = 5
"""Examples a class needs for its own fence (smaller classes take the fence of all classes together)."""
FENCE_SAMPLE = 4_096
"""Examples searched exactly for a fence over an approximate graph: a class's fences, and the dataset's
any-class fence (0: the fence of the approximate distances of all its examples)."""


@dataclass(frozen=True)
class OutlierScores:
    """Per example: its two distances and the fences it was measured against."""

    class_distance: npt.NDArray[np.float64]
    any_distance: npt.NDArray[np.float64]
    class_fence: npt.NDArray[np.float64]
    """The fence of each example's class, at its row."""
    any_fence: float
    flagged: npt.NDArray[np.bool_]

    @property
    def score(self) -> npt.NDArray[np.float64]:
        """Class distance over its class's fence: above 1 is beyond it (0 where undefined)."""
        ratio = np.divide(
            self.class_distance,
            self.class_fence,
            out=np.zeros_like(self.class_distance),
            where=self.class_fence > 0,
        )
        return np.asarray(np.nan_to_num(ratio), dtype=np.float64)


@dataclass(frozen=True)
class Quartiles:
    """The first and third quartiles of a set of distances, from which its Tukey fences come."""

    q1: float
    q3: float

    @classmethod
    def of(cls, values: npt.NDArray[np.float64]) -> Quartiles:
        """The quartiles of the finite `values` (both inf when there are none: every fence is inf)."""
        finite = values[np.isfinite(values)]
        if not len(finite):
            return cls(float("inf"), float("inf"))
        q1, q3 = np.percentile(finite, [25, 75])
        return cls(float(q1), float(q3))

    def fence(self, factor: float) -> float:
        """Q3 + `factor` × IQR."""
        if np.isinf(self.q3) and np.isinf(self.q1):
            return self.q3
        return self.q3 + factor * (self.q3 - self.q1)

    def corrected(self, approximate_sample: Quartiles, exact_sample: Quartiles) -> Quartiles:
        """These quartiles of approximate distances moved by a sample's difference between its exact and its
        approximate quartiles (see `corrected_fence`; a fence is linear in the quartiles, so correcting the
        quartiles corrects every fence)."""
        return Quartiles(
            self.q1 + exact_sample.q1 - approximate_sample.q1,
            self.q3 + exact_sample.q3 - approximate_sample.q3,
        )


def tukey_fence(values: npt.NDArray[np.float64], factor: float) -> float:
    """Q3 + `factor` × IQR of the finite `values` (inf when there are none)."""
    return Quartiles.of(values).fence(factor)


def corrected_fence(
    approximate: npt.NDArray[np.float64],
    approximate_sample: npt.NDArray[np.float64],
    exact_sample: npt.NDArray[np.float64],
    factor: float,
) -> float:
    """The Tukey fence of the exact distances of all examples, from their `approximate` distances and a
    sample's distances both ways: the approximate distances' fence moved by the sample's difference between
    its exact and its approximate fence. The two ways of one example move together, so the difference varies
    less from sample to sample than the sample's own fence; with the sample every example, the exact fence."""
    quartiles = Quartiles.of(approximate).corrected(Quartiles.of(approximate_sample), Quartiles.of(exact_sample))
    return quartiles.fence(factor)


def mean_distance(similarities: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Mean Euclidean distance from the "l2" index's similarities (−squared distance), padding ignored."""
    squared = np.where(np.isfinite(similarities), -similarities.astype(np.float64), np.nan)
    with np.errstate(invalid="ignore"):
        distance = np.sqrt(np.maximum(squared, 0.0))
        counts = np.isfinite(distance).sum(axis=1)
        total = np.nansum(distance, axis=1)
    return np.asarray(np.where(counts > 0, total / np.maximum(counts, 1), np.nan))


def class_distances(
    distances: RowMatrix, labels: npt.NDArray[np.int64], k: int, device: str = "cpu"
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Each example's mean distance to its `k` nearest examples of the same label (NaN: alone), and per
    example whether its class's graph was approximate (`NeighborIndex.approximate`: a larger class)."""
    out = np.full(len(labels), np.nan)
    approximate = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels[labels >= 0]).tolist():
        members = np.flatnonzero(labels == c)
        if len(members) < 2:
            continue
        index = NeighborIndex(distances[members], device=device, metric="l2")
        sims, _ = index.knn(min(k, len(members) - 1))
        out[members] = mean_distance(sims)
        approximate[members] = index.approximate
    return out, approximate


def exact_class_distance(
    distances: RowMatrix, labels: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], k: int
) -> npt.NDArray[np.float64]:
    """The class distance of the examples `rows` by exact search among their class (brute force: rows ×
    class work)."""
    out = np.full(len(rows), np.nan)
    for c in np.unique(labels[rows]).tolist():
        members = np.flatnonzero(labels == c)
        asked = labels[rows] == c
        if c < 0 or len(members) < 2:
            continue
        sims, _ = exact_search(
            distances,
            float32_rows(distances, rows[asked]),
            min(k, len(members) - 1),
            among=members,
            exclude=rows[asked],
        )
        out[asked] = mean_distance(sims)
    return out


def find_outliers(
    distances: RowMatrix,
    labels: npt.NDArray[np.int64],
    any_similarities: npt.NDArray[np.float32],
    confidently_none: npt.NDArray[np.bool_] | None,
    *,
    k: int,
    class_fence: float,
    any_fence: float,
    suggested: npt.NDArray[np.int64] | None = None,
    explained_fence: float = 1.5,
    any_approximate: bool = False,
    device: str = "cpu",
) -> OutlierScores:
    """Outliers among the rows of `distances` (examples without a label, -1, are measured by their any
    distance alone). `any_similarities` is the shared "l2" k-NN graph's similarities over the same rows
    (`any_approximate`: from an approximate index); `suggested` the class the label evidence favours per row
    (-1: none).

    An approximate search finds no nearer neighbours than the exact one, so its distances are never below
    the exact ones: the examples it puts beyond a fence are searched again exactly (`exact_search`) before
    they are flagged, and each fence over an approximate graph is corrected by a sample searched exactly
    (`corrected_fence`)."""
    own, approximate = class_distances(distances, labels, k, device)
    fences, inner = class_fences(distances, labels, own, approximate, k, (class_fence, explained_fence))
    again = np.flatnonzero(approximate & (np.nan_to_num(own, nan=-np.inf) > fences + 1e-12))
    own[again] = exact_class_distance(distances, labels, again, k)
    beyond_class = np.where(labels >= 0, np.nan_to_num(own, nan=-np.inf) > fences + 1e-12, True)
    anywhere = mean_distance(any_similarities[:, :k])
    exact_any = partial(exact_any_distance, distances, k=k)
    any_quartiles = (
        sampled_quartiles(anywhere, np.arange(len(labels)), exact_any, np.random.default_rng(0))
        if any_approximate
        else Quartiles.of(anywhere)
    )
    any_limit = any_quartiles.fence(any_fence)
    if any_approximate:
        again = np.flatnonzero(beyond_class & (anywhere > any_limit + 1e-12))
        anywhere[again] = exact_any(again)
    far_everywhere = anywhere > any_limit + 1e-12
    beyond_class &= np.where(labels >= 0, True, far_everywhere)
    unexplained = confidently_none.copy() if confidently_none is not None else np.zeros(len(labels), dtype=bool)
    if suggested is not None:
        unexplained |= _not_taken_in(distances, labels, suggested, beyond_class, inner, k)
    flagged = beyond_class & (far_everywhere | unexplained)
    return OutlierScores(own, anywhere, fences, any_limit, np.asarray(flagged, dtype=bool))


def exact_any_distance(distances: RowMatrix, rows: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.float64]:
    """The any distance of the examples `rows` by exact search among all (brute force: rows × all work)."""
    sims, _ = exact_search(distances, float32_rows(distances, rows), k, exclude=rows)
    return mean_distance(sims)


def class_fences(
    distances: RowMatrix,
    labels: npt.NDArray[np.int64],
    own: npt.NDArray[np.float64],
    approximate: npt.NDArray[np.bool_],
    k: int,
    factors: tuple[float, float],
) -> tuple[npt.NDArray[np.float64], dict[int, float]]:
    """Per example its class's Tukey fence (`factors[0]`), and per class its inner fence (`factors[1]`), on
    the class distances `own`; where a class's graph was `approximate`, corrected by the exact class
    distances of a seeded sample of `FENCE_SAMPLE` of its examples (`corrected_fence`: an approximate search
    misses more of the nearest for some examples than for others, so its quartiles are not the exact ones).
    A class of fewer than `MIN_CLASS` takes the fence of all classes together (`pooled_quartiles`)."""
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    small = (counts < MIN_CLASS).any()
    pooled = pooled_quartiles(distances, labels, own, approximate, k) if small else Quartiles.of(own)
    fences = np.full(len(labels), pooled.fence(factors[0]))
    inner: dict[int, float] = {}
    rng = np.random.default_rng(0)
    exact_own = partial(exact_class_distance, distances, labels, k=k)
    for c in classes[counts >= MIN_CLASS].tolist():
        members = np.flatnonzero(labels == c)
        approximated = approximate[members].any()
        quartiles = sampled_quartiles(own, members, exact_own, rng) if approximated else Quartiles.of(own[members])
        fences[members] = quartiles.fence(factors[0])
        inner[int(c)] = quartiles.fence(factors[1])
    return fences, inner


def pooled_quartiles(
    distances: RowMatrix,
    labels: npt.NDArray[np.int64],
    own: npt.NDArray[np.float64],
    approximate: npt.NDArray[np.bool_],
    k: int,
) -> Quartiles:
    """The quartiles of the class distances `own` of all labelled examples together; where some class's
    graph was `approximate`, corrected by the exact class distances of a seeded sample of `FENCE_SAMPLE` of
    them (drawn from all classes alike, so that it stands for the pooled distances)."""
    measured = np.flatnonzero((labels >= 0) & np.isfinite(own))
    if not approximate[measured].any():
        return Quartiles.of(own)
    exact_own = partial(exact_class_distance, distances, labels, k=k)
    return sampled_quartiles(own, measured, exact_own, np.random.default_rng(1))


def sampled_quartiles(
    approximate: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    exact: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]],
    rng: np.random.Generator,
) -> Quartiles:
    """The quartiles of the `approximate` distances of `rows`, corrected by the `exact` distances of a
    sample of `FENCE_SAMPLE` of them drawn with `rng` (`corrected_fence`; 0: not corrected)."""
    quartiles = Quartiles.of(approximate[rows])
    if not FENCE_SAMPLE:
        return quartiles
    sample = np.sort(rng.choice(rows, size=min(FENCE_SAMPLE, len(rows)), replace=False))
    return quartiles.corrected(Quartiles.of(approximate[sample]), Quartiles.of(exact(sample)))


def _not_taken_in(
    distances: RowMatrix,
    labels: npt.NDArray[np.int64],
    suggested: npt.NDArray[np.int64],
    candidates: npt.NDArray[np.bool_],
    class_fences: dict[int, float],
    k: int,
) -> npt.NDArray[np.bool_]:
    """Per row: a candidate whose suggested (other) class keeps it beyond that class's (inner) fence, by
    exact search among that class's examples (a few candidates each: rows × class work)."""
    out = np.zeros(len(labels), dtype=bool)
    asked = candidates & (suggested >= 0) & (suggested != labels)
    for c in np.unique(suggested[asked]).tolist():
        members = np.flatnonzero(labels == c)
        if int(c) not in class_fences or len(members) < 2:
            continue
        rows = np.flatnonzero(asked & (suggested == c))
        sims, _ = exact_search(distances, float32_rows(distances, rows), min(k, len(members)), among=members)
        out[rows] = mean_distance(sims) > class_fences[int(c)] + 1e-12
    return out
