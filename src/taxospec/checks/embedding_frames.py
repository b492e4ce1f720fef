"""Embedding checks of where an example is taken from its media: the frames at a segment's ends (temporal
tightness) and a box against the whole image it is in (spatial focus)."""

from __future__ import annotations

import numpy as np

from taxospec.checks.base import CheckContext, Outcome, SkipCheck, check
from taxospec.checks.embedding_view import (
    INNER_FENCE,
    EmbeddingView,
    embedding_params,
    embeddings_off,
    lower_fence,
    scored,
    view_of,
)
from taxospec.findings import Severity
from taxospec.spec.model import EmbeddingSpec, Spec


def _no_frames(spec: Spec) -> str | None:
    frames = spec.unit in ("segment", "track")
    return embeddings_off(spec) or (None if frames else "the spec's unit has no video frames")


def _no_boxes(spec: Spec) -> str | None:
    if embeddings_off(spec):
        return embeddings_off(spec)
    if spec.unit not in ("box",):
        return "the spec's unit has no boxes"
    return None if spec.tightness.spatial.main_subject else "tightness.spatial.main_subject is off"


@check("segment-ends-loose", "embeddings", Severity.WARNING, params=embedding_params, skip=_no_frames)
def segment_ends_loose(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A segment whose first or last sampled frames look much less like its class than its own middle frame
    does (by more than the class's segments usually vary), with tighter bounds from the frames that do.

    Loose ends teach the run-up and the aftermath as the action. Needs `frames_per_segment` ≥ 3."""
    from taxospec.embeddings.frames import segment_times

    view = view_of(ctx)
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
            issue = ctx.flag(
                f"{' and '.join(loose)} look unlike {ctx.class_names[c]!r}; tighter bounds: "
                f"{times[inside[0]]:.2f}–{times[inside[-1]]:.2f} s",
                row,
                suggested_seconds=(round(float(times[inside[0]]), 3), round(float(times[inside[-1]]), 3)),
            )
            issues.append(scored(issue, float(min(sims[row][0], sims[row][-1]))))
    return evaluated, issues


@check("box-background-action", "embeddings", Severity.WARNING, params=embedding_params, skip=_no_boxes)
def box_background_action(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """A box whose crop looks unlike its class (below the class's inner fence, Q1 − 1.5 × IQR) while its
    whole image does not (above the inner fence of the class's whole images): the box frames background,
    and the target is elsewhere in the picture.

    The spec's `tightness.spatial.main_subject`: the target must be the main subject of its box."""
    view = view_of(ctx)
    if not view.space.context_vectors:
        raise SkipCheck("no whole-image vectors (box examples embedded from media)")
    evaluated, flagged = background_boxes(view)
    issues = [
        scored(
            view.flag(
                f"the box looks unlike {ctx.class_names[view.labels[v]]!r} (similarity {crop:.3f}, class fence "
                f"{fence:.3f}) while its whole image looks like the class's images: it may frame background",
                v,
            ),
            whole - crop,
        )
        for v, (crop, fence, whole) in sorted(flagged.items())
    ]
    return evaluated, issues


def background_boxes(view: EmbeddingView) -> tuple[int, dict[int, tuple[float, float, float]]]:
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
        crop_fence = lower_fence(crops, INNER_FENCE)  # two signals together: the inner fence suffices
        whole_fence = lower_fence(whole_sims, INNER_FENCE)
        evaluated += len(members)
        for (v, _), crop_sim, whole_sim in zip(members, crops, whole_sims, strict=True):
            if crop_sim < crop_fence and whole_sim >= whole_fence:
                flagged[v] = (float(crop_sim), crop_fence, float(whole_sim))
    return evaluated, flagged
