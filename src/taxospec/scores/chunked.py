"""Column statistics and row-wise work over a matrix in chunks of rows, so that a float64 intermediate is
never the size of the whole (at 10 million 512-wide rows, one float64 copy is 40 GB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

CHUNK = 65_536
"""Rows prepared at a time: the float64 intermediates stay a few hundred MB whatever the size."""
HALF_ABOVE = 500_000
"""Rows above which the large matrices of a check (the space's vectors, the features the scores are
computed in) are held in float16, half of float32's 2 KiB a 512-wide row: above `APPROXIMATE_ABOVE` the
neighbour index holds them in float16 already, and the cache stores vectors in float16, so the search
loses nothing it had; every reader converts a chunk of rows at a time (`float32_rows`, `products`)."""
HALF_TOLERANCE = 4e-3
"""How far from 1 the length of a unit row held in float16 may be (its components carry ~3 decimals)."""

Matrix = npt.NDArray[np.floating[Any]]
"""A matrix of rows in float64, float32 or (a large space's) float16."""


def row_chunks(rows: int | npt.NDArray[np.int64]) -> list[slice | npt.NDArray[np.int64]]:
    """`rows` (a count: all rows; or row ids) in pieces of at most `CHUNK`."""
    if isinstance(rows, int):
        return [slice(start, start + CHUNK) for start in range(0, rows, CHUNK)]
    return [rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK)]


def stored_dtype(rows: int) -> type[np.floating[Any]]:
    """The dtype a matrix of `rows` rows is held in: float16 above `HALF_ABOVE`, float32 below."""
    return np.float16 if rows > HALF_ABOVE else np.float32


def held_dtype(matrix: Matrix) -> type[np.floating[Any]]:
    """The dtype `matrix` is held in: float16 where it is float16 already (below the size too: nothing to
    gain by widening it) or has more than `HALF_ABOVE` rows, float32 otherwise."""
    return np.float16 if matrix.dtype == np.float16 else stored_dtype(len(matrix))


def stored(matrix: Matrix) -> Matrix:
    """`matrix` in the dtype it is held in (`held_dtype`): itself when it is in it already, else a copy
    converted a chunk of rows at a time."""
    dtype = held_dtype(matrix)
    if matrix.dtype == dtype:
        return matrix
    out = np.empty(matrix.shape, dtype=dtype)
    for piece in row_chunks(len(matrix)):
        out[piece] = matrix[piece]
    return out


def float32_rows(matrix: RowMatrix, piece: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """The rows `piece` of `matrix` as a contiguous float32 array (faiss and BLAS read no float16)."""
    return np.ascontiguousarray(matrix[piece], dtype=np.float32)


def products(matrix: Matrix, other: Matrix) -> npt.NDArray[np.float32]:
    """`matrix @ other` in float32, a chunk of `matrix`'s rows at a time (a float16 `matrix` is never
    converted whole)."""
    right = np.asarray(other, dtype=np.float32)
    out = np.empty((len(matrix), right.shape[1]), dtype=np.float32)
    for piece in row_chunks(len(matrix)):
        out[piece] = float32_rows(matrix, piece) @ right
    return out


def nonzero_rows(matrix: RowMatrix) -> npt.NDArray[np.bool_]:
    """Whether each row of `matrix` has a component other than 0 (a direction), a chunk of rows at a time."""
    pieces = [np.any(matrix[piece] != 0, axis=1) for piece in row_chunks(len(matrix))]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=bool)


def unit_rows(matrix: RowMatrix, tolerance: float) -> bool:
    """Whether every row of `matrix` has length 1 within `tolerance` (at least `HALF_TOLERANCE` for float16
    rows), read a chunk of rows at a time."""
    tolerance = max(tolerance, HALF_TOLERANCE) if matrix.dtype == np.float16 else tolerance
    with np.errstate(over="ignore"):  # rows of 1e30: an infinite length, not a unit one
        return all(
            bool(np.all(np.abs(np.linalg.norm(float32_rows(matrix, piece), axis=1) - 1.0) <= tolerance))
            for piece in row_chunks(len(matrix))
        )


def moments(
    features: RowMatrix, rows: npt.NDArray[np.int64] | None = None
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
    features: RowMatrix, rows: npt.NDArray[np.int64], point: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The Euclidean distance of each of `rows` to `point`, computed in float64 a chunk at a time."""
    out = np.empty(len(rows))
    for at, piece in zip(row_chunks(len(rows)), row_chunks(rows), strict=True):
        out[at] = np.linalg.norm(features[piece].astype(np.float64) - point, axis=1)
    return out


@dataclass(frozen=True)
class AffineRows:
    """The rows of `base` less `mean` over `scale`, computed when read (`rows[piece]`, in `base`'s dtype):
    a large space's standardized features without a second matrix the size of the space (1 KiB an
    example at 512 float16 columns). Read it as a matrix is read, a chunk of rows at a time."""

    base: Matrix
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns), as the matrix it stands for."""
        return (int(self.base.shape[0]), int(self.base.shape[1]))

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype its rows are given in: `base`'s."""
        return self.base.dtype

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, piece: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.floating[Any]]:
        rows = (np.asarray(self.base[piece], dtype=np.float32) - self.mean) / self.scale
        return rows.astype(self.base.dtype)


RowMatrix = Matrix | AffineRows
"""A matrix held whole, or one whose rows are computed when read (`AffineRows`)."""
