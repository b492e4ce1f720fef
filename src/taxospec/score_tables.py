"""The report's score tables: a row of scores for every embedded example, and a tightness row for every
class, each number beside the expectation it is judged against.

Built from the run's example scores (`checks.embedding_scores`), with the parameters the checks used, so
the flags in the table are the findings' flags; present whenever the run had embeddings.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from taxospec.checks.base import CheckContext, SkipCheck
from taxospec.checks.embedding_duplicates import near_duplicate
from taxospec.checks.embedding_labels import label_params_of, outlier_params_of, outliers_reported
from taxospec.checks.embedding_scores import (
    CLOSE_SHARE,
    LabelScores,
    class_shape,
    duplicate_scores,
    label_scores,
    outlier_scores,
    pair_margin,
    score_space,
)
from taxospec.checks.embedding_view import EmbeddingView, view_of
from taxospec.checks.params import params_of
from taxospec.example_rows import ExampleColumns, ExampleRows
from taxospec.findings import ReportModel

HISTOGRAM_BINS = 20
"""Bins of the label-quality histograms (0 to 1)."""
LOOSE_SPREAD = 1.5
"""A class whose spread exceeds this many times the median class's is loose."""
MIXED_AGREEMENT = 0.5
"""A class whose examples' neighbours share its label less often than this is mixed."""


class HardNegativeMargin(ReportModel):
    """How well a class is separated from one of its named hard negatives."""

    negative: str
    margin: float
    """Median over the class's examples of (distance to the negative's centre − distance to their own),
    in units of the class's spread: above 0, the class is on its own side."""
    closer_share: float
    """Share of the class's examples closer to the negative's centre than to their own (expected: at most
    0.1)."""
    confusion: float | None = None
    """Mean out-of-fold probability of the negative among the class's examples."""
    status: str
    """`separated`, or `too close` (closer share above 0.1)."""


class ClassTightness(ReportModel):
    """How tight one class is in the score geometry, each measure beside its expectation."""

    class_name: str = Field(alias="class")
    role: str
    examples: int
    agreement: float
    """Share of its examples' nearest neighbours that carry its label."""
    agreement_by_chance: float
    """What `agreement` would be if the embedding knew nothing: the class's share of the examples."""
    spread: float
    """Median distance of its examples to its centre."""
    typical_spread: float
    """The median class's spread (a class above 1.5 times it is `loose`)."""
    label_noise: float | None = None
    """Confident learning's estimate of the share of its labels that are wrong."""
    flagged: int = 0
    """Its examples flagged by `likely-mislabel`."""
    status: str
    """`tight`, `loose` (spread above 1.5 × the typical), or `mixed` (agreement below 0.5)."""
    hard_negatives: list[HardNegativeMargin] = Field(default_factory=list)
    label_quality_histogram: list[int] = Field(default_factory=list)
    """Its examples' label qualities in 20 bins from 0 to 1 (the HTML report draws it)."""
    label_quality_cut: float | None = None
    """The highest label quality `likely-mislabel` flagged in this class (the threshold as it fell)."""


class ExampleMap(ReportModel):
    """The embedded examples placed on a 2-D map (entry i is `ScoreTables.examples[i]`), for the HTML
    explorer and any other tool that plots them."""

    method: str
    """How they were placed (`t-SNE (openTSNE, cosine, seed 0)`, …)."""
    x: list[float]
    y: list[float]
    """Coordinates in [0, 1], one factor for both axes."""
    neighbours: list[list[int]]
    """Each example's nearest examples in the embedding space (indices into `examples`), nearest first."""


class ScoreSummary(ReportModel):
    """How the example scores were computed on this dataset."""

    geometry: str
    """The geometry the scores were computed in."""
    geometry_log_loss: dict[str, float] = Field(default_factory=dict)
    """Leave-one-out log-loss of each candidate geometry's neighbour vote (how `auto` chose)."""
    vote_weight: float | None = None
    """Weight of the neighbour vote in the mixture with the linear probe."""
    probe_penalty: float | None = None
    """The linear probe's L2 penalty, chosen by out-of-fold log-loss."""
    rounds: int | None = None
    estimated_label_noise: float | None = None
    """Confident learning's estimate of the share of wrong labels over the whole dataset."""
    predictions_used: int = 0
    """Examples that carried a prediction of the team's own model in the mixture."""
    median_nearest_distance: float | None = None
    duplicate_distance: float | None = None
    """The distance below which two examples are near-duplicates on this dataset."""


