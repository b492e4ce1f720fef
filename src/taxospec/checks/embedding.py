"""Embedding checks: cohesion, outliers, hard-negative separation, mislabels, near-duplicates, prompts and
zero-shot axis values, all measured in the CLIP space of the spec's model, with thresholds calibrated per
class on the dataset itself (Tukey fences, shares of neighbours), not one absolute number.

Every check reads the one `EmbeddingView` of the run: the vectors, their labels and splits, and the FAISS
index with its k-NN graph, built once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import Check, CheckContext, Outcome, SkipCheck, check
from taxospec.dataset import ReadIssue
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import EmbeddingSpec, Spec

MAX_CENTROID_CONFUSION = 0.1
"""Share of a positive's examples closer to a hard negative's centroid above which the pair is too close."""
INNER_FENCE = 1.5
"""Tukey's inner fence, for checks that require a second signal besides being unusual."""
DUPLICATE_NEIGHBOURS = 32
"""Neighbours per example searched once for all checks (near-duplicate groups of up to this size)."""

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
            mean = self.space.vectors[self.labels == c].mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                out[int(c)] = (mean / norm).astype(np.float32)
        return out

    def issue(self, code: str, message: str, vector: int, **where: Any) -> ReadIssue:
        """An issue located at the sample of `vector`."""
        return self.ctx.issue(code, message, int(self.rows[vector]), **where)


def _view(ctx: CheckContext) -> EmbeddingView:
    view = getattr(ctx, "_embedding_view", None)
    if view is None:
        view = EmbeddingView(ctx)
        ctx._embedding_view = view  # type: ignore[attr-defined]
    view.space  # noqa: B018 - raises SkipCheck when there are no embeddings
    return view


def _embedding(spec: Spec) -> EmbeddingSpec:
    return spec.embedding


def _off(spec: Spec) -> str | None:
    return None if spec.embedding.enabled else "embedding checks are off in the spec (embedding.enabled: false)"


def _percentile_rank(values: npt.NDArray[np.float64], value: float) -> float:
    return float((values < value).mean()) if len(values) else 0.0


