"""Exact k-nearest-neighbour graphs pruned by the triangle inequality, for `findings_agreement.py`: the
same neighbours as brute force (faiss's flat index) where the data has cluster structure to prune by, for
a fraction of its n² work.

The rows are split into `CELLS` cells by k-means. Each cell's rows search the cells in order of their
centres' distance; a row `x` of cell `B` is skipped for a query `q` when `‖q − c_B‖ − ‖x − c_B‖` (a lower
bound of `‖q − x‖`) is beyond `q`'s current (k+1)-th distance, as it cannot then be nearer: with each
cell's rows ordered farthest from its centre first, what is left is a prefix of the cell. The bound is
exact; its margin (`SLACK`) only makes it skip less. Inner product is searched as Euclidean distance after
two columns are added, one to the rows searched (`x' = [x, √(M² − ‖x‖²), 0]`) and the other to the queries
(`q' = [q, 0, √(M² − ‖q‖²)]`): both have length `M`, so `‖q' − x'‖² = 2M² − 2q·x` and the nearest `x'` is
the `x` of largest `q·x`, for rows of any length (the bound holds for any two points). An earlier version
searched the rows lifted by one column with themselves as queries, which is exact only for rows of one
length: on float16-rounded unit rows, as the 1-million space is held, it shared 99.89 % of the flat
inner-product index's neighbours.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

CELLS = 64
CHECKED = 1000
"""Random rows searched again by brute force after each graph, the share of neighbours printed."""
GROUP = 2048
"""Queries searched together against the longest prefix any of them needs."""
SLACK = 1e-3
"""Relative margin on the bound (float32 distances are computed as ‖q‖² + ‖x‖² − 2q·x)."""


def knn(rows: npt.NDArray[np.float32], k: int, metric: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Every row's `k` nearest other rows, best first: similarities as `NeighborIndex.knn` gives them
    (inner products for "ip", −squared distances for "l2") and ids."""
    import faiss

    x, queries = _lifted(rows) if metric == "ip" else (np.ascontiguousarray(rows, dtype=np.float32),) * 2
    kmeans = faiss.Kmeans(x.shape[1], CELLS, niter=10, seed=0, max_points_per_centroid=256)
    kmeans.train(x)
    own_distance, cell = kmeans.index.search(x, 1)
    # the rows cell by cell (each cell a slice), in each the farthest from its centre first
    order = np.lexsort((-own_distance[:, 0], cell[:, 0]))
    x = x[order]
    queries = queries[order] if metric == "ip" else x  # ("l2": the rows are their own queries, one copy)
    radii = np.sqrt(np.maximum(own_distance[order, 0].astype(np.float64), 0.0))
    bounds = np.searchsorted(cell[order, 0], np.arange(CELLS + 1))
    cells = [slice(int(bounds[c]), int(bounds[c + 1])) for c in range(CELLS)]
    best = np.full((len(x), k + 1), np.inf, dtype=np.float32)
    ids = np.full((len(x), k + 1), -1, dtype=np.int64)
    searched = 0
    for a, own in enumerate(cells):
        if own.stop > own.start:
            searched += _search_from(x, queries[own], own, kmeans.centroids, cells, radii, best, ids)
        print(f"  pruned exact: cell {a + 1} of {CELLS}, {searched / len(x) ** 2:.1%} of n²", file=sys.stderr)
    unsorted_best, unsorted_ids = np.empty_like(best), np.empty_like(ids)
    unsorted_best[order], unsorted_ids[order] = best, order[ids]
    _check_against_brute_force(rows, unsorted_ids, metric)
    return _without_self(unsorted_best, unsorted_ids, k, rows, metric)


def _check_against_brute_force(rows: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], metric: str) -> None:
    """Search `CHECKED` random rows by faiss's brute force (on the rows themselves, in `metric`) and print
    the share of their neighbours `ids` also gives."""
    import faiss

    checked = np.random.default_rng(0).choice(len(rows), size=min(CHECKED, len(rows)), replace=False)
    x = np.ascontiguousarray(rows, dtype=np.float32)
    kind = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
    _, brute = faiss.knn(x[checked], x, ids.shape[1], metric=kind)
    pairs = zip(brute, ids[checked], strict=True)
    shared = np.mean([len(set(a.tolist()) & set(b.tolist())) / ids.shape[1] for a, b in pairs])
    print(f"  pruned exact: {len(checked)} random rows by brute force, neighbours shared {shared:.5f}", file=sys.stderr)


