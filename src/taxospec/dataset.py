"""The normalized records every check reads: items (tasks), samples (training examples) and read issues.

Samples are stored column by column (compact arrays, one entry per training example), so that a dataset
of a million regions costs tens of megabytes, not gigabytes, and checks run as vectorized numpy
expressions. A sample is what the spec's `unit` says one training example is: a whole image or clip, a
box, a time segment or a track.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from taxospec.findings import Flag
from taxospec.spec.model import Spec

KIND_ITEM, KIND_BOX, KIND_POLYGON, KIND_SEGMENT, KIND_TRACK = 0, 1, 2, 3, 4
KIND_NAMES = {KIND_ITEM: "item", KIND_BOX: "box", KIND_POLYGON: "polygon", KIND_SEGMENT: "segment", KIND_TRACK: "track"}

NO_CLASS = -1
"""Class index of a sample whose label is unknown, empty or ambiguous (a read issue says which)."""
VALUE_MISSING = -1
"""Axis-value index of a sample that carries no value for the axis."""
VALUE_UNKNOWN = -2
"""Axis-value index of a sample whose value is not one of the axis's values."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ReadIssue:
    """A problem a stage found before the checks ran (a reader: the export's own structure; the embedding
    stage: media it could not have), under the `code` of the check that reports it."""

    code: str
    message: str
    task: int | None = None
    annotation_id: int | None = None
    region_id: str | None = None
    class_name: str | None = None
    axis: str | None = None
    value: str | None = None
    count: int = 1
    split: str | None = None
    score: float | None = None
    related: tuple[int, ...] = ()
    """Task ids of the other tasks the problem concerns (the rest of a duplicate group)."""
    at_seconds: float | None = None
    """The moment of the media the problem concerns (the middle of a segment), when it is one."""

    def flag(self) -> Flag:
        """The issue as its check reports it: everything but the code."""
        return Flag(
            self.message,
            self.task,
            self.annotation_id,
            self.region_id,
            self.class_name,
            self.axis,
            self.value,
            self.count,
            self.split,
            self.score,
            self.related,
            self.at_seconds,
        )


@dataclass(frozen=True, slots=True)
class Written:
    """A class label or an axis value as the export wrote it, where it does not name exactly one of the
    spec's (nothing, several, or something the spec does not have). The label checks (`empty-label`,
    `multiple-labels`, `unknown-label`, `axis-value-unknown`) judge these; the example itself is in the
    sample table with `NO_CLASS` or `VALUE_UNKNOWN`."""

    task: int
    """The task's row in `items`."""
    annotation_id: int
    region_id: str | None
    axis: str | None
    """The axis the value is for; None for the class label."""
    values: tuple[object, ...] | None
    """What was written, in order; None when the field was absent altogether."""


@dataclass(frozen=True, slots=True)
class Outline:
    """The exact shape of an example whose geometry columns hold only the upright box around it, for
    drawing it: a polygon's points, or an ellipse (centre, radii, turn), in percent of the picture."""

    kind: str
    """`polygon` or `ellipse`."""
    points: tuple[tuple[float, float], ...] = ()
    """A polygon's corners."""
    ellipse: tuple[float, float, float, float, float] | None = None
    """An ellipse's centre x, y, radii x, y and turn in degrees."""


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """A labeled point on a task's picture (a keypoint region): kept for drawing; it is no training example."""

    task: int
    """The task's row in `items`."""
    x: float
    y: float
    """In percent of the picture."""
    label: str | None
    region_id: str | None = None


@dataclass(frozen=True, slots=True)
class FieldSeen:
    """A field of the export (a Label Studio control) that carries results the spec cannot place: how often,
    and where first."""

    count: int
    task: int
    """The row in `items` of the first task that uses it."""
    annotation_id: int


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one submitted annotation of a task says, aspect by aspect, for comparing annotators: kept for
    the tasks with more than one submitted annotation. Aspects are named in words (`the label`, `the
    labels`, `axis lighting`), each with its sorted values."""

    task: int
    """The task's row in `items`."""
    annotation_id: int
    annotator: str
    """Who submitted it, as messages show them (`#7`, `'ann@example.com'`)."""
    counted: bool
    """Whether it is the annotation every check reads."""
    says: dict[str, tuple[str, ...]]