class ScoreTables(ReportModel):
    """The score tables of a report."""

    summary: ScoreSummary
    examples: ExampleRows
    tightness: list[ClassTightness]
    map: ExampleMap | None = None
    """The examples on a 2-D map with their nearest neighbours, when asked for (the HTML report asks)."""


def score_tables(ctx: CheckContext, *, with_map: bool = False) -> ScoreTables | None:
    """The score tables of a run with embeddings (None without, or with too few examples to score);
    `with_map`: with the examples placed on a 2-D map (`ExampleMap`)."""
    try:
        view = view_of(ctx)
        scored = score_space(ctx)
    except SkipCheck:
        return None
    label_params = label_params_of(ctx.spec)
    try:
        labels: LabelScores | None = label_scores(ctx, label_params)
    except SkipCheck:
        labels = None
    outliers = outlier_scores(ctx, outlier_params_of(ctx.spec), label_params)
    duplicates = duplicate_scores(ctx, params_of(near_duplicate, ctx.spec))
    n = len(view.rows)
    quality = np.full(n, np.nan)
    suggested = np.full(n, -1)
    mislabel = np.zeros(n, dtype=bool)
    if labels is not None:
        issues = labels.evidence.issues
        quality[labels.rows] = issues.quality
        suggested[labels.rows] = issues.suggested
        mislabel[labels.rows] = issues.flagged
    if outliers_reported(ctx.spec):
        mislabel &= ~outliers.flagged
    group_of = np.full(n, -1)
    for g, group in enumerate(duplicates.groups):
        group_of[group] = g
    anywhere = np.nan_to_num(outliers.any_distance, nan=0.0)
    uniqueness = (np.argsort(np.argsort(anywhere, kind="stable"), kind="stable") / max(1, n - 1)).astype(float)
    examples = _examples(
        ctx,
        quality,
        suggested,
        mislabel,
        outliers.score,
        outliers.flagged,
        uniqueness,
        duplicates.nearest_ratio,
        group_of,
    )
    summary = ScoreSummary(
        geometry=scored.space.name,
        geometry_log_loss={k: round(v, 4) for k, v in scored.losses.items()},
        vote_weight=labels.evidence.vote_weight if labels is not None else None,
        probe_penalty=labels.evidence.penalty if labels is not None else None,
        rounds=labels.evidence.rounds if labels is not None else None,
        estimated_label_noise=_overall_noise(labels, view.labels) if labels is not None else None,
        predictions_used=labels.predicted if labels is not None else 0,
        median_nearest_distance=round(duplicates.median_nearest, 6),
        duplicate_distance=round(duplicates.threshold, 6),
    )
    tightness = tightness_rows(ctx, labels, quality, mislabel)
    placed = example_map(view) if with_map else None
    return ScoreTables(summary=summary, examples=examples, tightness=tightness, map=placed)


MAP_NEIGHBOURS = 8
"""Neighbours kept per example for the explorer's "show neighbours"."""


def example_map(view: EmbeddingView) -> ExampleMap:
    """The view's examples on a 2-D map (`scores.projection`), each with its nearest neighbours."""
    from taxospec.scores.projection import project

    points, method = project(np.asarray(view.space.vectors))
    _, ids = view.knn(MAP_NEIGHBOURS)
    return ExampleMap(
        method=method,
        x=[round(float(v), 5) for v in points[:, 0]],
        y=[round(float(v), 5) for v in points[:, 1]],
        neighbours=[[int(i) for i in row if i >= 0] for row in ids[:, :MAP_NEIGHBOURS]],
    )


def _overall_noise(labels: LabelScores, given: npt.NDArray[np.int64]) -> float:
    counts = np.bincount(given[labels.rows], minlength=len(labels.evidence.issues.noise))
    return round(float((labels.evidence.issues.noise * counts).sum() / max(1, counts.sum())), 4)


def _examples(
    ctx: CheckContext,
    quality: npt.NDArray[np.float64],
    suggested: npt.NDArray[np.int64],
    mislabel: npt.NDArray[np.bool_],
    outlier_score: npt.NDArray[np.float64],
    outlier: npt.NDArray[np.bool_],
    uniqueness: npt.NDArray[np.float64],
    duplicate: npt.NDArray[np.float64],
    group_of: npt.NDArray[np.int64],
) -> ExampleRows:
    view = view_of(ctx)
    samples = ctx.dataset.samples
    items = ctx.dataset.items
    tasks = np.asarray(samples.task, dtype=np.int64)[view.rows]
    columns = ExampleColumns(
        task_id=np.asarray(items.task_id, dtype=np.int64)[tasks],
        annotation_id=np.asarray(samples.annotation_id, dtype=np.int64)[view.rows],
        sample=view.rows,
        task=tasks,
        label=np.asarray(view.labels, dtype=np.int64),
        quality=quality,
        suggested=np.asarray(suggested, dtype=np.int64),
        mislabel=mislabel,
        outlier_score=outlier_score,
        outlier=outlier,
        uniqueness=uniqueness,
        duplicate=duplicate,
        group=np.asarray(group_of, dtype=np.int64),
        names=list(ctx.class_names),
        region_ids=samples.region_id,
        splits=items.split,
    )
    return ExampleRows(columns)


