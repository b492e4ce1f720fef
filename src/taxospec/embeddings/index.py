"""The FAISS index over an embedding space: k-NN graph and range search, computed once and shared.

Exact inner-product search (`IndexFlatIP`, cosine on unit vectors; `IndexFlatL2` for the Euclidean
metric, whose "similarity" is the negative squared distance, so that larger is nearer either way) up to
`APPROXIMATE_ABOVE` vectors;
above it an inverted-file index (√n lists, 8 probed), which benchmarks/index_crossover.py measured
against the exact one; its lists hold the vectors in float16 (IVF-SQfp16: the cache's precision, so
nothing is lost, in half the memory of float32, and faster to scan — benchmarks/index_at_scale.py chose it
over IVF-Flat and IVF-PQ at 1, 2 and 5 million vectors); above `EIGHT_BIT_ABOVE` vectors they hold 8-bit
codes (IVF-SQ8: half of that again, at a measured cost in recall). Where the search may use a GPU (`device`
"cuda", or "auto" above `GPU_SEARCH_ABOVE` vectors): faiss's GPU index when faiss is built for GPUs, else
exact search with torch on the GPU (`TorchSearch`), at any size.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.torch_search import TorchSearch, cuda_available
from taxospec.scores.chunked import AffineRows, RowMatrix, float32_rows, row_chunks, stored_dtype

RANGE_SEARCH_UP_TO = 50_000
"""Vectors up to which near-duplicate pairs come from a range search rather than the k-NN graph."""
APPROXIMATE_ABOVE = 50_000
"""Vectors above which the index is approximate (see benchmarks/README.md for where it pays)."""
GPU_SEARCH_ABOVE = 20_000
"""Vectors above which `device="auto"` searches on a GPU when there is one (below, the CPU is as quick)."""
Ids = npt.NDArray[np.signedinteger[Any]]
"""Row ids of neighbours (-1: none): int32 in the k-NN graph of fewer than 2**31 vectors (half of int64's
memory: 128 bytes an example at 32 neighbours), int64 from a search."""
EIGHT_BIT_ABOVE = 5_000_000
"""Vectors above which the inverted file holds each component in 8 bits over its trained range (IVF-SQ8:
512 bytes a 512-wide vector, half of float16's) — benchmarks/index_at_scale.py at 1 million: recall@10
0.954 against 0.981 for float16 lists, planted twins found first by both; below it the float16 lists."""
QUERY_CHUNK = 65_536
"""Vectors searched at a time for the k-NN graph: the search's result and sorting buffers stay bounded
(for all of 1 million at once they were some 2 GB)."""


class NeighborIndex:
    """k nearest neighbours and range queries over unit vectors, each computed once per parameter."""

    def __init__(
        self,
        vectors: RowMatrix,
        *,
        approximate_above: int = APPROXIMATE_ABOVE,
        device: str = "auto",
        metric: str = "ip",
    ) -> None:
        """Index `vectors`; `device` is "cpu", "cuda" (a GPU when faiss or torch can use one) or "auto"
        (a GPU above `GPU_SEARCH_ABOVE` vectors); "torch:DEVICE" forces the torch search on DEVICE.
        `metric` is "ip" (inner product: cosine on unit vectors) or "l2" (similarity = −squared distance)."""
        if metric not in ("ip", "l2"):
            raise ValueError(f"unknown metric {metric!r}")
        self.metric = metric
        # float16 rows and rows computed when read (a large space's: `scores.chunked.HALF_ABOVE`) are kept
        # as they are and given to faiss a chunk at a time; anything else is held as float32
        self.vectors: RowMatrix = (
            vectors
            if isinstance(vectors, AffineRows) or vectors.dtype == np.float16
            else np.ascontiguousarray(vectors, dtype=np.float32)
        )
        n = len(self.vectors)
        self.torch_search: TorchSearch | None = None
        self._knn: dict[int, tuple[npt.NDArray[np.float32], Ids]] = {}
        wants_gpu = device == "cuda" or (device == "auto" and n > GPU_SEARCH_ABOVE)
        faiss_gpus = gpu_count() if wants_gpu else 0
        self.index: Any = None
        self._quantizer: Any = None
        if device.startswith("torch:") or (wants_gpu and faiss_gpus == 0 and cuda_available()):
            target = device.removeprefix("torch:") if device.startswith("torch:") else "cuda"
            self.torch_search = TorchSearch(float32_rows(self.vectors, slice(None)), target, metric=metric)
            self.approximate, self.on_gpu = False, target.startswith("cuda")
            return
        self.on_gpu = faiss_gpus > 0  # exact on a GPU at any size, as the torch search is
        self.approximate = n > approximate_above and not self.on_gpu
        self.index = self._faiss_index()

    def _faiss_index(self) -> Any:
        """The faiss index over `vectors`: exact, or above the approximate size the inverted file of float16
        lists (8-bit ones above `EIGHT_BIT_ABOVE`), trained on a seeded sample; on every GPU faiss sees
        where `on_gpu`."""
        import faiss

        n, dim = self.vectors.shape
        flat = faiss.IndexFlatIP if self.metric == "ip" else faiss.IndexFlatL2
        if self.approximate:
            nlist = max(16, int(np.sqrt(n)))
            quantizer = flat(dim)
            kind = faiss.METRIC_INNER_PRODUCT if self.metric == "ip" else faiss.METRIC_L2
            codes = faiss.ScalarQuantizer.QT_8bit if n > EIGHT_BIT_ABOVE else faiss.ScalarQuantizer.QT_fp16
            index: Any = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, codes, kind)
            sample = np.random.default_rng(0).permutation(n)[: min(n, nlist * 64)]
            index.train(float32_rows(self.vectors, sample))
            index.nprobe = 8
            self._quantizer = quantizer  # the IVF index does not own it
        else:
            index = flat(dim)
        if self.on_gpu:
            index = faiss.index_cpu_to_all_gpus(index)
        for piece in row_chunks(n):
            index.add(float32_rows(self.vectors, piece))
        return index

    def _searcher(self) -> Any:
        """The faiss index, built again where `knn` let a large approximate one go."""
        if self.index is None:
            self.index = self._faiss_index()
        return self.index

    def __len__(self) -> int:
        return len(self.vectors)

    def knn(self, k: int) -> tuple[npt.NDArray[np.float32], Ids]:
        """Similarities and ids of each vector's `k` nearest others (itself excluded), best first.

        Rows with fewer than `k` others are padded with id -1 and similarity -inf.
        """
        k = max(1, k)
        cached = next((v for key, v in sorted(self._knn.items()) if key >= k), None)
        if cached is not None:
            return cached[0][:, :k], cached[1][:, :k]
        if self.torch_search is not None:
            self._knn[k] = self.torch_search.knn(k)
            return self._knn[k]
        n = len(self.vectors)
        out_ids: Ids = np.full((n, k), -1, dtype=np.int32 if n < 2**31 else np.int64)  # 4 bytes a neighbour
        out_sims = np.full((n, k), -np.inf, dtype=np.float32)
        for start in range(0, n, QUERY_CHUNK):  # the search's buffers for a chunk of queries, not for all
            rows = slice(start, min(n, start + QUERY_CHUNK))
            sims, ids = self._searcher().search(float32_rows(self.vectors, rows), min(k + 1, n))
            if self.metric == "l2":
                sims = -sims  # faiss gives squared distances, smallest first
            width = min(k, ids.shape[1])
            own = np.arange(rows.start, rows.stop)
            out_sims[rows, :width], out_ids[rows, :width] = _leave_out(sims, ids, own, width)
        self._knn[k] = (out_sims, out_ids)
        if self.approximate and stored_dtype(n) == np.float16:  # a large space's (`HALF_ABOVE`)
            # the graph is what the checks read: the inverted file (0.5 to 1 KiB a vector) goes before the next
            # geometry builds its own; a later search builds it again
            self.index = self._quantizer = None
        return out_sims, out_ids

    def search(self, queries: npt.NDArray[np.float32], k: int) -> tuple[npt.NDArray[np.float32], Ids]:
        """Similarities and ids of the `k` nearest indexed vectors to each of `queries` (other vectors than
        the indexed ones: nothing is excluded), best first; padded with id -1 and similarity -inf."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self.vectors)))
        if self.torch_search is not None:
            return self.torch_search.search(queries, k)
        sims, ids = self._searcher().search(queries, k)
        if self.metric == "l2":
            sims = -sims
        sims = np.where(ids >= 0, sims, -np.inf).astype(np.float32)
        return sims, ids.astype(np.int64)

    def pairs_above(self, threshold: float, k: int = 32) -> list[tuple[int, int, float]]:
        """Every pair (i < j) with cosine similarity ≥ `threshold`.

        Up to `RANGE_SEARCH_UP_TO` vectors, FAISS range search (exact, any group size), and with the torch
        search at any size; above, and on approximate or faiss GPU indexes, the shared `k`-neighbour graph,
        which finds every pair in groups of up to `k` near-copies (byte-identical media is grouped by
        content hash whatever the size).
        """
        if self.torch_search is not None:
            return self.torch_search.pairs_above(threshold)
        pairs: list[tuple[int, int, float]] = []
        if not self.approximate and not self.on_gpu and len(self.vectors) <= RANGE_SEARCH_UP_TO:
            radius = float(threshold) if self.metric == "ip" else -float(threshold)
            lims, sims, ids = self._searcher().range_search(float32_rows(self.vectors, slice(None)), radius)
            if self.metric == "l2":
                sims = -sims
            for i in range(len(self.vectors)):
                for j, s in zip(ids[lims[i] : lims[i + 1]], sims[lims[i] : lims[i + 1]], strict=True):
                    if i < j:
                        pairs.append((i, int(j), float(s)))
            return pairs
        sims_k, ids_k = self.knn(k)
        for i in range(len(self.vectors)):
            for j, s in zip(ids_k[i], sims_k[i], strict=True):
                if j > i and s >= threshold:
                    pairs.append((i, int(j), float(s)))
        return pairs


def exact_search(
    vectors: RowMatrix,
    queries: npt.NDArray[np.float32],
    k: int,
    *,
    metric: str = "l2",
    among: npt.NDArray[np.int64] | None = None,
    exclude: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The `k` nearest rows of `vectors` (of its rows `among`, or all) to each of `queries`, best first, as
    `NeighborIndex.search` gives them (ids are rows of `vectors`), by brute force a chunk of rows at a time:
    exact at any size with no index holding every vector, for queries × rows work. `exclude` names per query
    a row to leave out (its own; -1: none)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    candidates = among if among is not None else np.arange(len(vectors), dtype=np.int64)
    width = k + (exclude is not None)
    sims: npt.NDArray[np.float32] = np.full((len(queries), width), -np.inf, dtype=np.float32)
    ids: npt.NDArray[np.int64] = np.full((len(queries), width), -1, dtype=np.int64)
    kind = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    for piece in row_chunks(candidates):
        rows = np.asarray(piece, dtype=np.int64)
        found, where = faiss.knn(queries, float32_rows(vectors, rows), min(width, len(rows)), metric=kind)
        found = np.where(where >= 0, -found if metric == "l2" else found, -np.inf).astype(np.float32)
        sims = np.hstack([sims, found])
        ids = np.hstack([ids, np.where(where >= 0, rows[np.maximum(where, 0)], -1)])
        best = np.argsort(-sims, axis=1, kind="stable")[:, :width]
        sims, ids = np.take_along_axis(sims, best, axis=1), np.take_along_axis(ids, best, axis=1)
    return _leave_out(sims, ids, exclude, k) if exclude is not None else (sims, ids)


def _leave_out(
    sims: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], own: npt.NDArray[np.int64], width: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Each row's first `width` neighbours other than `own` (per row, the id to leave out: its own) and the
    padding (id -1), in their order; padded with id -1 and similarity -inf."""
    keep = (ids != own[:, None]) & (ids >= 0)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]  # kept neighbours first, in their order
    kept = np.take_along_axis(keep, order, axis=1)
    sims = np.where(kept, np.take_along_axis(sims, order, axis=1), -np.inf).astype(np.float32)
    return sims, np.where(kept, np.take_along_axis(ids, order, axis=1), -1)


@lru_cache(maxsize=1)
def gpu_count() -> int:
    """GPUs FAISS can use (0 with faiss-cpu)."""
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0