class ItemTable:
    """One row per task: its id, media, split, source group and annotation bookkeeping."""

    def __init__(self) -> None:
        self.task_id: array[int] = array("q")
        self.project_id: array[int] = array("q")
        self.media: list[str | None] = []
        self.split: list[str | None] = []
        self.group: list[str | None] = []
        self.n_submitted: array[int] = array("l")
        self.n_skipped: array[int] = array("l")
        self.n_drafts: array[int] = array("l")
        self.counted_annotation: array[int] = array("q")
        self.n_samples: array[int] = array("l")
        self.n_results: array[int] = array("l")
        """Results the counted annotation holds, as the reader counts them (-1: unknown, or no counted
        annotation)."""

    def __len__(self) -> int:
        return len(self.task_id)

    def add(
        self,
        task_id: int,
        project_id: int,
        media: str | None,
        split: str | None,
        group: str | None,
        n_submitted: int,
        n_skipped: int,
        n_drafts: int,
        counted_annotation: int,
    ) -> int:
        """Append a task; returns its row index."""
        self.task_id.append(task_id)
        self.project_id.append(project_id)
        self.media.append(media)
        self.split.append(split)
        self.group.append(group)
        self.n_submitted.append(n_submitted)
        self.n_skipped.append(n_skipped)
        self.n_drafts.append(n_drafts)
        self.counted_annotation.append(counted_annotation)
        self.n_samples.append(0)
        self.n_results.append(-1)
        return len(self.task_id) - 1


class SampleTable:
    """One row per training example, stored as columns.

    Geometry is in the export's own units: box coordinates in percent of the image (0-100), image size in
    pixels (NaN when unknown), segment and track bounds in seconds.
    """

    def __init__(self, n_axes: int) -> None:
        self.task: array[int] = array("l")
        self.annotation_id: array[int] = array("q")
        self.region_id: list[str | None] = []
        self.kind: array[int] = array("b")
        self.class_idx: array[int] = array("h")
        self.axes: list[array[int]] = [array("h") for _ in range(n_axes)]
        self.x: array[float] = array("d")
        self.y: array[float] = array("d")
        self.w: array[float] = array("d")
        self.h: array[float] = array("d")
        self.rotation: array[float] = array("d")
        self.area: array[float] = array("d")
        self.image_w: array[float] = array("d")
        self.image_h: array[float] = array("d")
        self.start_s: array[float] = array("d")
        self.end_s: array[float] = array("d")
        self.start_frame: array[float] = array("d")
        self.end_frame: array[float] = array("d")
        self.frames_count: array[float] = array("d")

    def __len__(self) -> int:
        return len(self.task)

    def add(
        self,
        task: int,
        annotation_id: int,
        region_id: str | None,
        kind: int,
        class_idx: int,
        axis_values: list[int],
        geometry: tuple[float, ...],
        timing: tuple[float, ...],
    ) -> int:
        """Append a sample; `geometry` is (x, y, w, h, rotation, area, image_w, image_h) and `timing` is
        (start_s, end_s, start_frame, end_frame, frames_count), NaN where they do not apply."""
        self.task.append(task)
        self.annotation_id.append(annotation_id)
        self.region_id.append(region_id)
        self.kind.append(kind)
        self.class_idx.append(class_idx)
        for column, value in zip(self.axes, axis_values, strict=True):
            column.append(value)
        x, y, w, h, rotation, area, image_w, image_h = geometry
        self.x.append(x)
        self.y.append(y)
        self.w.append(w)
        self.h.append(h)
        self.rotation.append(rotation)
        self.area.append(area)
        self.image_w.append(image_w)
        self.image_h.append(image_h)
        start_s, end_s, start_frame, end_frame, frames_count = timing
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self.start_frame.append(start_frame)
        self.end_frame.append(end_frame)
        self.frames_count.append(frames_count)
        return len(self.task) - 1


NO_GEOMETRY = (math.nan,) * 8
NO_TIMING = (math.nan,) * 5


