"""Read a Label Studio JSON (or JSON_MIN) export into a `Dataset`, one task at a time.

Which annotation counts for a task: a ground-truth annotation first (the most recently updated one, if
several), else the most recently updated submitted one; skipped (`was_cancelled`) annotations and drafts
never count. Every check reads the counted annotation; the other submitted annotations only feed the
annotator-disagreement check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from taxospec.dataset import (
    KIND_ITEM,
    NO_CLASS,
    NO_GEOMETRY,
    NO_TIMING,
    VALUE_MISSING,
    VALUE_UNKNOWN,
    Dataset,
    ItemTable,
    ReadIssue,
    SampleTable,
)
from taxospec.gc_pause import gc_paused
from taxospec.plugins.labelstudio import predictions
from taxospec.plugins.labelstudio.annotation import parse_annotation
from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.formats import LS_JSON_MIN, sniff_export
from taxospec.plugins.labelstudio.geometry import region_pieces
from taxospec.plugins.labelstudio.jsonmin import group_json_min
from taxospec.plugins.labelstudio.jsonstream import iter_json
from taxospec.plugins.labelstudio.judgements import task_judgements
from taxospec.plugins.labelstudio.mapping import (
    DEFAULT_FRAME_RATE,
    ControlMapping,
    resolve_mapping,
)
from taxospec.plugins.labelstudio.results import (
    Region,
    annotation_id_of,
    as_id,
    counted_annotation,
    id_or,
    kind,
    number,
    text,
)
from taxospec.spec.model import Spec


@gc_paused
def read_label_studio_export(path: str | Path, spec: Spec, config: LabelConfig | None = None) -> Dataset:
    """Read the export at `path` (JSON or JSON_MIN, optionally gzip-compressed) against `spec`.

    Raises `ExportError` when the file is not a Label Studio JSON export; problems inside tasks become
    `ReadIssue`s on the dataset, never exceptions.
    """
    fmt = sniff_export(path)
    mapping = resolve_mapping(spec, config)
    reader = _Reader(spec, mapping, str(path), fmt)
    tasks: Iterable[Any] = iter_json(path)
    if fmt == LS_JSON_MIN:
        tasks = group_json_min(tasks, mapping, spec)
        if any(axis.scope == "region" for axis in spec.axes.values()):
            reader.dataset.notes.append(
                "JSON_MIN drops region ids, so per-region axis values cannot be joined to their regions; "
                "export JSON for per-region checks"
            )
    for position, task in enumerate(tasks):
        reader.ingest(task, position)
    reader.finish()
    return reader.dataset


class _Reader:
    def __init__(self, spec: Spec, mapping: ControlMapping, source: str, fmt: str) -> None:
        self.spec = spec
        self.mapping = mapping
        self.items = ItemTable()
        self.samples = SampleTable(len(spec.axes))
        self.dataset = Dataset(spec, source, fmt, self.items, self.samples)
        self.dataset.issues.extend(ReadIssue("config-mismatch", mismatch) for mismatch in mapping.mismatches)
        self.class_index = {label: list(spec.classes).index(name) for label, name in mapping.label_to_class.items()}
        self.axis_controls = [spec.labelstudio.axis_controls.get(axis, axis) for axis in spec.axes]
        self.axis_names = list(spec.axes)
        self.axis_value_index = [{v: i for i, v in enumerate(axis.values)} for axis in spec.axes.values()]
        self.unit = spec.unit
        self.unknown_controls: Counter[str] = Counter()
        self.unknown_control_first: dict[str, tuple[int, int | None]] = {}
        self.assumed_frame_rate = False
        self.noted_media_shape = False
        self.issues = self.dataset.issues
        self._at: tuple[int, int, str | None] = (-1, -1, None)

    # --- tasks ----------------------------------------------------------------------------------------

    def ingest(self, task: Any, position: int) -> None:
        """Read element `position` of the export into the tables."""
        if not isinstance(task, dict):
            self.issues.append(ReadIssue("malformed-task", f"element {position} of the export is not a task object"))
            return
        task_id, data, annotations = self._task_fields(task, position)
        submitted, skipped = self._submitted(task_id, annotations)
        drafts = task.get("drafts")
        counted = counted_annotation(submitted)
        self._note_media_shape(task_id, data)
        item = self.items.add(
            task_id,
            id_or(task.get("project"), -1),
            text(data.get(self.mapping.data_key)),
            text(data.get(self.mapping.split_field)) if self.mapping.split_field else None,
            text(data.get(self.mapping.group_field)) if self.mapping.group_field else None,
            len(submitted),
            skipped,
            len(drafts) if isinstance(drafts, list) else 0,
            annotation_id_of(counted) if counted is not None else -1,
        )
        self.dataset.annotations_total += len(annotations)
        if counted is None:
            return
        if self._read_counted(task, item, data, counted) and len(submitted) > 1:
            self.dataset.judgements.extend(task_judgements(item, counted, submitted, self.spec, self.mapping))

    def _task_fields(self, task: dict[str, Any], position: int) -> tuple[int, dict[str, Any], list[Any]]:
        """The task's id (a negative stand-in when it has none), data object and annotations list."""
        task_id = as_id(task.get("id"))
        if task_id is None:
            self.issues.append(ReadIssue("malformed-task", f"element {position} has no integer task id"))
            task_id = -(position + 1)
        data = task.get("data")
        if not isinstance(data, dict):
            self.issues.append(ReadIssue("malformed-task", f"task {task_id} has no data object (data is {kind(data)})"))
            data = {}
        annotations = task.get("annotations")
        if annotations is None:
            annotations = task.get("completions")
        if not isinstance(annotations, list):
            if annotations is not None:
                self.issues.append(ReadIssue("malformed-task", f"task {task_id}: annotations is not a list"))
            annotations = []
        return task_id, data, annotations

    def _submitted(self, task_id: int, annotations: list[Any]) -> tuple[list[dict[str, Any]], int]:
        """The submitted annotations, and how many were skipped."""
        submitted = []
        skipped = 0
        for annotation in annotations:
            if not isinstance(annotation, dict):
                self.issues.append(ReadIssue("malformed-task", f"task {task_id}: an annotation is not an object"))
            elif annotation.get("was_cancelled") is True:
                skipped += 1
            else:
                submitted.append(annotation)
        return submitted, skipped

    def _note_media_shape(self, task_id: int, data: dict[str, Any]) -> None:
        """Note, once, a task whose media field holds several media."""
        media = data.get(self.mapping.data_key)
        if isinstance(media, (list, dict)) and not self.noted_media_shape:
            self.noted_media_shape = True
            self.dataset.notes.append(
                f"task {task_id} holds a {'list' if isinstance(media, list) else 'mapping'} under "
                f"data.{self.mapping.data_key} (a multi-image task?): taxospec reads one media URI per task, so "
                "the media of such tasks is not read (media-missing)"
            )

    def _read_counted(self, task: dict[str, Any], item: int, data: dict[str, Any], counted: dict[str, Any]) -> bool:
        """The samples of the counted annotation of task row `item`, and the model's predictions of them;
        False when its result could not be read at all."""
        annotation_id = annotation_id_of(counted)
        parsed = parse_annotation(counted, item, self.issues, self.dataset.controls_seen)
        if parsed is None:
            return False
        if self.mapping.split_control and self.items.split[item] is None:
            split = parsed.choices.get(self.mapping.split_control)
            if split:
                self.items.split[item] = text(split[0])
        fps = self._frame_rate(data, parsed.regions)
        if not parsed.choices and not parsed.regions:
            message = f"task {self.items.task_id[item]}: the counted annotation has an empty result"
            self.issues.append(ReadIssue("annotation-empty", message, item, annotation_id))
            return True
        first = len(self.samples)
        self._add_samples(item, annotation_id, parsed.choices, parsed.regions, fps)
        if task.get("predictions") and self.unit in ("image", "box"):
            self._predictions(task["predictions"], range(first, len(self.samples)))
        return True

    def _predictions(self, given: Any, rows: range) -> None:
        """The team's model's predictions of this task's samples (`rows`), into `dataset.predictions`."""
        controls, types = self.mapping.class_controls, self.mapping.class_types

        def is_class_control(from_name: str | None, kind: str | None) -> bool:
            return kind in types and (controls is None or from_name in controls)

        def class_of(label: Any) -> int | None:
            return self.class_index.get(label) if isinstance(label, str) else None

        found = predictions.predicted(given, is_class_control, class_of)
        if not found:
            return
        s = self.samples
        samples = [
            (row, None if s.kind[row] == KIND_ITEM else (s.x[row], s.y[row], s.w[row], s.h[row])) for row in rows
        ]
        self.dataset.predictions.update(predictions.assign(found, samples))

    # --- samples ------------------------------------------------------------------------------------------

    def _add_samples(
        self,
        item: int,
        annotation_id: int,
        item_choices: dict[str, list[Any]],
        regions: dict[str, Region],
        fps: float,
    ) -> None:
        mapping = self.mapping
        class_controls = mapping.class_controls
        for control in item_choices:
            self._note_control(control, item, annotation_id)
        if self.unit == "image":
            labels = None
            for control in class_controls or ():
                if control in item_choices:
                    labels = item_choices[control]
            class_idx = self._class_of(labels, item, annotation_id, None)
            axes = self._axis_values(item_choices, None, item, annotation_id, None, class_idx)
            self.samples.add(item, annotation_id, None, KIND_ITEM, class_idx, axes, NO_GEOMETRY, NO_TIMING)
            self.items.n_samples[item] += 1
            for region in regions.values():
                if region.from_name is not None:
                    self._note_control(region.from_name, item, annotation_id)
            return
        for key, region in regions.items():
            region_id = None if key.startswith("#") else key.split("#", 1)[0]
            for control in region.attributes:
                self._note_control(control, item, annotation_id)
            if region.result_type is None or region.from_name is None or region.value is None:
                continue  # attributes whose region was dropped as malformed
            if region.result_type in ("keypointlabels", "keypoint"):
                self.dataset.keypoints += 1
                continue
            is_class_region = (
                region.from_name in class_controls
                if class_controls is not None
                else region.result_type in mapping.class_types
            )
            if not is_class_region:
                self._note_control(region.from_name, item, annotation_id)
                continue
            class_idx = self._class_of(region.labels, item, annotation_id, region_id)
            axes = self._axis_values(item_choices, region.attributes, item, annotation_id, region_id, class_idx)
            self._at = (item, annotation_id, region_id)
            for piece_kind, geometry, timing in region_pieces(region, fps, self._report_at):
                self.samples.add(item, annotation_id, region_id, piece_kind, class_idx, axes, geometry, timing)
                self.items.n_samples[item] += 1

    def _class_of(self, labels: list[Any] | None, item: int, annotation_id: int, region_id: str | None) -> int:
        where = f"region {region_id!r}" if region_id else "the task"
        if not labels:
            code = "empty-label"
            message = f"{where} has no class label" if labels is None else f"{where} has an empty label list"
            self.issues.append(ReadIssue(code, message, item, annotation_id, region_id))
            return NO_CLASS
        if len(labels) > 1:
            shown = ", ".join(repr(x) for x in labels[:5])
            self.issues.append(
                ReadIssue(
                    "multiple-labels", f"{where} has {len(labels)} labels ({shown})", item, annotation_id, region_id
                )
            )
            return NO_CLASS
        label = labels[0]
        index = self.class_index.get(label) if isinstance(label, str) else None
        if index is None:
            self.issues.append(
                ReadIssue(
                    "unknown-label",
                    f"{where} is labeled {label!r}, which is not a class of the spec",
                    item,
                    annotation_id,
                    region_id,
                    value=str(label),
                )
            )
            return NO_CLASS
        return index

    def _axis_values(
        self,
        item_choices: dict[str, list[Any]],
        attributes: dict[str, list[Any]] | None,
        item: int,
        annotation_id: int,
        region_id: str | None,
        class_idx: int,
    ) -> list[int]:
        out = []
        for i, control in enumerate(self.axis_controls):
            values = attributes.get(control) if attributes else None
            if values is None:
                values = item_choices.get(control)
            if not values:
                out.append(VALUE_MISSING)
                continue
            value = values[0]
            index = self.axis_value_index[i].get(value) if isinstance(value, str) else None
            if len(values) > 1:
                self.issues.append(
                    ReadIssue(
                        "multiple-labels",
                        f"axis {self.axis_names[i]!r} has {len(values)} values where one is allowed",
                        item,
                        annotation_id,
                        region_id,
                        axis=self.axis_names[i],
                    )
                )
            if index is None:
                self.issues.append(
                    ReadIssue(
                        "axis-value-unknown",
                        f"axis {self.axis_names[i]!r} has value {value!r}, which the spec does not list",
                        item,
                        annotation_id,
                        region_id,
                        axis=self.axis_names[i],
                        value=str(value),
                    )
                )
                out.append(VALUE_UNKNOWN)
            else:
                out.append(index)
        return out

    def _report_at(self, code: str, message: str) -> None:
        """A `Report` filing issues against the region being placed (`self._at`)."""
        item, annotation_id, region_id = self._at
        self.issues.append(ReadIssue(code, message, item, annotation_id, region_id))

    # --- bookkeeping -------------------------------------------------------------------------------------

    def _note_control(self, control: str, item: int, annotation_id: int) -> None:
        mapping = self.mapping
        if control in mapping.axis_of_control or control == mapping.split_control:
            return
        if mapping.class_controls is not None and control in mapping.class_controls:
            return
        if mapping.known_controls is not None and control in mapping.known_controls:
            return
        self.unknown_controls[control] += 1
        self.unknown_control_first.setdefault(control, (item, annotation_id))

    def _frame_rate(self, data: dict[str, Any], regions: dict[str, Region]) -> float:
        if self.mapping.frame_rate is not None:
            return self.mapping.frame_rate
        if self.mapping.frame_rate_key is not None:
            fps = number(data.get(self.mapping.frame_rate_key))
            if fps > 0:
                return fps
        for region in regions.values():
            if region.result_type == "videorectangle" and region.value is not None:
                frames = number(region.value.get("framesCount"))
                duration = number(region.value.get("duration"))
                if frames > 0 and duration > 0:
                    return frames / duration
        if self.spec.media == "video" and not self.assumed_frame_rate:
            self.assumed_frame_rate = True
            self.dataset.notes.append(
                f"no frame rate in the spec, the config or the tasks: {DEFAULT_FRAME_RATE:g} fps assumed "
                "(set labelstudio.frame_rate in the spec)"
            )
        return DEFAULT_FRAME_RATE

    def finish(self) -> None:
        for control, count in sorted(self.unknown_controls.items()):
            item, annotation_id = self.unknown_control_first[control]
            where = "in the config" if self.mapping.known_controls is not None else "in the spec"
            self.issues.append(
                ReadIssue(
                    "unknown-control",
                    f"control {control!r} appears in {count} result(s) but is not {where}",
                    item,
                    annotation_id,
                    count=count,
                    value=control,
                )
            )