@check("outlier", "embeddings", Severity.WARNING, params=_embedding, skip=_off)
def outlier(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An example far from the rest of its class (mean distance to its class neighbours above the class's
    Q3 + `outlier_fence` × IQR) that nothing more specific explains (likely mislabels and boxes framing
    background are reported as such).

    Outliers are often wrong crops, wrong media, or a rare condition; look at them first. The fence is
    computed per class, so a naturally diverse class is not punished for its spread."""
    from taxospec.embeddings.index import NeighborIndex

    view = _view(ctx)
    explained = _mislabel_rows(view, params)  # far from its class because it belongs to another: a mislabel
    if view.space.context_vectors and ctx.spec.unit == "box" and ctx.spec.tightness.spatial.main_subject:
        explained |= set(_background_boxes(view)[1])  # far from its class because it frames background
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
            issues.append(_scored(issue, _percentile_rank(distance, distance[m])))
    return evaluated, issues


@check("class-not-cohesive", "embeddings", Severity.WARNING, skip=_off)
def class_not_cohesive(ctx: CheckContext, params: None) -> Outcome:
    """A class fewer than half of whose examples are closer to its own centroid than to another class's.

    Such a class does not cluster: it mixes looks, or its label means different things to annotators."""
    view = _view(ctx)
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
                _scored(
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


@check("hard-negative-confusion", "embeddings", Severity.WARNING, params=_embedding, skip=_off)
def hard_negative_confusion(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A positive example whose nearest neighbours are mostly its named hard negatives.

    The model will confuse exactly these: check the label, or collect clearer examples of the difference."""
    view = _view(ctx)
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
                    _scored(
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


@check("hard-negative-margin", "embeddings", Severity.WARNING, skip=_off)
def hard_negative_margin(ctx: CheckContext, params: None) -> Outcome:
    """A positive class and one of its hard negatives too close: more than 10 % of the positive's examples
    are closer to the negative's centroid than to their own.

    The pair is not separable in this embedding space; the fine-tune must learn the difference from few,
    clear examples, so collect more of them."""
    view = _view(ctx)
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
                    _scored(
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


@check("likely-mislabel", "embeddings", Severity.WARNING, params=_embedding, skip=_off)
def likely_mislabel(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An example most of whose nearest neighbours carry one other label (k-NN label agreement).

    Ranked by that share: the first ones are the likeliest annotation mistakes."""
    view = _view(ctx)
    issues = []
    evaluated = int((view.labels >= 0).sum())
    for v, other, count, total in _mislabel_votes(view, params):
        issues.append(
            _scored(
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
    view = _view(ctx)
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
        view = _view(ctx)
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
                _scored(
                    view.issue(
                        code,
                        f"{len(group)} near-identical examples{where} (cosine ≥ {similarity:.3f}): tasks "
                        + ", ".join(map(str, task_ids[:10]))
                        + (" …" if len(task_ids) > 10 else ""),
                        group[0],
                        count=len(group),
                    ),
                    similarity,
                )
            )
        return len(view.rows), issues

    run.__doc__ = doc
    return check(code, "embeddings", severity, params=lambda spec: spec, skip=_off)(run)


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


def _prompt_classes(ctx: CheckContext, view: EmbeddingView) -> list[tuple[int, tuple[str, ...]]]:
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    return [
        (ctx.class_names.index(name), cls.prompts)
        for name, cls in ctx.spec.classes.items()
        if cls.prompts and int((view.labels == ctx.class_names.index(name)).sum()) >= 5
    ]


@check("prompt-incoherent", "embeddings", Severity.WARNING, params=_embedding, skip=_off)
def prompt_incoherent(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """The original prompt of a class and a paraphrase retrieve different examples of it (overlap of their
    top examples below `min_prompt_overlap`).

    A visually coherent class comes back the same whichever way it is asked for; if not, the class mixes
    looks that the text does not separate."""
    view = _view(ctx)
    issues = []
    evaluated = 0
    for c, prompts in _prompt_classes(ctx, view):
        if len(prompts) < 2:
            continue
        members = np.flatnonzero(view.labels == c)
        top = max(5, len(members) // 2)
        text = view.space.texts(list(prompts))
        sims = view.space.vectors[members] @ text.T
        sets = [set(np.argsort(-sims[:, p])[:top].tolist()) for p in range(len(prompts))]
        for p in range(1, len(prompts)):
            evaluated += 1
            overlap = len(sets[0] & sets[p]) / len(sets[0] | sets[p])
            if overlap < params.min_prompt_overlap:
                issues.append(
                    _scored(
                        ctx.issue(
                            "prompt-incoherent",
                            f"class {ctx.class_names[c]!r}: {prompts[0]!r} and {prompts[p]!r} retrieve different "
                            f"examples (overlap {overlap:.0%} of their top {top})",
                            class_name=ctx.class_names[c],
                            value=prompts[p],
                        ),
                        overlap,
                    )
                )
    return evaluated, issues


@check("positive-unreached", "embeddings", Severity.INFO, skip=_off)
def positive_unreached(ctx: CheckContext, params: None) -> Outcome:
    """A positive example that none of its class's prompts retrieves (not among the top 2 × class-size
    results of any prompt over the whole dataset).

    Either the example is atypical for its class, or the prompts miss a look the class really has."""
    view = _view(ctx)
    issues = []
    evaluated = 0
    positives = {ctx.class_names.index(p) for p in ctx.spec.positives}
    for c, prompts in _prompt_classes(ctx, view):
        if c not in positives:
            continue
        members = np.flatnonzero(view.labels == c)
        reach = min(len(view.rows), 2 * len(members))
        sims = view.space.vectors @ view.space.texts(list(prompts)).T
        reached: set[int] = set()
        for p in range(len(prompts)):
            reached |= set(np.argsort(-sims[:, p])[:reach].tolist())
        evaluated += len(members)
        for v in members:
            if v not in reached:
                issues.append(
                    _scored(
                        view.issue(
                            "positive-unreached",
                            f"none of the {len(prompts)} prompt(s) of {ctx.class_names[c]!r} retrieves this example",
                            v,
                        ),
                        float(sims[v].max()),
                    )
                )
    return evaluated, issues


@check("axis-value-disputed", "embeddings", Severity.WARNING, params=_embedding, skip=_off)
def axis_value_disputed(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An annotated axis value that a confident zero-shot guess from the axis's value prompts contradicts.

    Catches "night" tagged as "day" and crowds tagged as "none" before they skew the coverage counts."""
    view = _view(ctx)
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    issues = []
    evaluated = 0
    for a, (axis_name, axis) in enumerate(ctx.spec.axes.items()):
        values = [v for v in axis.values if axis.prompts.get(v)]
        if len(values) < 2:
            continue
        text = np.stack([view.space.texts(list(axis.prompts[v])).mean(axis=0) for v in values])
        text /= np.linalg.norm(text, axis=1, keepdims=True)
        logits = view.space.logit_scale * (view.space.vectors @ text.T)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        annotated = ctx.columns.axes[a][view.rows]
        for v in np.flatnonzero(annotated >= 0):
            value = axis.values[annotated[v]]
            if value not in values:
                continue
            evaluated += 1
            guess = int(np.argmax(probs[v]))
            if values[guess] != value and probs[v][guess] >= params.zero_shot_confidence:
                issues.append(
                    _scored(
                        view.issue(
                            "axis-value-disputed",
                            f"annotated {axis_name}={value}, but it looks like {axis_name}={values[guess]} "
                            f"(zero-shot probability {probs[v][guess]:.2f})",
                            v,
                            axis=axis_name,
                            value=values[guess],
                        ),
                        float(probs[v][guess]),
                    )
                )
    return evaluated, issues


def _lower_fence(values: npt.NDArray[np.float64], factor: float) -> float:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1 - factor * (q3 - q1))


def _no_frames(spec: Spec) -> str | None:
    return _off(spec) or (None if spec.unit in ("segment", "track") else "the spec's unit has no video frames")


def _no_boxes(spec: Spec) -> str | None:
    if _off(spec):
        return _off(spec)
    if spec.unit not in ("box",):
        return "the spec's unit has no boxes"
    return None if spec.tightness.spatial.main_subject else "tightness.spatial.main_subject is off"


@check("segment-ends-loose", "embeddings", Severity.WARNING, params=_embedding, skip=_no_frames)
def segment_ends_loose(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A segment whose first or last sampled frames look much less like its class than its own middle frame
    does (by more than the class's segments usually vary), with tighter bounds from the frames that do.

    Loose ends teach the run-up and the aftermath as the action. Needs `frames_per_segment` ≥ 3."""
    from taxospec.embeddings.frames import segment_times

    view = _view(ctx)
    frames = view.space.frame_vectors
    if not frames:
        raise SkipCheck("no per-frame vectors (video segments embedded with frames_per_segment ≥ 3)")
    cols = ctx.columns
    issues = []
    evaluated = 0
    for c, centroid in sorted(view.centroids.items()):
        members = [int(r) for r in view.rows[view.labels == c] if int(r) in frames and len(frames[int(r)]) >= 3]
        if len(members) < 5:
            continue
        sims = {r: frames[r] @ centroid for r in members}
        middle = {r: float(s[len(s) // 2]) for r, s in sims.items()}
        contrasts = np.asarray([middle[r] - float(s[i]) for r, s in sims.items() for i in (0, -1)], dtype=np.float64)
        q1, q3 = np.percentile(contrasts, [25, 75])
        spread = np.subtract(*np.percentile(np.asarray(list(middle.values())), [75, 25]))
        # an end counts as loose when it drops from the segment's own middle by more than the class's ends
        # usually do (Tukey fence), and by more than half the spread of the class's middles
        fence = max(q3 + params.outlier_fence * (q3 - q1), 0.5 * float(spread), 0.05)
        for row in members:
            evaluated += 1
            inside = np.flatnonzero(sims[row] >= middle[row] - fence)
            if not len(inside) or (inside[0] == 0 and inside[-1] == len(sims[row]) - 1):
                continue
            times = segment_times(
                float(cols.start_s[row]),
                float(cols.end_s[row]),
                float(cols.start_frame[row]),
                float(cols.end_frame[row]),
                len(sims[row]),
            )
            loose = []
            if inside[0] > 0:
                loose.append(f"the first {inside[0]} of {len(times)} frames ({times[0]:.2f}–{times[inside[0]]:.2f} s)")
            if inside[-1] < len(times) - 1:
                loose.append(f"the last {len(times) - 1 - inside[-1]} ({times[inside[-1]]:.2f}–{times[-1]:.2f} s)")
            issue = ctx.issue(
                "segment-ends-loose",
                f"{' and '.join(loose)} look unlike {ctx.class_names[c]!r}; tighter bounds: "
                f"{times[inside[0]]:.2f}–{times[inside[-1]]:.2f} s",
                row,
            )
            issues.append(_scored(issue, float(min(sims[row][0], sims[row][-1]))))
    return evaluated, issues


@check("box-background-action", "embeddings", Severity.WARNING, params=_embedding, skip=_no_boxes)
def box_background_action(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A box whose crop looks unlike its class (below the class's inner fence, Q1 − 1.5 × IQR) while its
    whole image does not (above the inner fence of the class's whole images): the box frames background,
    and the target is elsewhere in the picture.

    The spec's `tightness.spatial.main_subject`: the target must be the main subject of its box."""
    view = _view(ctx)
    if not view.space.context_vectors:
        raise SkipCheck("no whole-image vectors (box examples embedded from media)")
    evaluated, flagged = _background_boxes(view)
    issues = [
        _scored(
            view.issue(
                "box-background-action",
                f"the box looks unlike {ctx.class_names[view.labels[v]]!r} (similarity {crop:.3f}, class fence "
                f"{fence:.3f}) while its whole image looks like the class's images: it may frame background",
                v,
            ),
            whole - crop,
        )
        for v, (crop, fence, whole) in sorted(flagged.items())
    ]
    return evaluated, issues


def _background_boxes(view: EmbeddingView) -> tuple[int, dict[int, tuple[float, float, float]]]:
    """(boxes examined, {vector: (crop similarity, crop fence, whole-image similarity)} of boxes whose crop
    is unusual for their class while their whole image is not)."""
    context = view.space.context_vectors
    flagged: dict[int, tuple[float, float, float]] = {}
    evaluated = 0
    for c, centroid in sorted(view.centroids.items()):
        members = [(v, int(r)) for v, r in enumerate(view.rows.tolist()) if view.labels[v] == c and int(r) in context]
        if len(members) < 5:
            continue
        crops = np.asarray([view.space.vectors[v] @ centroid for v, _ in members], dtype=np.float64)
        wholes = np.stack([context[r] for _, r in members])
        whole_centroid = wholes.mean(axis=0)
        whole_centroid /= max(float(np.linalg.norm(whole_centroid)), 1e-12)
        whole_sims = (wholes @ whole_centroid).astype(np.float64)
        crop_fence = _lower_fence(crops, INNER_FENCE)  # two signals together: the inner fence suffices
        whole_fence = _lower_fence(whole_sims, INNER_FENCE)
        evaluated += len(members)
        for (v, _), crop_sim, whole_sim in zip(members, crops, whole_sims, strict=True):
            if crop_sim < crop_fence and whole_sim >= whole_fence:
                flagged[v] = (float(crop_sim), crop_fence, float(whole_sim))
    return evaluated, flagged


@check("scenario-gap", "embeddings", Severity.WARNING, skip=_off)
def scenario_gap(ctx: CheckContext, params: None) -> Outcome:
    """An axis value that no example of a class looks like (zero-shot from the value's prompts), whatever the
    annotations say: a scenario the data does not reach.

    Cross-checks the coverage counts with what the pictures show; collect the scenario if it is missing."""
    view = _view(ctx)
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    issues = []
    evaluated = 0
    for axis_name, axis in ctx.spec.axes.items():
        values = [v for v in axis.values if axis.prompts.get(v)]
        if len(values) < 2:
            continue
        text = np.stack([view.space.texts(list(axis.prompts[v])).mean(axis=0) for v in values])
        guess = np.argmax(view.space.vectors @ text.T, axis=1)
        for name in ctx.spec.classes:
            c = ctx.class_names.index(name)
            members = view.labels == c
            if axis_name not in ctx.spec.axes_of(name) or int(members.sum()) < 5:
                continue
            seen = set(guess[members].tolist())
            for i, value in enumerate(values):
                if value not in ctx.spec.axis_values_of(name, axis_name):
                    continue
                evaluated += 1
                if i not in seen:
                    issues.append(
                        ctx.issue(
                            "scenario-gap",
                            f"no {name!r} example looks like {axis_name}={value} (zero-shot over "
                            f"{int(members.sum())} examples): collect that scenario",
                            class_name=name,
                            axis=axis_name,
                            value=value,
                        )
                    )
    return evaluated, issues


def _scored(issue: ReadIssue, score: float) -> ReadIssue:
    from dataclasses import replace

    return replace(issue, score=round(float(np.clip(score, 0.0, 1.0)), 4))


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
