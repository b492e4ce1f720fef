"""Exact search for a sample of rows, for `findings_agreement.py --compare sampled`: what exact search would
flag at a size where searching every row exactly is hours on a CPU (n² work).

Within `exact_for(rows, total)`, every `NeighborIndex` over fewer than half of `total` vectors (a class's
own, in the outlier score) searches exactly, and one over all `total` vectors keeps its approximate graph
but with the neighbours of `rows` replaced by their exact ones (faiss's brute-force `knn` over the same
vectors, in float32). Each sampled row's own findings then read exact neighbours; what they read from other
rows' neighbours (the class thresholds of confident learning, the outlier fences) stays approximate, a
second-order effect the comparison at 200,000 against the whole exact run measures.

The sample is every row the approximate run flagged plus a random sample of the rest: the flags both
runs give and those only the approximate run gives are counted over all its flags; the flags only exact
search gives are estimated from the random rows, scaled to all the rows the approximate run left alone,
with a 95 % interval.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

QUERY_CHUNK = 4096


@contextmanager
def exact_for(rows: npt.NDArray[np.int64], total: int) -> Iterator[None]:
    """Within: per-class indexes search exactly; the `rows` of an index over all `total` vectors get their
    exact neighbours (see the module's docstring)."""
    from taxospec.embeddings.index import NeighborIndex

    init, knn = NeighborIndex.__init__, NeighborIndex.knn

    def exact_init(self: Any, vectors: Any, **kwargs: Any) -> None:
        if len(vectors) < total // 2:
            kwargs["approximate_above"] = 10**12
        init(self, vectors, **kwargs)

    def patched_knn(self: Any, k: int) -> tuple[Any, Any]:
        fresh = not any(key >= max(1, k) for key in self._knn)
        sims, ids = knn(self, k)
        if fresh and self.approximate and len(self.vectors) == total:
            _replace_with_exact(self, rows, sims, ids)
        return sims, ids

    NeighborIndex.__init__, NeighborIndex.knn = exact_init, patched_knn  # type: ignore[method-assign]
    try:
        yield
    finally:
        NeighborIndex.__init__, NeighborIndex.knn = init, knn  # type: ignore[method-assign]


def _replace_with_exact(index: Any, rows: npt.NDArray[np.int64], sims: Any, ids: Any) -> None:
    """Write the exact `k` neighbours of `rows` (itself excluded) into the graph `sims`, `ids` in place."""
    import faiss

    from taxospec.scores.chunked import float32_rows

    n, k = ids.shape[0], ids.shape[1]
    base = np.empty((n, index.vectors.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        base[start : start + 100_000] = float32_rows(index.vectors, slice(start, min(n, start + 100_000)))
    metric = faiss.METRIC_L2 if index.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    for start in range(0, len(rows), QUERY_CHUNK):
        chunk = rows[start : start + QUERY_CHUNK]
        found_sims, found_ids = faiss.knn(base[chunk], base, k + 1, metric=metric)
        if index.metric == "l2":
            found_sims = -found_sims
        for at, row in enumerate(chunk.tolist()):
            keep = found_ids[at] != row
            ids[row] = found_ids[at][keep][:k]
            sims[row] = found_sims[at][keep][:k]
        print(f"  exact neighbours: {start + len(chunk):,} of {len(rows):,} rows", file=sys.stderr, flush=True)


def sample_rows(flagged_rows: npt.NDArray[np.int64], n: int, others: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """Every flagged row, and `others` rows drawn at random from the rest (sorted)."""
    rest = np.setdiff1d(np.arange(n), flagged_rows)
    drawn = np.random.default_rng(seed).choice(rest, size=min(others, len(rest)), replace=False)
    return np.sort(np.concatenate([flagged_rows, drawn]))


def estimate(
    approximate: set[int], exact: set[int], flagged_any: set[int], drawn: set[int], unflagged: int
) -> dict[str, float]:
    """One check's agreement: `approximate` its flags in the approximate run, `exact` its flags in the
    sampled run (over the sampled tasks), `flagged_any` every task the approximate run flagged in any check
    (all sampled), `drawn` the random tasks of the `unflagged` ones it left alone. Counted: the flags both
    give, those only the approximate run gives, those only exact search gives among `flagged_any`; estimated:
    those only exact search gives among the unflagged, from `drawn`, with a 95 % interval."""
    hits = len(exact & drawn)
    low, high = _wilson(hits, len(drawn))
    known = len((exact & flagged_any) - approximate)
    only_exact = known + (hits / len(drawn) if drawn else 0.0) * unflagged
    both = len(approximate & exact)
    union = len(approximate) + only_exact
    return {
        "approximate": len(approximate),
        "both": both,
        "only_approximate": len(approximate - exact),
        "only_exact": only_exact,
        "only_exact_low": known + low * unflagged,
        "only_exact_high": known + high * unflagged,
        "jaccard": both / union if union else 1.0,
    }


def _wilson(hits: int, draws: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial share."""
    if not draws:
        return 0.0, 0.0
    p = hits / draws
    centre = (p + z * z / (2 * draws)) / (1 + z * z / draws)
    half = z * math.sqrt(p * (1 - p) / draws + z * z / (4 * draws * draws)) / (1 + z * z / draws)
    return max(0.0, centre - half), centre + half
