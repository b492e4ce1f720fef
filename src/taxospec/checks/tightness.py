"""Tightness checks: segments as long as the action, boxes as big as the object and inside the frame."""

from __future__ import annotations

from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.dataset import KIND_BOX, KIND_POLYGON, KIND_SEGMENT, KIND_TRACK
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import SpatialTightness, Spec, TemporalTightness


def _not_video(spec: Spec) -> str | None:
    return None if spec.media == "video" else "the spec's media is not video"


def _no_boxes(spec: Spec) -> str | None:
    return None if spec.unit in ("box", "track") else "the spec's unit has no boxes"


@check(
    "segment-too-short", "tightness", Severity.ERROR, params=lambda s: s.tightness.temporal, skip=_not_video, local=True
)
def segment_too_short(ctx: CheckContext, params: TemporalTightness) -> Outcome:
    """A segment shorter than `tightness.temporal.min_seconds`: too few frames to show the action."""
    cols = ctx.columns
    segments = cols.kind == KIND_SEGMENT
    duration = cols.end_s - cols.start_s
    bad = segments & (duration >= 0) & (duration < params.min_seconds)
    issues = ctx.per_sample(
        bad,
        lambda s: f"the segment lasts {duration[s]:.2f} s; the spec asks for at least {params.min_seconds:g} s",
    )
    return int(segments.sum()), issues


@check(
    "segment-too-long", "tightness", Severity.ERROR, params=lambda s: s.tightness.temporal, skip=_not_video, local=True
)
def segment_too_long(ctx: CheckContext, params: TemporalTightness) -> Outcome:
    """A segment longer than `tightness.temporal.max_seconds`: mostly frames that are not the action.

    Loose segments teach the model the run-up and the aftermath instead of the moment itself."""
    cols = ctx.columns
    segments = cols.kind == KIND_SEGMENT
    if params.max_seconds is None:
        return int(segments.sum()), []
    duration = cols.end_s - cols.start_s
    bad = segments & (duration > params.max_seconds)
    limit = params.max_seconds
    issues = ctx.per_sample(
        bad,
        lambda s: f"the segment lasts {duration[s]:.2f} s; the spec allows at most {limit:g} s",
    )
    return int(segments.sum()), issues


def _area_and_sides(ctx: CheckContext) -> tuple[Any, Any, Any]:
    cols = ctx.columns
    boxes = np.isin(cols.kind, (KIND_BOX, KIND_POLYGON, KIND_TRACK)) & np.isfinite(cols.area)
    side_px = np.minimum(cols.w * cols.image_w, cols.h * cols.image_h) / 100
    return boxes, cols.area, side_px


@check("box-too-small", "tightness", Severity.ERROR, params=lambda s: s.tightness.spatial, skip=_no_boxes, local=True)
def box_too_small(ctx: CheckContext, params: SpatialTightness) -> Outcome:
    """A box smaller than `min_area` of the frame or with a side under `min_side_px` pixels.

    Objects of a few pixels carry almost no signal after resizing to the model's input size."""
    boxes, area, side_px = _area_and_sides(ctx)
    positive = boxes & (area > 0)
    with np.errstate(invalid="ignore"):
        small_side = np.isfinite(side_px) & (side_px < params.min_side_px)
        bad = positive & ((area < params.min_area) | small_side)

    def describe(s: int) -> str:
        side = f", shortest side {side_px[s]:.1f} px" if np.isfinite(side_px[s]) else ""
        return (
            f"the box covers {area[s]:.3%} of the frame{side}; the spec asks for at least "
            f"{params.min_area:.3%} and {params.min_side_px} px"
        )

    issues = ctx.per_sample(bad, describe)
    return int(boxes.sum()), issues


@check("box-too-large", "tightness", Severity.ERROR, params=lambda s: s.tightness.spatial, skip=_no_boxes, local=True)
def box_too_large(ctx: CheckContext, params: SpatialTightness) -> Outcome:
    """A box larger than `max_area` of the frame: it labels the scene, not the object."""
    boxes, area, _ = _area_and_sides(ctx)
    bad = boxes & (area > params.max_area)
    issues = ctx.per_sample(
        bad,
        lambda s: f"the box covers {area[s]:.0%} of the frame; the spec allows at most {params.max_area:.0%}",
    )
    return int(boxes.sum()), issues


@check(
    "box-cut-by-edge", "tightness", Severity.WARNING, params=lambda s: s.tightness.spatial, skip=_no_boxes, local=True
)
def box_cut_by_edge(ctx: CheckContext, params: SpatialTightness) -> Outcome:
    """A box touching the frame edge (within `edge_margin`): the object is probably cut off.

    A partial object teaches a partial shape; keep them deliberately, not by accident."""
    cols = ctx.columns
    boxes = np.isin(cols.kind, (KIND_BOX, KIND_POLYGON, KIND_TRACK)) & np.isfinite(cols.x) & np.isfinite(cols.w)
    if not params.flag_edge_cut:
        return int(boxes.sum()), []
    margin = params.edge_margin * 100
    with np.errstate(invalid="ignore"):
        x1, y1 = cols.x + cols.w, cols.y + cols.h
        inside = (cols.x >= -0.01) & (cols.y >= -0.01) & (x1 <= 100.01) & (y1 <= 100.01)
        touching = (cols.x <= margin) | (cols.y <= margin) | (x1 >= 100 - margin) | (y1 >= 100 - margin)
    bad = boxes & inside & touching & (np.nan_to_num(cols.rotation) == 0)

    def describe(s: int) -> str:
        edges = [
            name
            for name, hit in (
                ("left", cols.x[s] <= margin),
                ("top", cols.y[s] <= margin),
                ("right", x1[s] >= 100 - margin),
                ("bottom", y1[s] >= 100 - margin),
            )
            if hit
        ]
        return f"the box touches the {' and '.join(edges)} edge"

    issues = ctx.per_sample(bad, describe)
    return int(boxes.sum()), issues


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The tightness checks."""
    return [segment_too_short, segment_too_long, box_too_small, box_too_large, box_cut_by_edge]
