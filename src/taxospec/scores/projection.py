"""The 2-D map of the embedding space that the HTML explorer draws: t-SNE (openTSNE), chosen by measurement
(`benchmarks/projection_choice.py`: of PCA, t-SNE and UMAP it keeps the most of each example's nearest
neighbours on every dataset, and its map's class vote matches the high-dimensional one).

Seeded and single-threaded, so the same vectors always give the same map. Above `SAMPLE` examples the map
is fitted on a seeded sample and the rest are placed into it (openTSNE's `transform`), which keeps the time
near-linear; the method string says which was done.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.scores.chunked import float32_rows, row_chunks

SAMPLE = 20_000
"""Examples the map is fitted on at most; the rest are placed into it."""

FloatMatrix = npt.NDArray[np.float32]


def project(vectors: npt.NDArray[np.floating], seed: int = 0) -> tuple[FloatMatrix, str]:
    """Each row of `vectors` (unit vectors) as a point in [0, 1]², and the method that placed them."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32), "none"
    if n < 8:
        return _scaled(_pca(vectors)), "PCA (too few examples for t-SNE)"
    if n <= SAMPLE:
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        return _scaled(np.asarray(_tsne(n, seed).fit(data))), f"t-SNE (openTSNE, cosine, seed {seed})"
    rng = np.random.default_rng(seed)
    fitted = np.sort(rng.choice(n, SAMPLE, replace=False))
    rest = np.setdiff1d(np.arange(n), fitted)
    embedding = _tsne(SAMPLE, seed).fit(float32_rows(vectors, fitted))
    out = np.zeros((n, 2), dtype=np.float64)
    out[fitted] = np.asarray(embedding)
    for piece in row_chunks(rest):  # (float16 vectors of a large space are converted a chunk at a time)
        out[piece] = np.asarray(embedding.transform(float32_rows(vectors, piece)))
    return _scaled(out), f"t-SNE (openTSNE, cosine, seed {seed}), fitted on {SAMPLE:,} examples, the rest placed"


def _tsne(n: int, seed: int) -> Any:
    from openTSNE import TSNE

    return TSNE(
        n_components=2,
        metric="cosine",
        perplexity=float(min(30.0, max(2.0, (n - 1) / 3.0))),
        random_state=seed,
        n_jobs=1,  # with more threads the sums run in another order, and the map moves between runs
        verbose=False,
    )


def _pca(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    centered = np.asarray(vectors, dtype=np.float64) - np.mean(vectors, axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    axes = vt[:2]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]  # one sign per axis
    out = centered @ axes.T
    return out if out.shape[1] == 2 else np.hstack([out, np.zeros((len(out), 2 - out.shape[1]))])


def _scaled(points: npt.NDArray[np.float64]) -> FloatMatrix:
    """`points` moved and scaled (one factor for both axes, so distances keep their proportions) into
    [0, 1]²."""
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max())
    scaled: FloatMatrix = ((points - low) / (span if span > 0 else 1.0)).astype(np.float32)
    return scaled
