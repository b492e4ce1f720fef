"""Build a `Dataset` from format-neutral rows: what an export reader of any format emits.

A reader adds each task (`task`) and each training example of it (`example`) by class and axis-value
*names*; the builder resolves them against the spec and records what does not resolve as the read issues
every reader reports alike (`unknown-label`, `empty-label`, `axis-value-unknown`), so that the checks treat
a CVAT or COCO export exactly as they treat a Label Studio one. `build` hands the dataset over; nothing is
written into it afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    ItemTable,
    Judgement,
    ReadIssue,
    SampleTable,
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


class DatasetBuilder:
    """Collects tasks and examples in a format-neutral form and builds the `Dataset` from them."""

    def __init__(self, spec: Spec, source: str, format: str) -> None:
        self.spec = spec
        self._source = source
        self._format = format
        self._items = ItemTable()
        self._samples = SampleTable(len(spec.axes))
        self._issues: list[ReadIssue] = []
        self._notes: list[str] = []
        self._judgements: list[Judgement] = []
        self._classes = {name: i for i, name in enumerate(spec.classes)}
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
    ) -> int:
        """Add a task (one picture or video) and return its row, for `example` and `issue`. `annotations`
        is how many submitted annotations it has (one is counted, as Label Studio counts)."""
        self._annotations += annotations
        return self._items.add(task_id, project_id, media, split, group, annotations, 0, 0, 0 if annotations else -1)

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
        have becomes a read issue, and the example is kept without it; returns the example's row."""
        if box is not None and segment is not None:
            raise ValueError("an example is a box or a segment, not both")
        class_idx = self._class_of(label, task, annotation_id, region_id)
        values = self._axis_values(axes or {}, task, annotation_id, region_id)
        kind, geometry, timing = KIND_ITEM, NO_GEOMETRY, NO_TIMING
        if box is not None:
            area = box.width * box.height / 10000
            geometry = (box.x, box.y, box.width, box.height, box.rotation, area, box.image_width, box.image_height)
            kind = KIND_BOX
        elif segment is not None:
            timing = (segment.start_s, segment.end_s, segment.start_frame, segment.end_frame, math.nan)
            kind = KIND_SEGMENT
        row = self._samples.add(task, annotation_id, region_id, kind, class_idx, values, geometry, timing)
        self._items.n_samples[task] += 1
        return row

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

    def issue(self, issue: ReadIssue) -> None:
        """Record a problem of the export (`malformed-task`, `malformed-result`, …) for the check named by
        its code; its `task` is a row `task` returned."""
        self._issues.append(issue)

    def note(self, text: str) -> None:
        """A note for the report (something the reader could not read, said once)."""
        self._notes.append(text)

    def build(self) -> Dataset:
        """The dataset; the builder cannot be used after."""
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
            annotations_total=self._annotations,
            notes=self._notes,
            judgements=self._judgements,
        )

    def _class_of(self, label: str | None, task: int, annotation_id: int, region_id: str | None) -> int:
        where = f"region {region_id!r}" if region_id else "the task"
        if not label:
            self._issues.append(ReadIssue("empty-label", f"{where} has no class label", task, annotation_id, region_id))
            return NO_CLASS
        index = self._classes.get(label)
        if index is None:
            message = f"{where} is labeled {label!r}, which is not a class of the spec"
            self._issues.append(ReadIssue("unknown-label", message, task, annotation_id, region_id, value=label))
            return NO_CLASS
        return index

    def _axis_values(self, given: Mapping[str, str], task: int, annotation_id: int, region_id: str | None) -> list[int]:
        out = []
        for axis, index_of in zip(self._axes, self._values, strict=True):
            value = given.get(axis)
            if value is None:
                out.append(VALUE_MISSING)
                continue
            index = index_of.get(value)
            if index is None:
                message = f"axis {axis!r} has value {value!r}, which the spec does not list"
                self._issues.append(
                    ReadIssue("axis-value-unknown", message, task, annotation_id, region_id, axis=axis, value=value)
                )
                out.append(VALUE_UNKNOWN)
            else:
                out.append(index)
        for axis in sorted(set(given) - set(self._axes)):
            self._issues.append(
                ReadIssue(
                    "unknown-control",
                    f"axis {axis!r} is not in the spec",
                    task,
                    annotation_id,
                    region_id,
                    value=axis,
                )
            )
        return out
