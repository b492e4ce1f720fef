"""Build a `Dataset` from format-neutral rows: what an export reader of any format emits.

A reader adds each task (`task`) and each training example of it (`example`) by class and axis-value
*names*, as the export writes them; the builder resolves them against the spec into the sample table and
keeps what does not resolve as written (`Dataset.written`), for the label checks to judge (`unknown-label`,
`empty-label`, `multiple-labels`, `axis-value-unknown`). So the checks treat a CVAT or COCO export exactly
as they treat a Label Studio one. `build` hands the dataset over; nothing is written into it afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from taxospec.dataset import (
    KIND_BOX,
    KIND_ITEM,
    KIND_SEGMENT,
    NO_CLASS,
    NO_GEOMETRY,
    NO_TIMING,
    VALUE_MISSING,
    VALUE_UNKNOWN,
    Dataset,
    FieldSeen,
    ItemTable,
    Judgement,
    KeyPoint,
    Outline,
    ReadIssue,
    SampleTable,
    Written,
)
from taxospec.spec.model import Spec


@dataclass(frozen=True)
class Box:
    """A box in percent of the picture (0-100, Label Studio's convention), with the picture's size in pixels
    when known."""

    x: float
    y: float
    width: float
    height: float
    rotation: float = 0.0
    image_width: float = math.nan
    image_height: float = math.nan


@dataclass(frozen=True)
class Segment:
    """A time segment of a video, in seconds (and in frames, 1-based and inclusive, when known)."""

    start_s: float
    end_s: float
    start_frame: float = math.nan
    end_frame: float = math.nan


Labels = tuple[int, list[int]]
"""An example's class index and its axis-value indices (in the spec's axis order), as `labels` resolves
them; one region of several pieces (a track's keyframe spans) shares one."""


class DatasetBuilder:
    """Collects tasks and examples in a format-neutral form and builds the `Dataset` from them."""

    def __init__(self, spec: Spec, source: str, format: str, class_names: Mapping[str, str] | None = None) -> None:
        """`class_names` maps how the export writes each class to the spec's class (default: each class's
        own name)."""
        self.spec = spec
        self._source = source
        self._format = format
        self._items = ItemTable()
        self._samples = SampleTable(len(spec.axes))
        self._issues: list[ReadIssue] = []
        self._written: list[Written] = []
        self._unknown_fields: dict[str, FieldSeen] = {}
        self._notes: list[str] = []
        self._judgements: list[Judgement] = []
        self._predictions: dict[int, tuple[int, float]] = {}
        self._outlines: dict[int, Outline] = {}
        self._keypoints: list[KeyPoint] = []
        index = {name: i for i, name in enumerate(spec.classes)}
        self._classes = {written: index[name] for written, name in (class_names or {n: n for n in index}).items()}
        self._axes = list(spec.axes)
        self._values = [{value: i for i, value in enumerate(spec.axes[axis].values)} for axis in self._axes]
        self._annotations = 0
        self._built = False

    def task(
        self,
        task_id: int,
        media: str | None,
        *,
        split: str | None = None,
        group: str | None = None,
        project_id: int = -1,
        annotations: int = 1,
        skipped: int = 0,
        drafts: int = 0,
        counted_annotation: int | None = None,
    ) -> int:
        """Add a task (one picture or video) and return its row, for `example` and `issue`. `annotations`
        is how many submitted annotations it has, `skipped` how many were skipped, `drafts` how many drafts;
        `counted_annotation` the id of the one every check reads (default 0 when there is one, else none)."""
        self._annotations += annotations + skipped
        if counted_annotation is None:
            counted_annotation = 0 if annotations else -1
        return self._items.add(
            task_id, project_id, media, split, group, annotations, skipped, drafts, counted_annotation
        )

    def split(self, task: int, split: str | None) -> None:
        """Set the split of the task at row `task`, where the export gives it in the annotation."""
        self._items.split[task] = split

    def results(self, task: int, count: int) -> None:
        """How many results the counted annotation of the task at row `task` holds (0: an empty
        annotation, which `annotation-empty` reports)."""
        self._items.n_results[task] = count

    def example(
        self,
        task: int,
        label: str | None,
        *,
        axes: Mapping[str, str] | None = None,
        box: Box | None = None,
        segment: Segment | None = None,
        region_id: str | None = None,
        annotation_id: int = 0,
    ) -> int:
        """Add a training example of the task at row `task`: the whole task, a `box` or a `segment`, with
        class `label` and the axis values in `axes` (axis name → value). A label or value the spec does not
        have is kept as written for the label checks, and the example is kept without it; an axis the spec
        does not have counts as an unknown field. Returns the example's row."""
        if box is not None and segment is not None:
            raise ValueError("an example is a box or a segment, not both")
        given = axes or {}
        for name in given.keys() - set(self._axes):
            self.unknown_field(name, task, annotation_id)
        by_axis = [(given[axis],) if axis in given else None for axis in self._axes]
        labels = self.labels(task, annotation_id, region_id, (label,) if label else None, by_axis)
        kind, geometry, timing = KIND_ITEM, NO_GEOMETRY, NO_TIMING
        if box is not None:
            area = box.width * box.height / 10000
            geometry = (box.x, box.y, box.width, box.height, box.rotation, area, box.image_width, box.image_height)
            kind = KIND_BOX
        elif segment is not None:
            timing = (segment.start_s, segment.end_s, segment.start_frame, segment.end_frame, math.nan)
            kind = KIND_SEGMENT
        return self.sample(task, annotation_id, region_id, labels, kind, geometry, timing)

    def labels(
        self,
        task: int,
        annotation_id: int,
        region_id: str | None,
        label: Sequence[object] | None,
        axes: Sequence[Sequence[object] | None],
    ) -> Labels:
        """Resolve an example's class `label` (the values written for it; None when absent) and its axis
        values (`axes`, one entry per spec axis in order: the values written, or None) against the spec.
        What does not name exactly one of the spec's is kept as written; a value list of several takes its
        first value."""
        class_idx = NO_CLASS
        if label is not None and len(label) == 1:
            written = label[0]
            class_idx = self._classes.get(written, NO_CLASS) if isinstance(written, str) else NO_CLASS
        if class_idx == NO_CLASS:
            as_written = None if label is None else tuple(label)
            self._written.append(Written(task, annotation_id, region_id, None, as_written))
        out = []
        for axis, index_of, values in zip(self._axes, self._values, axes, strict=True):
            if not values:
                out.append(VALUE_MISSING)
                continue
            first = values[0]
            index = index_of.get(first, VALUE_UNKNOWN) if isinstance(first, str) else VALUE_UNKNOWN
            if index == VALUE_UNKNOWN or len(values) > 1:
                self._written.append(Written(task, annotation_id, region_id, axis, tuple(values)))
            out.append(index)
        return class_idx, out

    def sample(
        self,
        task: int,
        annotation_id: int,
        region_id: str | None,
        labels: Labels,
        kind: int,
        geometry: tuple[float, ...] = NO_GEOMETRY,
        timing: tuple[float, ...] = NO_TIMING,
    ) -> int:
        """Add one sample of resolved `labels` to the task at row `task` (a reader whose regions come in
        several pieces adds one per piece); `geometry` and `timing` as `SampleTable.add` takes them."""
        row = self._samples.add(task, annotation_id, region_id, kind, labels[0], labels[1], geometry, timing)
        self._items.n_samples[task] += 1
        return row

    def outline(self, sample: int, outline: Outline) -> None:
        """The exact shape of the sample at row `sample` (a polygon, an ellipse), for drawing it."""
        self._outlines[sample] = outline

    def keypoint(self, task: int, x: float, y: float, label: str | None, region_id: str | None = None) -> None:
        """A keypoint on the picture of the task at row `task` (percent of the picture), for drawing."""
        self._keypoints.append(KeyPoint(task, x, y, label, region_id))

    def prediction(self, sample: int, class_idx: int, score: float) -> None:
        """The team's own model's prediction of the sample at row `sample`: a class index and a 0..1 score."""
        self._predictions[sample] = (class_idx, score)

    def judgement(
        self,
        task: int,
        annotation_id: int,
        annotator: str,
        says: Mapping[str, tuple[str, ...]],
        *,
        counted: bool,
    ) -> None:
        """How one of several annotations of the task at row `task` judged it, aspect by aspect (`the
        label`, `axis lighting`, … → sorted values); `annotator-disagreement` compares the counted one with
        the others."""
        self._judgements.append(Judgement(task, annotation_id, annotator, counted, dict(says)))

    def unknown_field(self, name: str, task: int, annotation_id: int) -> None:
        """A result in field `name` (a control, a column) that the spec cannot place, at row `task`;
        `unknown-control` reports each field once, with its count and first place."""
        seen = self._unknown_fields.get(name)
        if seen is None:
            self._unknown_fields[name] = FieldSeen(1, task, annotation_id)
        else:
            self._unknown_fields[name] = FieldSeen(seen.count + 1, seen.task, seen.annotation_id)

    def issue(self, issue: ReadIssue) -> None:
        """Record a problem of the export's own structure (`malformed-task`, `malformed-result`, …) for the
        check named by its code; its `task` is a row `task` returned."""
        self._issues.append(issue)

    def note(self, text: str) -> None:
        """A note for the report (something the reader could not read, said once)."""
        self._notes.append(text)

    @property
    def rows(self) -> int:
        """How many tasks have been added (the row the next `task` gets)."""
        return len(self._items)

    def build(self, fields_known_from: str = "the spec") -> Dataset:
        """The dataset (`fields_known_from`: what defines the fields the reader knows, for messages); the
        builder cannot be used after."""
        if self._built:
            raise RuntimeError("DatasetBuilder.build() was called twice")
        self._built = True
        return Dataset(
            spec=self.spec,
            source=self._source,
            format=self._format,
            items=self._items,
            samples=self._samples,
            issues=self._issues,
            written=self._written,
            unknown_fields=self._unknown_fields,
            outlines=self._outlines,
            keypoints=self._keypoints,
            fields_known_from=fields_known_from,
            annotations_total=self._annotations,
            notes=self._notes,
            judgements=self._judgements,
            predictions=self._predictions,
        )
