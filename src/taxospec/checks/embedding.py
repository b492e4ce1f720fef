"""Embedding checks of the clusters: cohesion, outliers, hard-negative separation, mislabels and
near-duplicates, all measured in the CLIP space of the spec's model, with thresholds calibrated per class
on the dataset itself (Tukey fences, shares of neighbours), not one absolute number; and the registration
of every embedding check (the text checks are in `embedding_text`, the frame and box checks in
`embedding_frames`).

Every check reads the one `EmbeddingView` of the run (`embedding_view`): the vectors, their labels and
splits, and the neighbour index with its k-NN graph, built once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.checks.embedding_frames import background_boxes, box_background_action, segment_ends_loose
from taxospec.checks.embedding_text import axis_value_disputed, positive_unreached, prompt_incoherent, scenario_gap
from taxospec.checks.embedding_view import (
    DUPLICATE_NEIGHBOURS,
    EmbeddingView,
    embedding_params,
    embeddings_off,
    scored,
    view_of,
)
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import EmbeddingSpec, Spec

MAX_CENTROID_CONFUSION = 0.1
"""Share of a positive's examples closer to a hard negative's centroid above which the pair is too close."""


def _percentile_rank(values: npt.NDArray[np.float64], value: float) -> float:
    return float((values < value).mean()) if len(values) else 0.0


@check("outlier", "embeddings", Severity.WARNING, params=embedding_params, skip=embeddings_off)
def outlier(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An example far from the rest of its class (mean distance to its class neighbours above the class's
    Q3 + `outlier_fence` × IQR) that nothing more specific explains (likely mislabels and boxes framing
    background are reported as such).

    Outliers are often wrong crops, wrong media, or a rare condition; look at them first. The fence is
    computed per class, so a naturally diverse class is not punished for its spread."""
    from taxospec.embeddings.index import NeighborIndex

    view = view_of(ctx)
    explained = _mislabel_rows(view, params)  # far from its class because it belongs to another: a mislabel
    if view.space.context_vectors and ctx.spec.unit == "box" and ctx.spec.tightness.spatial.main_subject:
        explained |= set(background_boxes(view)[1])  # far from its class because it frames background
    issues = []
    evaluated = 0
    for c in sorted(view.centroids):
        members = np.flatnonzero(view.labels == c)
        if len(members) < 5:
            continue
        evaluated += len(members)
        k = min(params.neighbors, len(members) - 1)
        sims, _ = NeighborIndex(view.space.vectors[members], device=view.space.search_device).knn(k)
        distance = 1.0 - sims.mean(axis=1).astype(np.float64)
        q1, median, q3 = np.percentile(distance, [25, 50, 75])
        fence = q3 + params.outlier_fence * (q3 - q1)
        for m in np.flatnonzero(distance > fence + 1e-9):
            if int(members[m]) in explained:
                continue
            issue = view.issue(
                "outlier",
                f"far from the rest of {ctx.class_names[c]!r}: mean distance to its {k} nearest "
                f"{ctx.class_names[c]!r} examples {distance[m]:.3f} (class median {median:.3f}, fence {fence:.3f})",
                members[m],
            )
            issues.append(scored(issue, _percentile_rank(distance, distance[m])))
    return evaluated, issues


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
    nearest = np.asarray(classes)[np.argmax(view.space.vectors @ matrix.T, axis=1)]
    issues = []
    for c in classes:
        members = view.labels == c
        share = float((nearest[members] == c).mean())
        if share < 0.5:
            others = Counter(nearest[members & (nearest != c)].tolist()).most_common(1)
            closest = ctx.class_names[others[0][0]] if others else "?"
            issues.append(
                scored(
                    ctx.issue(
                        "class-not-cohesive",
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
        for v in np.flatnonzero(view.labels == p):
            neighbours = ids[v][ids[v] >= 0]
            if not len(neighbours):
                continue
            evaluated += 1
            neighbour_labels = view.labels[neighbours]
            share = float(np.isin(neighbour_labels, list(negatives)).mean())
            if share > params.confusion_share:
                top = Counter(x for x in neighbour_labels.tolist() if x in negatives).most_common(1)[0][0]
                issues.append(
                    scored(
                        view.issue(
                            "hard-negative-confusion",
                            f"this {ctx.class_names[p]!r} looks like its hard negatives: "
                            f"{round(share * len(neighbours))} of its {len(neighbours)} nearest neighbours are "
                            f"{' or '.join(repr(ctx.class_names[n]) for n in sorted(negatives))} "
                            f"(mostly {ctx.class_names[top]!r})",
                            v,
                        ),
                        share,
                    )
                )
    return evaluated, issues


@check("hard-negative-margin", "embeddings", Severity.WARNING, skip=embeddings_off)
def hard_negative_margin(ctx: CheckContext, params: None) -> Outcome:
    """A positive class and one of its hard negatives too close: more than 10 % of the positive's examples
    are closer to the negative's centroid than to their own.

    The pair is not separable in this embedding space; the fine-tune must learn the difference from few,
    clear examples, so collect more of them."""
    view = view_of(ctx)
    centroids = view.centroids
    issues = []
    evaluated = 0
    for p, negatives in _hard_negatives(ctx).items():
        if p not in centroids:
            continue
        members = view.space.vectors[view.labels == p]
        own = members @ centroids[p]
        for n in sorted(negatives):
            if n not in centroids:
                continue
            evaluated += 1
            other = members @ centroids[n]
            share = float((other > own).mean())
            margin = float(np.median(own - other))
            if share > MAX_CENTROID_CONFUSION:
                issues.append(
                    scored(
                        ctx.issue(
                            "hard-negative-margin",
                            f"{ctx.class_names[p]!r} vs {ctx.class_names[n]!r}: {share:.0%} of {ctx.class_names[p]!r} "
                            f"examples are closer to {ctx.class_names[n]!r} (median margin {margin:.3f})",
                            class_name=ctx.class_names[p],
                            value=ctx.class_names[n],
                        ),
                        1.0 - share,
                    )
                )
    return evaluated, issues


def _mislabel_votes(view: EmbeddingView, params: EmbeddingSpec) -> Iterator[tuple[int, int, int, int]]:
    """(vector, other label, votes for it, neighbours) for every likely mislabel, by k-NN label agreement.

    A mislabel must also sit as close to its neighbours as the other class's own examples do (within that
    class's fence); an example far from everything is an outlier, not a mislabel."""
    sims, ids = view.knn(params.neighbors)
    finite = np.where(np.isfinite(sims), sims, np.nan)
    distance = 1.0 - np.nanmean(finite, axis=1)
    fences = {}
    for c in np.unique(view.labels[view.labels >= 0]).tolist():
        own = distance[view.labels == c]
        own = own[np.isfinite(own)]
        if len(own):
            q1, q3 = np.percentile(own, [25, 75])
            fences[int(c)] = q3 + params.outlier_fence * (q3 - q1)
    for v in np.flatnonzero(view.labels >= 0):
        neighbours = ids[v][ids[v] >= 0]
        labels = view.labels[neighbours]
        labels = labels[labels >= 0]
        if len(labels) < 3:
            continue
        others = Counter(x for x in labels.tolist() if x != view.labels[v])
        if not others:
            continue
        other, count = others.most_common(1)[0]
        if count / len(labels) >= params.mislabel_agreement and distance[v] <= fences.get(int(other), np.inf):
            yield int(v), int(other), count, len(labels)


def _mislabel_rows(view: EmbeddingView, params: EmbeddingSpec) -> set[int]:
    return {v for v, _, _, _ in _mislabel_votes(view, params)}


@check("likely-mislabel", "embeddings", Severity.WARNING, params=embedding_params, skip=embeddings_off)
def likely_mislabel(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An example most of whose nearest neighbours carry one other label (k-NN label agreement).

    Ranked by that share: the first ones are the likeliest annotation mistakes."""
    view = view_of(ctx)
    issues = []
    evaluated = int((view.labels >= 0).sum())
    for v, other, count, total in _mislabel_votes(view, params):
        issues.append(
            scored(
                view.issue(
                    "likely-mislabel",
                    f"labeled {ctx.class_names[view.labels[v]]!r} but {count} of its {total} nearest "
                    f"neighbours are {ctx.class_names[other]!r}",
                    v,
                    value=ctx.class_names[other],
                ),
                count / total,
            )
        )
    issues.sort(key=lambda i: -(i.score or 0))
    return evaluated, issues


def _duplicate_groups(ctx: CheckContext, threshold: float) -> list[list[int]]:
    view = view_of(ctx)
    parent = list(range(len(view.rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    view.knn(DUPLICATE_NEIGHBOURS)  # the shared graph first: large indexes take their pairs from it
    for i, j, _ in view.index.pairs_above(threshold, k=DUPLICATE_NEIGHBOURS):
        parent[find(i)] = find(j)
    by_hash: dict[str, list[int]] = defaultdict(list)
    for v, row in enumerate(view.rows.tolist()):
        digest = view.space.content_hashes.get(row)
        if digest:
            by_hash[digest].append(v)
    for members in by_hash.values():
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for v in range(len(view.rows)):
        groups[find(v)].append(v)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _group_kind(ctx: CheckContext, view: EmbeddingView, group: list[int]) -> str:
    items = ctx.dataset.items
    tasks = {int(ctx.columns.task[view.rows[v]]) for v in group}
    media = {items.media[t] for t in tasks}
    if len(tasks) == 1 or (len(media) == 1 and None not in media):
        return "near-identical-frames"
    splits = {int(view.splits[v]) for v in group} - {-1}
    return "duplicate-across-splits" if len(splits) > 1 else "near-duplicate"


def _duplicate_check(code: str, severity: Severity, doc: str) -> Check[Any]:
    def run(ctx: CheckContext, params: Spec) -> Outcome:
        view = view_of(ctx)
        groups = getattr(ctx, "_duplicate_groups", None)
        if groups is None:
            groups = _duplicate_groups(ctx, params.duplicates.max_similarity)
            ctx._duplicate_groups = groups  # type: ignore[attr-defined]
        issues = []
        for group in groups:
            if _group_kind(ctx, view, group) != code:
                continue
            task_ids = sorted({int(ctx.dataset.items.task_id[ctx.columns.task[view.rows[v]]]) for v in group})
            split_names = ctx.columns.split_names
            splits = sorted({split_names[s] for s in view.splits[group].tolist() if s >= 0})
            where = f" across splits {', '.join(splits)}" if code == "duplicate-across-splits" else ""
            similarity = float(np.min(view.space.vectors[group] @ view.space.vectors[group].T))
            issues.append(
                scored(
                    view.issue(
                        code,
                        f"{len(group)} near-identical examples{where} (cosine ≥ {similarity:.3f}): tasks "
                        + ", ".join(map(str, task_ids[:10]))
                        + (" …" if len(task_ids) > 10 else ""),
                        group[0],
                        count=len(group),
                        related=tuple(task_ids),
                    ),
                    similarity,
                )
            )
        return len(view.rows), issues

    run.__doc__ = doc
    return check(code, "embeddings", severity, params=lambda spec: spec, skip=embeddings_off)(run)


near_duplicate = _duplicate_check(
    "near-duplicate",
    Severity.WARNING,
    """Examples from different sources whose embeddings are near-identical (cosine ≥ `duplicates.max_similarity`)
    or whose media bytes are identical, in the same split.

    Duplicates weigh some scenes twice and make the dataset look bigger than it is.""",
)
duplicate_across_splits = _duplicate_check(
    "duplicate-across-splits",
    Severity.ERROR,
    """Near-identical examples in different splits: validation that has seen its answers in training.

    The most common reason validation scores beat production scores.""",
)
near_identical_frames = _duplicate_check(
    "near-identical-frames",
    Severity.INFO,
    """Several examples from one video (or one image) that look the same: frames too close to teach
    anything new.""",
)


def _media_check(code: str, severity: Severity, doc: str) -> Check[Any]:
    from taxospec.checks.labels import _reader_check

    return _reader_check(code, severity, doc, family="embeddings")


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
