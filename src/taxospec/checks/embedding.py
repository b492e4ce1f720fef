"""Embedding checks of the clusters: cohesion and hard-negative separation, measured in the CLIP space of
the spec's model with thresholds calibrated on the dataset itself; and the registration of every embedding
check (the example-score checks are in `embedding_labels` and `embedding_duplicates`, the text checks in
`embedding_text`, the frame and box checks in `embedding_frames`).

Every check reads the one `EmbeddingView` of the run (`embedding_view`): the vectors, their labels and
splits, and the neighbour index with its k-NN graph, built once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.checks.embedding_duplicates import duplicate_across_splits, near_duplicate, near_identical_frames
from taxospec.checks.embedding_frames import box_background_action, segment_ends_loose
from taxospec.checks.embedding_labels import likely_mislabel, outlier
from taxospec.checks.embedding_scores import CLOSE_SHARE, pair_margin
from taxospec.checks.embedding_text import axis_value_disputed, positive_unreached, prompt_incoherent, scenario_gap
from taxospec.checks.embedding_view import embedding_params, embeddings_off, scored, view_of
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.scores.chunked import products
from taxospec.spec.model import EmbeddingSpec


@check("class-not-cohesive", "embeddings", Severity.WARNING, skip=embeddings_off)
def class_not_cohesive(ctx: CheckContext, params: None) -> Outcome:
    """A class fewer than half of whose examples are closer to its own centroid than to another class's.

    Such a class does not cluster: it mixes looks, or its label means different things to annotators."""
    view = view_of(ctx)
    centroids = view.centroids
    if len(centroids) < 2:
        return 0, []
    classes = sorted(centroids)
    matrix = np.stack([centroids[c] for c in classes])
    nearest = np.asarray(classes)[np.argmax(products(view.space.vectors, matrix.T), axis=1)]
    issues = []
    for c in classes:
        members = view.labels == c
        share = float((nearest[members] == c).mean())
        if share < 0.5:
            others = Counter(nearest[members & (nearest != c)].tolist()).most_common(1)
            closest = ctx.class_names[others[0][0]] if others else "?"
            issues.append(
                scored(
                    ctx.flag(
                        f"class {ctx.class_names[c]!r} does not cluster: only {share:.0%} of its examples are closer "
                        f"to its centroid than to another class's (most often {closest!r})",
                        class_name=ctx.class_names[c],
                    ),
                    share,
                )
            )
    return len(classes), issues


def _hard_negatives(ctx: CheckContext) -> dict[int, set[int]]:
    names = ctx.class_names
    return {
        names.index(p): {names.index(n) for n in ctx.spec.classes[p].hard_negatives if n in ctx.spec.classes}
        for p in ctx.spec.positives
        if ctx.spec.classes[p].hard_negatives
    }


@check("hard-negative-confusion", "embeddings", Severity.WARNING, params=embedding_params, skip=embeddings_off)
def hard_negative_confusion(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A positive example whose nearest neighbours are mostly its named hard negatives.

    The model will confuse exactly these: check the label, or collect clearer examples of the difference."""
    view = view_of(ctx)
    _, ids = view.knn(params.neighbors)
    issues = []
    evaluated = 0
    for p, negatives in _hard_negatives(ctx).items():
        rows = np.flatnonzero(view.labels == p)
        found = ids[rows] >= 0
        neighbour_labels = np.where(found, view.labels[np.maximum(ids[rows], 0)], -1)
        counts = found.sum(axis=1)
        confused = (np.isin(neighbour_labels, list(negatives)) & found).sum(axis=1)
        evaluated += int((counts > 0).sum())
        shares = confused / np.maximum(counts, 1)
        for at in np.flatnonzero((counts > 0) & (shares > params.confusion_share)).tolist():
            among = [x for x in neighbour_labels[at][found[at]].tolist() if x in negatives]
            top, share, count = Counter(among).most_common(1)[0][0], float(shares[at]), int(counts[at])
            issues.append(
                scored(
                    view.flag(
                        f"this {ctx.class_names[p]!r} looks like its hard negatives: "
                        f"{round(share * count)} of its {count} nearest neighbours are "
                        f"{' or '.join(repr(ctx.class_names[n]) for n in sorted(negatives))} "
                        f"(mostly {ctx.class_names[top]!r})",
                        int(rows[at]),
                    ),
                    share,
                )
            )
    return evaluated, issues


@check("hard-negative-margin", "embeddings", Severity.WARNING, skip=embeddings_off)
def hard_negative_margin(ctx: CheckContext, params: None) -> Outcome:
    """A positive class and one of its hard negatives too close: more than 10 % of the positive's examples
    are closer to the negative's centre than to their own (in the example scores' geometry, as the report's
    tightness table shows it).

    The pair is not separable in this embedding space; the fine-tune must learn the difference from few,
    clear examples, so collect more of them."""
    issues = []
    evaluated = 0
    for p, negatives in _hard_negatives(ctx).items():
        for n in sorted(negatives):
            found = pair_margin(ctx, p, n)
            if found is None:
                continue
            evaluated += 1
            if found.closer_share > CLOSE_SHARE:
                issues.append(
                    scored(
                        ctx.flag(
                            f"{ctx.class_names[p]!r} vs {ctx.class_names[n]!r}: {found.closer_share:.0%} of "
                            f"{ctx.class_names[p]!r} examples are closer to {ctx.class_names[n]!r} (median margin "
                            f"{found.margin:+.2f} of the class's spread)",
                            class_name=ctx.class_names[p],
                            value=ctx.class_names[n],
                        ),
                        1.0 - found.closer_share,
                    )
                )
    return evaluated, issues


def _media_check(code: str, severity: Severity, doc: str) -> Check[Any]:
    from taxospec.checks.labels import _reader_check

    return _reader_check(code, severity, doc, family="embeddings", local=False)


media_missing = _media_check(
    "media-missing",
    Severity.WARNING,
    """A task whose media could not be found where the media options say it is; its examples are not embedded.""",
)
media_unreadable = _media_check(
    "media-unreadable",
    Severity.ERROR,
    """A task whose image or video does not decode (corrupt, truncated, or not an image): it cannot be trained on.""",
)
media_refused = _media_check(
    "media-refused",
    Severity.ERROR,
    """A media URI taxospec refused to read: a path escaping its root, a host not on --allow-http, a file too large.""",
)


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The embedding checks."""
    return [
        media_missing,
        media_unreadable,
        media_refused,
        outlier,
        class_not_cohesive,
        hard_negative_confusion,
        hard_negative_margin,
        likely_mislabel,
        near_duplicate,
        duplicate_across_splits,
        near_identical_frames,
        prompt_incoherent,
        positive_unreached,
        axis_value_disputed,
        segment_ends_loose,
        box_background_action,
        scenario_gap,
    ]
