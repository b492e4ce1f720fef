"""Label and attribute checks: every example labeled with a spec class, valid values, sane geometry."""

from __future__ import annotations

from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.dataset import KIND_BOX, KIND_POLYGON, KIND_SEGMENT, KIND_TRACK, VALUE_MISSING, Written
from taxospec.findings import Flag, Severity
from taxospec.plugins.hookspecs import hookimpl

EDGE_TOLERANCE = 0.01
"""Percent of the image a box may stick out by (editor rounding) before it is outside."""


def _reader_check(name: str, severity: Severity, doc: str, family: str = "labels", local: bool = True) -> Check[Any]:
    """A check that reports what a reader found wrong with the export's own structure under `name` (only
    the reader sees a task that is not an object, or a result without a value)."""

    def run(ctx: CheckContext, params: None) -> Outcome:
        issues = ctx.from_reader(name)
        evaluated = max(len(ctx.dataset.samples), len(issues))
        return evaluated, issues

    run.__doc__ = doc
    return check(name, family, severity, local=local)(run)


def _where(region_id: str | None) -> str:
    return f"region {region_id!r}" if region_id else "the task"


def _labels_written(ctx: CheckContext) -> list[Written]:
    """The class labels as written where they name no class of the spec."""
    return [w for w in ctx.dataset.written if w.axis is None]


def _at(written: Written, message: str, **where: Any) -> Flag:
    return Flag(message, written.task, written.annotation_id, written.region_id, **where)


@check("unknown-label", "labels", Severity.ERROR, local=True)
def unknown_label(ctx: CheckContext, params: None) -> Outcome:
    """A region or image labeled with something that is not a class of the spec.

    A label outside the taxonomy is a typo, a renamed class or a class nobody agreed on; training on it
    either drops the example or teaches a class the spec does not have."""
    flags = [
        _at(
            w,
            f"{_where(w.region_id)} is labeled {w.values[0]!r}, which is not a class of the spec",
            value=str(w.values[0]),
        )
        for w in _labels_written(ctx)
        if w.values is not None and len(w.values) == 1
    ]
    return max(len(ctx.dataset.samples), len(flags)), flags


@check("empty-label", "labels", Severity.ERROR, local=True)
def empty_label(ctx: CheckContext, params: None) -> Outcome:
    """An example with no class: an empty label list, or no class choice on a whole-image task.

    The example is invisible to training, and usually means the annotator skipped a step."""
    flags = [
        _at(w, f"{_where(w.region_id)} has {'no class label' if w.values is None else 'an empty label list'}")
        for w in _labels_written(ctx)
        if not w.values
    ]
    return max(len(ctx.dataset.samples), len(flags)), flags


@check("multiple-labels", "labels", Severity.ERROR, local=True)
def multiple_labels(ctx: CheckContext, params: None) -> Outcome:
    """Several labels (or several values of one axis) where exactly one is allowed.

    A training example has one class; two labels on one box are a contradiction the model cannot learn."""
    flags = []
    for w in ctx.dataset.written:
        if w.values is None or len(w.values) < 2:
            continue
        if w.axis is None:
            shown = ", ".join(repr(x) for x in w.values[:5])
            flags.append(_at(w, f"{_where(w.region_id)} has {len(w.values)} labels ({shown})"))
        else:
            message = f"axis {w.axis!r} has {len(w.values)} values where one is allowed"
            flags.append(_at(w, message, axis=w.axis))
    return max(len(ctx.dataset.samples), len(flags)), flags


@check("axis-value-unknown", "labels", Severity.ERROR, local=True)
def axis_value_unknown(ctx: CheckContext, params: None) -> Outcome:
    """An axis value that the spec does not list (a typo, or a value added in Label Studio only).

    Coverage is counted over the spec's values; an unknown value counts for nothing."""
    flags = []
    for w in ctx.dataset.written:
        if w.axis is None or not w.values or w.values[0] in ctx.spec.axes[w.axis].values:
            continue
        value = w.values[0]
        message = f"axis {w.axis!r} has value {value!r}, which the spec does not list"
        flags.append(_at(w, message, axis=w.axis, value=str(value)))
    return max(len(ctx.dataset.samples), len(flags)), flags


malformed_task = _reader_check(
    "malformed-task",
    Severity.ERROR,
    """A task the export should not contain: not an object, no id, `data` missing or null.

    Such tasks cannot be checked or trained on; they usually come from a broken import.""",
    family="hygiene",
)
malformed_result = _reader_check(
    "malformed-result",
    Severity.ERROR,
    """A result Label Studio could not have written: no `value`, no `from_name`, non-numeric coordinates.

    The region cannot be read, so it is neither checked nor usable for training.""",
)
polygon_too_few_points = _reader_check(
    "polygon-too-few-points",
    Severity.ERROR,
    """A polygon with fewer than three points has no area: a mis-click, not an object.""",
)
phantom_timeline_region = _reader_check(
    "phantom-timeline-region",
    Severity.WARNING,
    """A `timelinelabels` result without ranges that duplicates a video rectangle (Label Studio issue 9744).

    Naive converters turn these into empty or bogus segments; taxospec ignores them and says where they
    are.""",
)
duplicate_region_id = _reader_check(
    "duplicate-region-id",
    Severity.ERROR,
    """Two different regions share one region id within an annotation.

    Per-region attributes are joined by id, so they may land on the wrong region.""",
)


