"""The geometry the example scores are computed in: how the features are prepared (as given, centered,
standardized) and compared (cosine or Euclidean), chosen on the data itself.

Cosine on raw features fails on low-dimensional data (it throws away each example's distance from the
origin), Euclidean on raw features fails where features have different units (wine's proline is in the
thousands, its hue below one), and CLIP's image embeddings all share one large common direction that
centering removes. No single choice wins on every dataset, so `auto` tries each and keeps the one whose
10-nearest-neighbour vote predicts the given labels best (the lowest leave-one-out log-loss on a sample
of at most `CHOICE_SAMPLE` examples): the labels are noisy, but equally so for every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.index import Ids, NeighborIndex
from taxospec.scores.chunked import AffineRows, Matrix, RowMatrix, moments, row_chunks, unit_rows

GeometryName = Literal["cosine", "centered-cosine", "standardized-cosine", "euclidean", "standardized-euclidean"]
GEOMETRIES: tuple[GeometryName, ...] = (
    "cosine",
    "centered-cosine",
    "standardized-cosine",
    "euclidean",
    "standardized-euclidean",
)
CHOICE_SAMPLE = 5_000
"""Examples the automatic choice is measured on (a seeded sample beyond this)."""
ONE_GRAPH_ABOVE = 50_000
"""Examples above which `auto` considers only the geometries whose neighbour vote uses the same graph as
the distances (`cosine` on unit vectors, `euclidean`, `standardized-euclidean`): where the index is
approximate (`embeddings.index.APPROXIMATE_ABOVE`) each further k-NN search costs many seconds."""
CHOICE_NEIGHBOURS = 10


@dataclass(frozen=True)
class Space:
    """Features prepared for one geometry: `neighbours` is searched with `metric` ("ip" on unit rows,
    "l2" otherwise); `distances` is the Euclidean form of the same preparation (raw or standardized, the
    centering makes no difference there) that outliers and duplicates measure in. Both are float16 where
    the features are (above `chunked.HALF_ABOVE` rows), and standardized rows of such features are
    computed when read (`chunked.AffineRows`): their readers take a chunk of rows at a time."""

    name: GeometryName
    neighbours: RowMatrix
    metric: str
    distances: RowMatrix


def _standardized(features: Matrix) -> RowMatrix:
    mean, scale = moments(features)
    scale = np.where(scale > 1e-12, scale, 1.0)
    if features.dtype == np.float16:  # a large space: no second matrix of its size
        return AffineRows(features, mean, scale)
    out = np.empty(features.shape, dtype=features.dtype)
    for piece in row_chunks(len(features)):
        out[piece] = (features[piece] - mean) / scale
    return out


def _unit(matrix: RowMatrix, centre: npt.NDArray[np.float64] | None = None) -> RowMatrix:
    """Rows (less `centre`) scaled to unit length, zero rows kept zero, in `matrix`'s dtype; `matrix`
    itself when it has unit rows already and nothing is to be subtracted."""
    if centre is None and unit_rows(matrix, 1e-6):
        return matrix  # (float16 where the space's vectors are)
    out = np.empty(matrix.shape, dtype=matrix.dtype)
    for piece in row_chunks(len(matrix)):
        rows = matrix[piece].astype(np.float64)
        rows = rows - centre if centre is not None else rows
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        out[piece] = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out


def prepare(features: npt.ArrayLike, name: GeometryName) -> Space:
    """`features` (rows: examples) prepared for the geometry `name`, in float32 (float16 where they are
    float16: `chunked.HALF_ABOVE`) and in chunks of rows (a float64 copy of the whole would be 4 KiB an
    example); where two preparations are the same rows, one array serves both."""
    x = np.asarray(features)
    x = x if x.dtype in (np.float32, np.float16) else x.astype(np.float32)
    base = _standardized(x) if name.startswith("standardized") else x
    if name == "centered-cosine":
        neighbours, metric = _unit(x, centre=moments(x)[0]), "ip"
    elif name.endswith("cosine"):
        neighbours, metric = _unit(base), "ip"
    else:
        neighbours, metric = base, "l2"
    return Space(name, neighbours, metric, base)


def knn_log_loss(space: Space, labels: npt.NDArray[np.int64], classes: int, k: int = CHOICE_NEIGHBOURS) -> float:
    """Leave-one-out log-loss of the given labels under the `k`-nearest-neighbour vote in `space`."""
    _, ids = NeighborIndex(space.neighbours, device="cpu", metric=space.metric).knn(k)
    probabilities = vote_probabilities(ids, labels, classes)
    given = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(given, 1e-12, 1.0)).mean())


def vote_probabilities(
    ids: Ids, labels: npt.NDArray[np.int64], classes: int, smoothing: float = 1.0
) -> npt.NDArray[np.float64]:
    """Class probabilities from each example's neighbours' labels (`ids` rows, -1 padding ignored),
    smoothed towards the class shares by `smoothing` pseudo-votes. A chunk of rows at a time: the rows ×
    neighbours intermediates stay small whatever the number of rows."""
    prior = np.bincount(labels, minlength=classes) / max(1, len(labels))
    out = np.zeros((len(ids), classes), dtype=np.float64)
    for piece in row_chunks(len(ids)):
        valid = ids[piece] >= 0
        neighbour_labels = np.where(valid, labels[np.maximum(ids[piece], 0)], -1)
        counts = out[piece]
        for c in range(classes):
            counts[:, c] = (neighbour_labels == c).sum(axis=1)
        counts += smoothing * prior
        counts /= valid.sum(axis=1, keepdims=True) + smoothing
    return out


def candidates(features: npt.NDArray[np.floating[Any]], total: int | None = None) -> tuple[GeometryName, ...]:
    """The geometries `auto` chooses from for `features` (of `total` examples in all: default its rows)."""
    if (total if total is not None else len(features)) <= ONE_GRAPH_ABOVE:
        return GEOMETRIES
    unit = unit_rows(features, 1e-3)
    return ("cosine", "euclidean", "standardized-euclidean") if unit else ("euclidean", "standardized-euclidean")


def choose(
    features: npt.ArrayLike, labels: npt.NDArray[np.int64], classes: int, seed: int = 0
) -> tuple[GeometryName, dict[str, float]]:
    """The geometry whose neighbour vote fits the labels best, and the log-loss of each candidate."""
    given = np.asarray(features)
    rows: npt.NDArray[np.int64] = np.arange(len(given))
    if len(given) > CHOICE_SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(len(given), CHOICE_SAMPLE, replace=False))
    x = given[rows]
    names = candidates(x, total=len(given))
    losses: dict[str, float] = {name: knn_log_loss(prepare(x, name), labels[rows], classes) for name in names}
    best = min(names, key=lambda name: (losses[name], GEOMETRIES.index(name)))
    return best, losses