def tightness_rows(
    ctx: CheckContext,
    labels: LabelScores | None,
    quality: npt.NDArray[np.float64],
    mislabel: npt.NDArray[np.bool_],
) -> list[ClassTightness]:
    """One tightness row per class with at least two embedded examples."""
    view = view_of(ctx)
    shape = class_shape(ctx)
    if not shape.centres:
        return []
    given = view.labels
    names = ctx.class_names
    typical = float(np.median(list(shape.spreads.values())))
    ids = score_space(ctx).distance_ids[:, : ctx.spec.embedding.neighbors]
    labelled = given >= 0
    rows = []
    for c in sorted(shape.centres):
        members = given == c
        neighbour_labels = np.where(ids[members] >= 0, given[np.maximum(ids[members], 0)], -2)
        agreement = float((neighbour_labels == c).sum() / max(1, (neighbour_labels != -2).sum()))
        spread = shape.spreads[c]
        status = "mixed" if agreement < MIXED_AGREEMENT else "loose" if spread > LOOSE_SPREAD * typical else "tight"
        class_quality = quality[members]
        class_quality = class_quality[np.isfinite(class_quality)]
        histogram: list[int] = []
        if len(class_quality):
            histogram = np.histogram(class_quality, bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0].tolist()
        flagged_quality = quality[members & mislabel]
        rows.append(
            ClassTightness(
                class_name=names[c],
                role=ctx.spec.classes[names[c]].role,
                examples=int(members.sum()),
                agreement=round(agreement, 4),
                agreement_by_chance=round(float(members.sum() / max(1, labelled.sum())), 4),
                spread=round(spread, 6),
                typical_spread=round(typical, 6),
                label_noise=round(float(labels.evidence.issues.noise[c]), 4) if labels is not None else None,
                flagged=int((members & mislabel).sum()),
                status=status,
                hard_negatives=_margins(ctx, c, labels),
                label_quality_histogram=histogram,
                label_quality_cut=round(float(flagged_quality.max()), 4) if len(flagged_quality) else None,
            )
        )
    return rows


def _margins(ctx: CheckContext, c: int, labels: LabelScores | None) -> list[HardNegativeMargin]:
    names = ctx.class_names
    view = view_of(ctx)
    out = []
    for negative in ctx.spec.classes[names[c]].hard_negatives:
        n = names.index(negative) if negative in names else -1
        found = pair_margin(ctx, c, n) if n >= 0 else None
        if found is None:
            continue
        confusion = None
        if labels is not None:
            in_class = view.labels[labels.rows] == c
            if in_class.any():
                confusion = round(float(labels.evidence.probabilities[in_class, n].mean()), 4)
        out.append(
            HardNegativeMargin(
                negative=negative,
                margin=round(found.margin, 4),
                closer_share=round(found.closer_share, 4),
                confusion=confusion,
                status="too close" if found.closer_share > CLOSE_SHARE else "separated",
            )
        )
    return out


TIGHTNESS_COLUMNS = ("class", "examples", "agreement", "by chance", "spread × typical", "label noise", "status")
"""The columns of the plain-text tightness table (Markdown, terminal)."""


def tightness_cells(row: ClassTightness) -> list[str]:
    """One class's tightness as text cells, in `TIGHTNESS_COLUMNS` order, then its hard negatives."""
    ratio = row.spread / row.typical_spread if row.typical_spread else 0.0
    noise = f"{row.label_noise:.1%}" if row.label_noise is not None else "—"
    negatives = "; ".join(f"{m.negative}: {m.status} ({m.closer_share:.0%} closer)" for m in row.hard_negatives)
    return [
        row.class_name,
        str(row.examples),
        f"{row.agreement:.0%}",
        f"{row.agreement_by_chance:.0%}",
        f"{ratio:.2f}",
        noise,
        row.status,
        negatives or "—",
    ]
