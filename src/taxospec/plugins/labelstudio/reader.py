"""Read a Label Studio JSON (or JSON_MIN) export into a `Dataset`, one task at a time.

Which annotation counts for a task: a ground-truth annotation first (the most recently updated one, if
several), else the most recently updated submitted one; skipped (`was_cancelled`) annotations and drafts
never count. Every check reads the counted annotation; the other submitted annotations only feed the
annotator-disagreement check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from taxospec.dataset import KIND_ITEM, Dataset, ReadIssue
from taxospec.dataset_builder import DatasetBuilder
from taxospec.gc_pause import gc_paused
from taxospec.plugins.labelstudio import predictions
from taxospec.plugins.labelstudio.annotation import parse_annotation
from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.formats import LS_JSON_MIN, sniff_export
from taxospec.plugins.labelstudio.geometry import outline_of, region_pieces
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
            reader.builder.note(
                "JSON_MIN drops region ids, so per-region axis values cannot be joined to their regions; "
                "export JSON for per-region checks"
            )
    for position, task in enumerate(tasks):
        reader.ingest(task, position)
    return reader.finish()


class _Reader:
    def __init__(self, spec: Spec, mapping: ControlMapping, source: str, fmt: str) -> None:
        self.spec = spec
        self.mapping = mapping
        self.builder = DatasetBuilder(spec, source, fmt, class_names=mapping.label_to_class)
        self.issues: list[ReadIssue] = [ReadIssue("config-mismatch", mismatch) for mismatch in mapping.mismatches]
        self.class_index = {label: list(spec.classes).index(name) for label, name in mapping.label_to_class.items()}
        self.axis_controls = [spec.labelstudio.axis_controls.get(axis, axis) for axis in spec.axes]
        self.unit = spec.unit
        self.assumed_frame_rate = False
        self.noted_media_shape = False
        self.keypoints = 0
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
        split = text(data.get(self.mapping.split_field)) if self.mapping.split_field else None
        item = self.builder.task(
            task_id,
            text(data.get(self.mapping.data_key)),
            split=split,
            group=text(data.get(self.mapping.group_field)) if self.mapping.group_field else None,
            project_id=id_or(task.get("project"), -1),
            annotations=len(submitted),
            skipped=skipped,
            drafts=len(drafts) if isinstance(drafts, list) else 0,
            counted_annotation=annotation_id_of(counted) if counted is not None else -1,
        )
        if counted is None:
            return
        if self._read_counted(task, item, data, counted, split is None) and len(submitted) > 1:
            for judgement in task_judgements(item, counted, submitted, self.spec, self.mapping):
                self.builder.judgement(
                    item, judgement.annotation_id, judgement.annotator, judgement.says, counted=judgement.counted
                )

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
            self.builder.note(
                f"task {task_id} holds a {'list' if isinstance(media, list) else 'mapping'} under "
                f"data.{self.mapping.data_key} (a multi-image task?): taxospec reads one media URI per task, so "
                "the media of such tasks is not read (media-missing)"
            )

    def _read_counted(
        self, task: dict[str, Any], item: int, data: dict[str, Any], counted: dict[str, Any], needs_split: bool
    ) -> bool:
        """The samples of the counted annotation of task row `item`, and the model's predictions of them;
        False when its result could not be read at all."""
        annotation_id = annotation_id_of(counted)
        parsed = parse_annotation(counted, item, self.issues)
        if parsed is None:
            return False
        if needs_split and self.mapping.split_control:
            split = parsed.choices.get(self.mapping.split_control)
            if split:
                self.builder.split(item, text(split[0]))
        self.builder.results(item, len(parsed.choices) + len(parsed.regions))
        if not parsed.choices and not parsed.regions:
            return True
        fps = self._frame_rate(data, parsed.regions)
        added = self._add_samples(item, annotation_id, parsed.choices, parsed.regions, fps)
        if task.get("predictions") and self.unit in ("image", "box"):
            self._predictions(task["predictions"], added)
        return True

    def _predictions(self, given: Any, samples: list[tuple[int, predictions.Box | None]]) -> None:
        """The team's model's predictions of this task's `samples` (row, box), into the dataset."""
        controls, types = self.mapping.class_controls, self.mapping.class_types

        def is_class_control(from_name: str | None, kind: str | None) -> bool:
            return kind in types and (controls is None or from_name in controls)

        def class_of(label: Any) -> int | None:
            return self.class_index.get(label) if isinstance(label, str) else None

        found = predictions.predicted(given, is_class_control, class_of)
        if found:
            for row, (class_idx, score) in predictions.assign(found, samples).items():
                self.builder.prediction(row, class_idx, score)

    # --- samples ------------------------------------------------------------------------------------------

    def _add_samples(
        self,
        item: int,
        annotation_id: int,
        item_choices: dict[str, list[Any]],
        regions: dict[str, Region],
        fps: float,
    ) -> list[tuple[int, predictions.Box | None]]:
        """The samples of one annotation, added; each with its box (None for a whole-task sample)."""
        mapping = self.mapping
        class_controls = mapping.class_controls
        for control in item_choices:
            self._note_control(control, item, annotation_id)
        if self.unit == "image":
            labels = None
            for control in class_controls or ():
                if control in item_choices:
                    labels = item_choices[control]
            resolved = self.builder.labels(item, annotation_id, None, labels, self._axes_written(item_choices, None))
            row = self.builder.sample(item, annotation_id, None, resolved, KIND_ITEM)
            for region in regions.values():
                if region.from_name is not None:
                    self._note_control(region.from_name, item, annotation_id)
            return [(row, None)]
        added: list[tuple[int, predictions.Box | None]] = []
        for key, region in regions.items():
            region_id = None if key.startswith("#") else key.split("#", 1)[0]
            for control in region.attributes:
                self._note_control(control, item, annotation_id)
            if region.result_type is None or region.from_name is None or region.value is None:
                continue  # attributes whose region was dropped as malformed
            if region.result_type in ("keypointlabels", "keypoint"):
                self.keypoints += 1
                self._keypoint(item, region, region_id)
                continue
            is_class_region = (
                region.from_name in class_controls
                if class_controls is not None
                else region.result_type in mapping.class_types
            )
            if not is_class_region:
                self._note_control(region.from_name, item, annotation_id)
                continue
            axes = self._axes_written(item_choices, region.attributes)
            resolved = self.builder.labels(item, annotation_id, region_id, region.labels, axes)
            self._at = (item, annotation_id, region_id)
            shape = outline_of(region)
            for piece_kind, geometry, timing in region_pieces(region, fps, self._report_at):
                row = self.builder.sample(item, annotation_id, region_id, resolved, piece_kind, geometry, timing)
                added.append((row, (geometry[0], geometry[1], geometry[2], geometry[3])))
                if shape is not None:
                    self.builder.outline(row, shape)
        return added

    def _keypoint(self, item: int, region: Region, region_id: str | None) -> None:
        value = region.value or {}
        x, y = number(value.get("x")), number(value.get("y"))
        if math.isfinite(x) and math.isfinite(y):
            label = region.labels[0] if region.labels and isinstance(region.labels[0], str) else None
            self.builder.keypoint(item, x, y, label, region_id)

    def _axes_written(
        self, item_choices: dict[str, list[Any]], attributes: dict[str, list[Any]] | None
    ) -> list[list[Any] | None]:
        """Each spec axis's values as written: the region's own attribute, else the task's choice."""
        out = []
        for control in self.axis_controls:
            values = attributes.get(control) if attributes else None
            out.append(values if values is not None else item_choices.get(control))
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
        self.builder.unknown_field(control, item, annotation_id)

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
            self.builder.note(
                f"no frame rate in the spec, the config or the tasks: {DEFAULT_FRAME_RATE:g} fps assumed "
                "(set labelstudio.frame_rate in the spec)"
            )
        return DEFAULT_FRAME_RATE

    def finish(self) -> Dataset:
        """The dataset read."""
        for issue in self.issues:
            self.builder.issue(issue)
        if self.keypoints:
            self.builder.note(
                f"{self.keypoints} keypoint region(s) read and not checked: an example is a whole task, a box, "
                "a segment or a track"
            )
        return self.builder.build("the config" if self.mapping.known_controls is not None else "the spec")
