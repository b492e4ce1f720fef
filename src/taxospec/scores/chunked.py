"""Column statistics and row-wise work over a matrix in chunks of rows, so that a float64 intermediate is
never the size of the whole (at 10 million 512-wide rows, one float64 copy is 40 GB)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CHUNK = 65_536
"""Rows prepared at a time: the float64 intermediates stay a few hundred MB whatever the size."""


def row_chunks(rows: int | npt.NDArray[np.int64]) -> list[slice | npt.NDArray[np.int64]]:
    """`rows` (a count: all rows; or row ids) in pieces of at most `CHUNK`."""
    if isinstance(rows, int):
        return [slice(start, start + CHUNK) for start in range(0, rows, CHUNK)]
    return [rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK)]


def unit_rows(matrix: npt.NDArray[np.floating], tolerance: float) -> bool:
    """Whether every row of `matrix` has length 1 within `tolerance`, read a chunk of rows at a time."""
    with np.errstate(over="ignore"):  # rows of 1e30: an infinite length, not a unit one
        return all(
            bool(np.all(np.abs(np.linalg.norm(matrix[piece], axis=1) - 1.0) <= tolerance))
            for piece in row_chunks(len(matrix))
        )


def moments(
    features: npt.NDArray[np.floating], rows: npt.NDArray[np.int64] | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each column's mean and standard deviation (over `rows`, default all), accumulated in float64 over
    chunks of rows: the whole matrix is never converted."""
    pieces = row_chunks(len(features) if rows is None else rows)
    n = len(features) if rows is None else len(rows)
    total = np.zeros(features.shape[1])
    for piece in pieces:
        total += features[piece].sum(axis=0, dtype=np.float64)
    mean = total / max(1, n)
    squares = np.zeros(features.shape[1])
    for piece in pieces:
        squares += ((features[piece].astype(np.float64) - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(squares / max(1, n))


def distances_to(
    features: npt.NDArray[np.floating], rows: npt.NDArray[np.int64], point: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The Euclidean distance of each of `rows` to `point`, computed in float64 a chunk at a time."""
    out = np.empty(len(rows))
    for at, piece in zip(row_chunks(len(rows)), row_chunks(rows), strict=True):
        out[at] = np.linalg.norm(features[piece].astype(np.float64) - point, axis=1)
    return out