@dataclass(frozen=True)
class Dataset:
    """Everything read from one export, normalized against one spec; built once (`DatasetBuilder`), never
    written afterwards."""

    spec: Spec
    source: str
    format: str
    items: ItemTable
    samples: SampleTable
    issues: list[ReadIssue] = field(default_factory=list)
    """Problems of the export's own structure, which only its reader can see (`malformed-task`, …)."""
    written: list[Written] = field(default_factory=list)
    """Labels and axis values as written where they do not resolve to one of the spec's."""
    unknown_fields: dict[str, FieldSeen] = field(default_factory=dict)
    """Fields carrying results that neither the tool's config nor the spec knows, by name."""
    fields_known_from: str = "the spec"
    """What defines the known fields (`the config` when the reader was given the tool's config)."""
    outlines: dict[int, Outline] = field(default_factory=dict)
    """Per sample (row of `samples`) whose shape is not its box: the shape, for drawing."""
    keypoints: list[KeyPoint] = field(default_factory=list)
    """The keypoints of the counted annotations, for drawing."""
    annotations_total: int = 0
    notes: list[str] = field(default_factory=list)
    judgements: list[Judgement] = field(default_factory=list)
    """Every submitted annotation of the tasks that have several, as annotators judged them."""
    predictions: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Per sample (row of `samples`), the team's own model's prediction in the export: (class index, score
    0..1), where it carries one with a score (Label Studio `predictions`)."""

    @cached_property
    def class_names(self) -> list[str]:
        """Spec class names in index order (a sample's `class_idx` indexes this list)."""
        return list(self.spec.classes)

    @cached_property
    def axis_names(self) -> list[str]:
        """Spec axis names in column order (`samples.axes[i]` belongs to `axis_names[i]`)."""
        return list(self.spec.axes)

    @cached_property
    def columns(self) -> SampleColumns:
        """The sample table as numpy arrays, built once and shared by every check."""
        return SampleColumns.from_table(self)


@dataclass(frozen=True)
class SampleColumns:
    """numpy views of the sample table, with task-level columns (split, group, media) joined in."""

    task: IntArray
    annotation_id: IntArray
    kind: IntArray
    class_idx: IntArray
    axes: list[IntArray]
    x: FloatArray
    y: FloatArray
    w: FloatArray
    h: FloatArray
    rotation: FloatArray
    area: FloatArray
    image_w: FloatArray
    image_h: FloatArray
    start_s: FloatArray
    end_s: FloatArray
    start_frame: FloatArray
    end_frame: FloatArray
    frames_count: FloatArray
    split_idx: IntArray
    split_names: list[str]

    @classmethod
    def from_table(cls, dataset: Dataset) -> SampleColumns:
        """Convert the dataset's sample table (and the split of each sample's task) to numpy."""
        t = dataset.samples
        task = np.frombuffer(t.task, dtype=np.dtype(f"i{t.task.itemsize}")).astype(np.int64)
        split_names: list[str] = []
        index: dict[str | None, int] = {}
        task_split = np.empty(len(dataset.items), dtype=np.int64)
        for i, split in enumerate(dataset.items.split):
            if split is None:
                task_split[i] = -1
                continue
            if split not in index:
                index[split] = len(split_names)
                split_names.append(split)
            task_split[i] = index[split]

        def ints(a: array[int]) -> IntArray:
            return np.frombuffer(a, dtype=np.dtype(f"i{a.itemsize}")).astype(np.int64)

        def floats(a: array[float]) -> FloatArray:
            return np.frombuffer(a, dtype=np.float64).copy()

        return cls(
            task=task,
            annotation_id=ints(t.annotation_id),
            kind=ints(t.kind),
            class_idx=ints(t.class_idx),
            axes=[ints(a) for a in t.axes],
            x=floats(t.x),
            y=floats(t.y),
            w=floats(t.w),
            h=floats(t.h),
            rotation=floats(t.rotation),
            area=floats(t.area),
            image_w=floats(t.image_w),
            image_h=floats(t.image_h),
            start_s=floats(t.start_s),
            end_s=floats(t.end_s),
            start_frame=floats(t.start_frame),
            end_frame=floats(t.end_frame),
            frames_count=floats(t.frames_count),
            split_idx=task_split[task] if len(task) else np.empty(0, dtype=np.int64),
            split_names=split_names,
        )