@check("unknown-control", "config", Severity.WARNING)
def unknown_control(ctx: CheckContext, params: None) -> Outcome:
    """Results from a control that neither the config nor the spec knows (reported once per control).

    Either the spec is missing an axis, or the export comes from a different project than it thinks."""
    dataset = ctx.dataset
    flags = [
        Flag(
            f"control {name!r} appears in {seen.count} result(s) but is not in {dataset.fields_known_from}",
            seen.task,
            seen.annotation_id,
            count=seen.count,
            value=name,
        )
        for name, seen in sorted(dataset.unknown_fields.items())
    ]
    return max(len(dataset.samples), len(flags)), flags


@check("config-mismatch", "config", Severity.ERROR)
def config_mismatch(ctx: CheckContext, params: None) -> Outcome:
    """Where the labeling tool's config and the spec disagree: missing labels, axis controls or choices.

    Annotators can only pick what the config offers; a spec class missing from it can never be labeled."""
    mismatches = ctx.from_reader("config-mismatch")  # the reader compares its tool's config with the spec
    return max(1, len(mismatches)), mismatches


def _missing_axis_values(ctx: CheckContext, scope: str) -> Outcome:
    cols = ctx.columns
    issues = []
    evaluated = 0
    for i, (axis_name, axis) in enumerate(ctx.spec.axes.items()):
        if axis.scope != scope or not axis.required:
            continue
        applies = np.array([axis_name in ctx.spec.axes_of(name) for name in ctx.class_names], dtype=bool)
        relevant = ctx.valid & applies[np.clip(cols.class_idx, 0, None)]
        evaluated += int(relevant.sum())
        for sample in np.flatnonzero(relevant & (cols.axes[i] == VALUE_MISSING)):
            where = "the region" if scope == "region" else "the task"
            issues.append(ctx.flag(f"{where} has no value for axis {axis_name!r}", int(sample), axis=axis_name))
    return evaluated, issues


@check("axis-value-missing", "labels", Severity.ERROR, local=True)
def axis_value_missing(ctx: CheckContext, params: None) -> Outcome:
    """An example without a value for a required axis that applies to its class (task-level axes).

    Untagged examples cannot count towards coverage, so the collection plan would ask for data you have."""
    return _missing_axis_values(ctx, "item")


@check("region-attribute-missing", "labels", Severity.ERROR, local=True)
def region_attribute_missing(ctx: CheckContext, params: None) -> Outcome:
    """A region without its per-region attribute for a required region-scope axis (e.g. angle, distance).

    Label Studio does not enforce per-region `required` on import or through the API."""
    return _missing_axis_values(ctx, "region")


def _box_corners(ctx: CheckContext) -> tuple[Any, ...]:
    """Min/max x and y of every box's (rotated) corners, in percent of the image."""
    cols = ctx.columns
    theta = np.deg2rad(np.nan_to_num(cols.rotation))
    sx = np.where(np.isfinite(cols.image_w) & (cols.image_w > 0), cols.image_w / 100, 1.0)
    sy = np.where(np.isfinite(cols.image_h) & (cols.image_h > 0), cols.image_h / 100, 1.0)
    w, h = cols.w * sx, cols.h * sy
    dx = np.stack([np.zeros_like(w), w, w, np.zeros_like(w)])
    dy = np.stack([np.zeros_like(h), np.zeros_like(h), h, h])
    cos, sin = np.cos(theta), np.sin(theta)
    xs = cols.x + (dx * cos - dy * sin) / sx
    ys = cols.y + (dx * sin + dy * cos) / sy
    return xs.min(axis=0), xs.max(axis=0), ys.min(axis=0), ys.max(axis=0)


@check("box-outside-image", "labels", Severity.ERROR, local=True)
def box_outside_image(ctx: CheckContext, params: None) -> Outcome:
    """A box (or polygon, or a track at any keyframe) that extends beyond the image.

    Coordinates outside 0-100 % come from broken converters or imports; crops of them are wrong or fail."""
    cols = ctx.columns
    spatial = np.isin(cols.kind, (KIND_BOX, KIND_POLYGON)) & np.isfinite(cols.x)
    with np.errstate(invalid="ignore", over="ignore"):
        x0, x1, y0, y1 = _box_corners(ctx)
        outside = spatial & (
            (x0 < -EDGE_TOLERANCE)
            | (y0 < -EDGE_TOLERANCE)
            | (x1 > 100 + EDGE_TOLERANCE)
            | (y1 > 100 + EDGE_TOLERANCE)
            | ~np.isfinite(x1)
            | ~np.isfinite(y1)
        )
    issues = ctx.per_sample(
        outside,
        lambda s: f"the box spans x {_pct(x0[s])}–{_pct(x1[s])}, y {_pct(y0[s])}–{_pct(y1[s])} of the image",
    )
    tracks = ctx.from_reader("box-outside-image")  # every keyframe of a track is checked while reading
    return int(spatial.sum()) + int((cols.kind == KIND_TRACK).sum()), issues + tracks


