"""What every embedding check reads: the one `EmbeddingView` of a run (vectors, their labels and splits,
and the neighbour index with its k-NN graph, built once), and the helpers the checks share."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext, SkipCheck
from taxospec.findings import Flag
from taxospec.scores.chunked import moments
from taxospec.spec.model import EmbeddingSpec, Spec

INNER_FENCE = 1.5
"""Tukey's inner fence, for checks that require a second signal besides being unusual."""
DUPLICATE_NEIGHBOURS = 32
"""Neighbours per example searched once for all checks (near-duplicate groups of up to this size)."""

MIN_VECTORS = 2
"""Embedded examples below which no embedding check has anything to compare."""
NO_EMBEDDINGS = "no embeddings: give --embeddings FILE, or a media source (--media-root, --ls-document-root, …)"


@dataclass
class EmbeddingView:
    """The embedded samples with their labels, splits and media, and the index over them."""

    ctx: CheckContext

    @cached_property
    def space(self) -> Any:
        """The run's embedding space; a `SkipCheck` when there is none."""
        if self.ctx.embeddings is None:
            raise SkipCheck(NO_EMBEDDINGS)
        if self.ctx.embeddings.unavailable_because is not None:
            raise SkipCheck(self.ctx.embeddings.unavailable_because)
        if len(self.ctx.embeddings.samples) < MIN_VECTORS:
            raise SkipCheck(
                f"{len(self.ctx.embeddings.samples)} example(s) embedded, too few to compare "
                "(is the media where the media options say? see media-missing)"
            )
        return self.ctx.embeddings

    @cached_property
    def rows(self) -> npt.NDArray[np.int64]:
        """Dataset sample row of each vector."""
        return np.asarray(self.space.samples, dtype=np.int64)

    @cached_property
    def labels(self) -> npt.NDArray[np.int64]:
        """Class index of each vector (-1: no valid class)."""
        return self.ctx.columns.class_idx[self.rows]

    @cached_property
    def splits(self) -> npt.NDArray[np.int64]:
        """Split index of each vector (-1: none)."""
        return self.ctx.columns.split_idx[self.rows]

    @cached_property
    def index(self) -> Any:
        """The FAISS index over the vectors, built on first use."""
        from taxospec.embeddings.index import NeighborIndex

        return NeighborIndex(self.space.vectors, device=self.space.search_device)

    def knn(self, k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The shared k-NN graph (similarities, ids), itself excluded; one search serves every check (the
        graph is built once with enough neighbours for the duplicate pass too)."""
        k = min(k, max(1, len(self.rows) - 1))
        sims, ids = self.index.knn(max(k, DUPLICATE_NEIGHBOURS))
        return sims[:, :k], ids[:, :k]

    @cached_property
    def centroids(self) -> dict[int, npt.NDArray[np.float32]]:
        """Unit centroid of each class that has vectors."""
        out = {}
        for c in np.unique(self.labels[self.labels >= 0]).tolist():
            mean = moments(self.space.vectors, np.flatnonzero(self.labels == c))[0]
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[int(c)] = (mean / norm).astype(np.float32)
        return out

    def flag(self, message: str, vector: int, **where: Any) -> Flag:
        """A flag located at the sample of `vector`."""
        return self.ctx.flag(message, int(self.rows[vector]), **where)


def view_of(ctx: CheckContext) -> EmbeddingView:
    """The run's one `EmbeddingView` (made on first use); a `SkipCheck` when the run has no embeddings."""
    view = ctx.shared("embedding-view", lambda: EmbeddingView(ctx))
    view.space  # noqa: B018 - raises SkipCheck when there are no embeddings
    return view


def embedding_params(spec: Spec) -> EmbeddingSpec:
    """The parameters of the embedding checks: the spec's `embedding` section."""
    return spec.embedding


def embeddings_off(spec: Spec) -> str | None:
    """Why the embedding checks skip (they are off in the spec), or None."""
    return None if spec.embedding.enabled else "embedding checks are off in the spec (embedding.enabled: false)"


def lower_fence(values: npt.NDArray[np.float64], factor: float) -> float:
    """Tukey's lower fence of `values`: the first quartile less `factor` interquartile ranges."""
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1 - factor * (q3 - q1))


def scored(flag: Flag, score: float) -> Flag:
    """`flag` with its 0..1 score (clipped, four decimals), kept apart from the flag itself."""
    return replace(flag, score=round(float(np.clip(score, 0.0, 1.0)), 4))
