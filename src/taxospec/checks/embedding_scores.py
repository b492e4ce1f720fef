"""The example scores of a run: for every embedded example a label-issue, outlier, uniqueness and
duplicate score, computed once from the run's `EmbeddingView` with the parameters of the checks that flag
them (`likely-mislabel`, `outlier`, the duplicate checks), and shared by those checks and the report.

The numerical work is in `taxospec.scores` (pure functions of features and labels); this module feeds it
the run's vectors, labels, predictions and media hashes, and maps the results back to vector rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext, SkipCheck
from taxospec.checks.embedding_view import EmbeddingView, view_of
from taxospec.embeddings.index import Ids, NeighborIndex
from taxospec.scores import geometry
from taxospec.scores.chunked import Matrix, distances_to, moments, unit_rows
from taxospec.scores.confident import confident_joint
from taxospec.scores.duplicates import DuplicateScores, find_duplicates, relative_threshold
from taxospec.scores.label_issues import LabelEvidence, label_evidence
from taxospec.scores.outliers import OutlierScores, find_outliers
from taxospec.scores.perceptual import close_pairs
from taxospec.spec.model import DuplicatesSpec, LabelIssueParams, OutlierParams

MIN_LABELLED = 10
"""Labelled examples (of at least two classes) below which no label-issue score is computed."""
PAIR_NEIGHBOURS = 32
"""Neighbours searched for near-duplicate pairs above the range-search size (groups up to this size)."""


@dataclass(frozen=True)
class ScoreSpace:
    """The geometry the scores were computed in, and its two neighbour graphs over every vector."""

    space: geometry.Space
    losses: dict[str, float]
    """Leave-one-out log-loss of each candidate geometry (empty when it was not chosen automatically)."""
    similarities: npt.NDArray[np.float32]
    """The Euclidean k-NN graph's similarities as searched, best first: −squared distances, or cosines
    where `from_cosines` (the view's graph of unit vectors; read them through `distance_sims`)."""
    distance_ids: Ids
    index: NeighborIndex
    """The index over `space.distances` ("l2"), or over the unit vectors ("ip") where they are the same."""
    neighbour_ids: Ids
    """The k-NN graph in the geometry itself (the same graph where the geometry is Euclidean, or cosine on
    unit vectors), for the neighbour vote."""
    from_cosines: bool = False

    def distance_sims(self, columns: int) -> npt.NDArray[np.float32]:
        """The first `columns` neighbours' similarities as −squared Euclidean distances, best first (from
        cosines of unit vectors, |a − b|² = 2 − 2 cos, when read: the view's graph is not copied)."""
        sims = self.similarities[:, :columns]
        return (2.0 * sims - 2.0).astype(np.float32) if self.from_cosines else sims


@dataclass(frozen=True)
class LabelScores:
    """Label evidence over the labelled vectors (`rows`), with what it concluded per vector row."""

    rows: npt.NDArray[np.int64]
    evidence: LabelEvidence
    confidently_none: npt.NDArray[np.bool_]
    """Per labelled row: no class reaches its confident-learning threshold."""
    predicted: int
    """Labelled examples that carried a prediction of the team's model."""


def _features(view: EmbeddingView) -> Matrix:
    """The features the scores are computed from, as the space holds them (float16 above
    `chunked.HALF_ABOVE` rows: not converted whole)."""
    features = view.space.features
    return np.asarray(features if features is not None else view.space.vectors)


def _default_geometry(view: EmbeddingView) -> geometry.GeometryName:
    return "cosine" if view.space.features is None else "standardized-euclidean"


def _labelled(view: EmbeddingView) -> npt.NDArray[np.int64]:
    rows = np.flatnonzero(view.labels >= 0)
    return rows if len(rows) >= MIN_LABELLED and len(np.unique(view.labels[rows])) >= 2 else rows[:0]


def score_space(ctx: CheckContext) -> ScoreSpace:
    """The run's score geometry (the spec's `embedding.geometry`, or the one `auto` chooses) and graphs."""

    def compute() -> ScoreSpace:
        view = view_of(ctx)
        features = _features(view)
        wanted = ctx.spec.embedding.geometry
        losses: dict[str, float] = {}
        labelled = _labelled(view)
        if wanted != "auto":
            chosen: geometry.GeometryName = wanted
        elif len(labelled):
            chosen, losses = geometry.choose(features[labelled], view.labels[labelled], len(ctx.class_names))
        else:
            chosen = _default_geometry(view)
        space = geometry.prepare(features, chosen)
        device = view.space.search_device
        k = min(max(ctx.spec.embedding.neighbors, PAIR_NEIGHBOURS), max(1, len(features) - 1))
        unit = unit_rows(features, 1e-3)
        if unit and not chosen.startswith("standardized"):
            # the distances are Euclidean on the unit vectors: the view's cosine graph (|a - b|^2 = 2 - 2 cos)
            sims, ids = view.knn(k)
            index, cosines = view.index, True
        else:
            index, cosines = NeighborIndex(space.distances, device=device, metric="l2"), False
            sims, ids = index.knn(k)
        if (chosen == "cosine" and unit) or space.metric == "l2":
            return ScoreSpace(space, losses, sims, ids, index, ids, cosines)
        # a cosine geometry on other rows than the distances': the vote has a graph of its own
        neighbours = NeighborIndex(space.neighbours, device=device, metric=space.metric).knn(k)[1]
        return ScoreSpace(space, losses, sims, ids, index, neighbours, cosines)

    return ctx.shared("score-space", compute)


def label_scores(ctx: CheckContext, params: LabelIssueParams) -> LabelScores:
    """Label evidence for the labelled vectors with `params` (a `SkipCheck` when too few are labelled)."""

    def compute() -> LabelScores:
        view = view_of(ctx)
        rows = _labelled(view)
        if not len(rows):
            raise SkipCheck(f"fewer than {MIN_LABELLED} embedded examples with a class, or a single class")
        scored = score_space(ctx)
        space = scored.space
        labels = view.labels[rows]
        classes = len(ctx.class_names)
        k = min(ctx.spec.embedding.neighbors, len(rows) - 1)
        if len(rows) == len(view.rows):  # every example labelled: the shared graph
            ids = scored.neighbour_ids[:, :k]
        else:
            index = NeighborIndex(space.neighbours[rows], device=view.space.search_device, metric=space.metric)
            ids = index.knn(k)[1]
        predictions = _predictions(ctx, view, rows, classes) if params.predictions else None
        features = _features(view)
        evidence = label_evidence(
            features if len(rows) == len(features) else features[rows],
            labels,
            classes,
            ids,
            probe=params.probe,
            rounds=params.rounds,
            per_pair=params.ranking == "per-pair",
            predictions=predictions,
        )
        _, confident = confident_joint(evidence.probabilities, labels, evidence.issues.thresholds)
        predicted = int(np.isfinite(predictions).all(axis=1).sum()) if predictions is not None else 0
        return LabelScores(rows, evidence, confident < 0, predicted)

    return ctx.shared(("label-scores", params), compute)


def _predictions(
    ctx: CheckContext, view: EmbeddingView, rows: npt.NDArray[np.int64], classes: int
) -> npt.NDArray[np.float64] | None:
    """The team's model's class probabilities per labelled vector (NaN rows without a prediction): the
    predicted class gets its score, the rest of the mass is shared by the other classes."""
    table = ctx.dataset.predictions
    if not table:
        return None
    out = np.full((len(rows), classes), np.nan)
    for position, sample in enumerate(view.rows[rows].tolist()):
        found = table.get(int(sample))
        if found is None:
            continue
        predicted, score = found
        out[position] = (1.0 - score) / max(1, classes - 1)
        out[position, predicted] = score
    return out if np.isfinite(out).any() else None


def outlier_scores(ctx: CheckContext, params: OutlierParams, label_params: LabelIssueParams) -> OutlierScores:
    """Outlier scores of every vector (the label evidence's "confidently none" where there is one)."""

    def compute() -> OutlierScores:
        view = view_of(ctx)
        scored = score_space(ctx)
        unexplained = suggested = None
        try:
            labels = label_scores(ctx, label_params)
        except SkipCheck:
            labels = None
        if labels is not None:
            unexplained = np.zeros(len(view.rows), dtype=bool)
            unexplained[labels.rows] = labels.confidently_none
            suggested = np.full(len(view.rows), -1, dtype=np.int64)
            suggested[labels.rows] = labels.evidence.issues.suggested
        return find_outliers(
            scored.space.distances,
            view.labels,
            scored.distance_sims(ctx.spec.embedding.neighbors),
            unexplained,
            k=ctx.spec.embedding.neighbors,
            class_fence=params.class_fence,
            any_fence=params.any_fence,
            suggested=suggested,
            explained_fence=params.explained_fence,
            any_approximate=scored.index.approximate,
            device=view.space.search_device,
        )

    return ctx.shared(("outlier-scores", params, label_params), compute)


def duplicate_scores(ctx: CheckContext, params: DuplicatesSpec) -> DuplicateScores:
    """Near-duplicate groups of the vectors: relative distance, identical bytes, perceptual hashes, and
    the absolute cosine when the spec sets one."""

    def compute() -> DuplicateScores:
        view = view_of(ctx)
        scored = score_space(ctx)
        nearest = np.sqrt(np.maximum(-scored.distance_sims(1)[:, 0].astype(np.float64), 0.0))
        nearest = np.where(scored.distance_ids[:, 0] >= 0, nearest, np.inf)
        threshold, _ = relative_threshold(nearest, params.relative_distance)
        pairs = within(scored.index, threshold)
        extra = list(_same_bytes(view)) + list(_same_picture(view, params.hash_distance))
        if params.max_similarity is not None:
            view.knn(PAIR_NEIGHBOURS)
            extra += [(i, j) for i, j, _ in view.index.pairs_above(params.max_similarity, k=PAIR_NEIGHBOURS)]
        return find_duplicates(nearest, pairs, params.relative_distance, extra)

    return ctx.shared(("duplicate-scores", params), compute)


def within(index: NeighborIndex, distance: float) -> list[tuple[int, int, float]]:
    """Pairs (i < j, Euclidean distance) of `index`'s vectors at most `distance` apart, whatever its metric
    (an "ip" index holds unit vectors: |a - b|^2 = 2 - 2 cos)."""
    if index.metric == "l2":
        found = index.pairs_above(-(distance**2) - 1e-12, k=PAIR_NEIGHBOURS)
        return [(i, j, float(np.sqrt(max(0.0, -s)))) for i, j, s in found]
    found = index.pairs_above(1.0 - distance**2 / 2.0 - 1e-7, k=PAIR_NEIGHBOURS)
    return [(i, j, float(np.sqrt(max(0.0, 2.0 - 2.0 * s)))) for i, j, s in found]


def _same_bytes(view: EmbeddingView) -> Any:
    by_hash: dict[str, list[int]] = defaultdict(list)
    for v, row in enumerate(view.rows.tolist()):
        digest = view.space.content_hashes.get(row)
        if digest:
            by_hash[digest].append(v)
    for members in by_hash.values():
        for other in members[1:]:
            yield members[0], other


def _same_picture(view: EmbeddingView, bits: int) -> Any:
    hashes = view.space.perceptual_hashes
    if bits <= 0 or not hashes:
        return
    vectors = [v for v, row in enumerate(view.rows.tolist()) if row in hashes]
    for a, b in close_pairs([hashes[int(view.rows[v])] for v in vectors], bits):
        yield vectors[a], vectors[b]


CLOSE_SHARE = 0.1
"""Share of a class's examples closer to a hard negative's centre than to their own above which the pair is
too close (`hard-negative-margin`, and the tightness table)."""


@dataclass(frozen=True)
class ClassShape:
    """Each class's centre and its examples' distances to it, in the score geometry's distances."""

    centres: dict[int, npt.NDArray[np.float64]]
    own: dict[int, npt.NDArray[np.float64]]
    """Per class, its examples' distances to its centre (in vector-row order of the class's members)."""
    spreads: dict[int, float]
    """Per class, the median of `own`."""


@dataclass(frozen=True)
class PairMargin:
    """How a class stands against one of its hard negatives."""

    closer_share: float
    """Share of the class's examples closer to the negative's centre than to their own."""
    margin: float
    """Median (distance to the negative's centre − to their own) over the class's spread."""


def class_shape(ctx: CheckContext) -> ClassShape:
    """The classes' centres and spreads (classes with at least two embedded examples)."""

    def compute() -> ClassShape:
        view = view_of(ctx)
        distances = score_space(ctx).space.distances
        centres, own, spreads = {}, {}, {}
        for c in np.unique(view.labels[view.labels >= 0]).tolist():
            members = np.flatnonzero(view.labels == c)
            if len(members) < 2:
                continue
            centres[int(c)] = moments(distances, members)[0]
            own[int(c)] = distances_to(distances, members, centres[int(c)])
            spreads[int(c)] = float(np.median(own[int(c)]))
        return ClassShape(centres, own, spreads)

    return ctx.shared("class-shape", compute)


def pair_margin(ctx: CheckContext, positive: int, negative: int) -> PairMargin | None:
    """How `positive` stands against `negative` (None: one of them has fewer than two examples)."""
    shape = class_shape(ctx)
    if positive not in shape.centres or negative not in shape.centres:
        return None
    view = view_of(ctx)
    distances = score_space(ctx).space.distances
    own = shape.own[positive]
    other = distances_to(distances, np.flatnonzero(view.labels == positive), shape.centres[negative])
    spread = shape.spreads[positive]
    margin = float(np.median(other - own)) / spread if spread > 0 else 0.0
    return PairMargin(float((other < own).mean()), margin)