@check("box-degenerate", "labels", Severity.ERROR, local=True)
def box_degenerate(ctx: CheckContext, params: None) -> Outcome:
    """A box of zero or negative width or height: a click, not a drawn region."""
    cols = ctx.columns
    boxes = np.isin(cols.kind, (KIND_BOX, KIND_TRACK)) & np.isfinite(cols.w) & np.isfinite(cols.h)
    bad = boxes & ((cols.w <= 0) | (cols.h <= 0))
    issues = ctx.per_sample(bad, lambda s: f"the box is {cols.w[s]:g} × {cols.h[s]:g} % of the image")
    return int(boxes.sum()), issues


@check("segment-reversed", "labels", Severity.ERROR, local=True)
def segment_reversed(ctx: CheckContext, params: None) -> Outcome:
    """A segment whose end frame comes before its start frame."""
    cols = ctx.columns
    timed = np.isin(cols.kind, (KIND_SEGMENT, KIND_TRACK))
    bad = timed & (cols.end_frame < cols.start_frame)
    issues = ctx.per_sample(
        bad,
        lambda s: f"the segment ends at frame {cols.end_frame[s]:g} before it starts at frame {cols.start_frame[s]:g}",
    )
    return int(timed.sum()), issues


@check("segment-outside-video", "labels", Severity.ERROR)
def segment_outside_video(ctx: CheckContext, params: None) -> Outcome:
    """A segment that starts before the first frame or ends after the last one (when the length is known:
    from the export, or from the video itself where taxospec read it)."""
    cols = ctx.columns
    timed = np.isin(cols.kind, (KIND_SEGMENT, KIND_TRACK))
    length = cols.frames_count.copy()
    facts = ctx.video_facts
    if facts:
        read = np.asarray([facts[t][1] if t in facts else np.nan for t in range(len(ctx.dataset.items))])
        length = np.where(np.isfinite(length), length, read[cols.task] if len(cols.task) else length)
    with np.errstate(invalid="ignore"):
        beyond = np.isfinite(length) & (cols.end_frame > length)
        bad = timed & ((cols.start_frame < 1) | beyond)

    def describe(s: int) -> str:
        frames = f" of {length[s]:g}" if np.isfinite(length[s]) else ""
        return f"the segment covers frames {cols.start_frame[s]:g}–{cols.end_frame[s]:g}{frames}"

    issues = ctx.per_sample(bad, describe)
    return int(timed.sum()), issues


FRAME_RATE_TOLERANCE = 0.01
"""Relative difference between a video's own frame rate and the one its frames were timed with, above
which the times are wrong."""


@check("frame-rate-mismatch", "labels", Severity.ERROR)
def frame_rate_mismatch(ctx: CheckContext, params: None) -> Outcome:
    """A video whose own frame rate differs from the one its segments' frames were turned into seconds with
    (`labelstudio.frame_rate`, the config's, or the 25 fps assumed): every time taken from it is off.

    Known where taxospec read the video (the embedding checks do); set `labelstudio.frame_rate` to the
    videos' rate (one per spec: keep videos of one rate per project)."""
    cols = ctx.columns
    facts = ctx.video_facts
    timed = np.isin(cols.kind, (KIND_SEGMENT, KIND_TRACK)) & (cols.end_s > cols.start_s)
    issues = []
    evaluated = 0
    seen: set[int] = set()
    for s in np.flatnonzero(timed).tolist():
        task = int(cols.task[s])
        if task in seen or task not in facts:
            continue
        seen.add(task)
        evaluated += 1
        used = (cols.end_frame[s] - cols.start_frame[s] + 1) / (cols.end_s[s] - cols.start_s[s])
        real = float(facts[task][0])
        if abs(used - real) > FRAME_RATE_TOLERANCE * real:
            issues.append(
                ctx.flag(
                    f"the video runs at {real:g} fps, but its frames were timed at {used:g} fps: every segment "
                    f"time is off by {abs(real / used - 1):.0%} (set labelstudio.frame_rate: {real:g})",
                    s,
                    region_id=None,
                )
            )
    return evaluated, issues


def _pct(value: float) -> str:
    return f"{value:.4g} %"


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The label and attribute checks."""
    return [
        config_mismatch,
        unknown_control,
        malformed_task,
        malformed_result,
        unknown_label,
        empty_label,
        multiple_labels,
        axis_value_unknown,
        axis_value_missing,
        region_attribute_missing,
        box_outside_image,
        box_degenerate,
        polygon_too_few_points,
        segment_reversed,
        segment_outside_video,
        frame_rate_mismatch,
        phantom_timeline_region,
        duplicate_region_id,
    ]