def _lifted(rows: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The rows searched and the queries, each with two columns added, so that Euclidean nearness between
    them is inner-product order."""
    x = np.asarray(rows, dtype=np.float32)
    squared = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    extra = np.sqrt(np.maximum(squared.max() - squared, 0.0)).astype(np.float32)[:, None]
    zero = np.zeros_like(extra)
    return np.ascontiguousarray(np.hstack([x, extra, zero])), np.ascontiguousarray(np.hstack([x, zero, extra]))


def _search_from(
    x: npt.NDArray[np.float32],
    q: npt.NDArray[np.float32],
    queries: slice,
    centres: npt.NDArray[np.float32],
    cells: list[slice],
    radii: npt.NDArray[np.float64],
    best: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
) -> int:
    """Search one cell's queries (`q`, those of the rows `queries`) against the rows of every cell the bound
    cannot rule out, nearest cells first, merging into `best` (squared distances) and `ids` (rows of `x`);
    the distances computed. A row `x` of cell `b` can be nearer to `q` than `q`'s current (k+1)-th (`t`) only if
    `‖x − c_b‖ ≥ ‖q − c_b‖ − t`: as a cell's rows are ordered farthest first, those are a prefix of it."""
    import faiss

    to_centres = np.sqrt(np.maximum(_squared(q, centres), 0.0))
    searched = 0
    for b in np.argsort(to_centres.mean(axis=0)).tolist():
        cell = cells[b]
        kth = np.sqrt(best[queries, -1].astype(np.float64))
        with np.errstate(invalid="ignore"):  # (inf - inf where nothing is found yet: every row is eligible)
            least = to_centres[:, b] - kth - SLACK * (to_centres[:, b] + kth)
        eligible = np.searchsorted(-radii[cell], -np.nan_to_num(least, nan=-np.inf), side="right")
        active = np.flatnonzero(eligible > 0)
        active = active[np.argsort(eligible[active], kind="stable")]
        for start in range(0, len(active), GROUP):
            group = active[start : start + GROUP]
            prefix = int(eligible[group].max())
            found, found_ids = faiss.knn(q[group], x[cell.start : cell.start + prefix], min(best.shape[1], prefix))
            _merge(best, ids, queries.start + group, found, cell.start + found_ids)
            searched += len(group) * prefix
    return searched


def _squared(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Squared distances between the rows of `a` and of `b`."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2 * a64 @ b64.T


def _merge(
    best: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    found: npt.NDArray[np.float32],
    found_ids: npt.NDArray[np.int64],
) -> None:
    """Keep the nearest `best.shape[1]` of each row's current and found neighbours."""
    width = best.shape[1]
    distances = np.hstack([best[rows], found])
    candidates = np.hstack([ids[rows], found_ids])
    keep = np.argsort(distances, axis=1, kind="stable")[:, :width]
    best[rows] = np.take_along_axis(distances, keep, axis=1)
    ids[rows] = np.take_along_axis(candidates, keep, axis=1)


def _without_self(
    best: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], k: int, rows: npt.NDArray[np.float32], metric: str
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The `k` nearest others of each row, as similarities: −squared distance, or for "ip" the inner
    products themselves (recomputed from the rows, not from the lifted distances)."""
    from taxospec.embeddings.index import _leave_out

    n = len(ids)
    negated, out_ids = _leave_out(-best, ids, np.arange(n), k)  # the self-exclusion of `NeighborIndex.knn`
    if metric == "l2":
        return negated, out_ids
    sims = np.empty(out_ids.shape, dtype=np.float32)
    for start in range(0, n, 10_000):  # (the neighbours' rows of every row at once would be n·k·d)
        x = np.asarray(rows[start : start + 10_000], dtype=np.float32)
        near = np.asarray(rows[out_ids[start : start + 10_000]], dtype=np.float32)
        sims[start : start + 10_000] = np.einsum("ij,ikj->ik", x, near)
    return sims, out_ids


@contextmanager
def instead_of_flat(above: int = 100_000) -> Iterator[None]:
    """Within: the k-NN graph of an exact CPU `NeighborIndex` over more than `above` vectors is searched
    by `knn` here (the same neighbours as its flat index, for a fraction of the work)."""
    from taxospec.embeddings.index import NeighborIndex
    from taxospec.scores.chunked import float32_rows

    flat_knn = NeighborIndex.knn

    def pruned_knn(self: Any, k: int) -> tuple[Any, Any]:
        k = max(1, k)
        fresh = not any(key >= k for key in self._knn)
        if not fresh or self.approximate or self.on_gpu or self.torch_search is not None or len(self) <= above:
            return flat_knn(self, k)
        rows = float32_rows(self.vectors, slice(None))
        sims, ids = knn(rows, k, self.metric)
        self._knn[k] = (sims, ids.astype(np.int32 if len(rows) < 2**31 else np.int64))
        return self._knn[k]

    NeighborIndex.knn = pruned_knn  # type: ignore[method-assign]
    try:
        yield
    finally:
        NeighborIndex.knn = flat_knn  # type: ignore[method-assign]
