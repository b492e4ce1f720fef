"""Read a Label Studio JSON (or JSON_MIN) export into a `Dataset`, one task at a time.

Which annotation counts for a task: a ground-truth annotation first (the most recently updated one, if
several), else the most recently updated submitted one; skipped (`was_cancelled`) annotations and drafts
never count. Every check reads the counted annotation; the other submitted annotations only feed the
annotator-disagreement check.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from taxospec.dataset import (
    KIND_BOX,
    KIND_ITEM,
    KIND_POLYGON,
    KIND_SEGMENT,
    KIND_TRACK,
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
from taxospec.gc_pause import gc_paused
from taxospec.plugins.labelstudio import predictions
from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.formats import LS_JSON_MIN, sniff_export
from taxospec.plugins.labelstudio.jsonmin import group_json_min
from taxospec.plugins.labelstudio.jsonstream import iter_json
from taxospec.plugins.labelstudio.mapping import (
    DEFAULT_FRAME_RATE,
    FINDINGS_CONTROL,
    ControlMapping,
    resolve_mapping,
)
from taxospec.spec.model import Spec

REGION_TYPES = frozenset(
    {
        "rectanglelabels",
        "rectangle",
        "labels",
        "polygonlabels",
        "polygon",
        "ellipselabels",
        "ellipse",
        "keypointlabels",
        "keypoint",
        "brushlabels",
        "brush",
        "timelinelabels",
        "videorectangle",
    }
)
_LABEL_KEYS = ("rectanglelabels", "polygonlabels", "ellipselabels", "timelinelabels", "labels")
_NAN = math.nan

_Piece = tuple[int, tuple[float, ...], tuple[float, ...]]
"""One sample's kind, geometry and timing, as `SampleTable.add` takes them."""


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


class _Region:
    """The results of one region (geometry, labels and per-region attributes) while a task is read."""

    __slots__ = ("attributes", "from_name", "image_h", "image_w", "labels", "result_type", "value")

    def __init__(self) -> None:
        self.result_type: str | None = None
        self.from_name: str | None = None
        self.value: dict[str, Any] | None = None
        self.labels: list[Any] | None = None
        self.attributes: dict[str, list[Any]] = {}
        self.image_w: Any = None
        self.image_h: Any = None


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
        self.seen_region_ids: set[str] = set()

    # --- tasks ----------------------------------------------------------------------------------------

    def ingest(self, task: Any, position: int) -> None:
        if not isinstance(task, dict):
            self.issues.append(ReadIssue("malformed-task", f"element {position} of the export is not a task object"))
            return
        task_id = _id(task.get("id"))
        if task_id is None:
            self.issues.append(ReadIssue("malformed-task", f"element {position} has no integer task id"))
            task_id = -(position + 1)
        data = task.get("data")
        if not isinstance(data, dict):
            self.issues.append(
                ReadIssue("malformed-task", f"task {task_id} has no data object (data is {_kind(data)})")
            )
            data = {}
        annotations = task.get("annotations")
        if annotations is None:
            annotations = task.get("completions")
        if not isinstance(annotations, list):
            if annotations is not None:
                self.issues.append(ReadIssue("malformed-task", f"task {task_id}: annotations is not a list"))
            annotations = []
        submitted = []
        skipped = 0
        for annotation in annotations:
            if not isinstance(annotation, dict):
                self.issues.append(ReadIssue("malformed-task", f"task {task_id}: an annotation is not an object"))
            elif annotation.get("was_cancelled") is True:
                skipped += 1
            else:
                submitted.append(annotation)
        drafts = task.get("drafts")
        n_drafts = len(drafts) if isinstance(drafts, list) else 0
        counted = _counted(submitted)
        project = task.get("project")
        media = data.get(self.mapping.data_key)
        if isinstance(media, (list, dict)) and not self.noted_media_shape:
            self.noted_media_shape = True
            self.dataset.notes.append(
                f"task {task_id} holds a {'list' if isinstance(media, list) else 'mapping'} under "
                f"data.{self.mapping.data_key} (a multi-image task?): taxospec reads one media URI per task, so "
                "the media of such tasks is not read (media-missing)"
            )
        item = self.items.add(
            task_id,
            _id_or(project, -1),
            _text(data.get(self.mapping.data_key)),
            _text(data.get(self.mapping.split_field)) if self.mapping.split_field else None,
            _text(data.get(self.mapping.group_field)) if self.mapping.group_field else None,
            len(submitted),
            skipped,
            n_drafts,
            _annotation_id(counted) if counted is not None else -1,
        )
        self.dataset.annotations_total += len(annotations)
        if counted is None:
            return
        parsed = self._parse(counted, item)
        if parsed is None:
            return
        item_choices, regions = parsed
        if self.mapping.split_control and self.items.split[item] is None:
            split = item_choices.get(self.mapping.split_control)
            if split:
                self.items.split[item] = _text(split[0])
        fps = self._frame_rate(data, regions)
        if not item_choices and not regions:
            self.issues.append(
                ReadIssue(
                    "annotation-empty",
                    f"task {task_id}: the counted annotation has an empty result",
                    item,
                    _annotation_id(counted),
                )
            )
        else:
            first = len(self.samples)
            self._add_samples(item, _annotation_id(counted), item_choices, regions, fps)
            if task.get("predictions") and self.unit in ("image", "box"):
                self._predictions(task["predictions"], range(first, len(self.samples)))
        if len(submitted) > 1:
            self._compare(item, counted, submitted)

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

    # --- one annotation ---------------------------------------------------------------------------------

    def _parse(self, annotation: dict[str, Any], item: int) -> tuple[dict[str, list[Any]], dict[str, _Region]] | None:
        results = annotation.get("result")
        annotation_id = _annotation_id(annotation)
        if results is None:
            results = []
        if not isinstance(results, list):
            self.issues.append(
                ReadIssue("malformed-result", "the annotation's result is not a list", item, annotation_id)
            )
            return None
        geometry_ids = {
            _region_key(r.get("id")) for r in results if isinstance(r, dict) and _type_of(r) in REGION_TYPES
        }
        geometry_ids.discard(None)
        item_choices: dict[str, list[Any]] = {}
        regions: dict[str, _Region] = {}
        seen = self.dataset.controls_seen
        for index, result in enumerate(results):
            if not isinstance(result, dict):
                self.issues.append(
                    ReadIssue("malformed-result", f"result {index} is not an object", item, annotation_id)
                )
                continue
            result_type = _type_of(result)
            from_name = result.get("from_name")
            if result_type == "relation" or from_name == FINDINGS_CONTROL:
                continue
            value = result.get("value")
            region_id = _region_key(result.get("id"))
            if not isinstance(value, dict) or not isinstance(from_name, str):
                what = "no value object" if not isinstance(value, dict) else "no from_name"
                self.issues.append(
                    ReadIssue("malformed-result", f"result {index} has {what}", item, annotation_id, region_id)
                )
                continue
            seen[from_name] += 1
            if result_type in REGION_TYPES:
                key = region_id if region_id is not None else f"#{index}"
                region = regions.get(key)
                if region is None:
                    region = regions[key] = _Region()
                elif (
                    region.labels is not None
                    and _labels_of(result_type, value) is not None
                    and not (result_type == "timelinelabels" and "ranges" not in value)  # a phantom: reported below
                    and not {region.result_type, result_type} <= {"rectangle", "labels", "polygon", "ellipse"}
                ):
                    self.issues.append(
                        ReadIssue(
                            "duplicate-region-id",
                            f"region id {region_id!r} is used by two regions in one annotation",
                            item,
                            annotation_id,
                            region_id,
                        )
                    )
                    key = f"{key}#{index}"
                    region = regions[key] = _Region()
                self._merge_region(region, result, result_type, from_name, value, item, annotation_id, region_id)
            elif region_id is not None and region_id in geometry_ids:
                regions.setdefault(region_id, _Region()).attributes[from_name] = _choice_values(value)
            else:
                item_choices[from_name] = _choice_values(value)
        return item_choices, regions

    def _merge_region(
        self,
        region: _Region,
        result: dict[str, Any],
        result_type: str,
        from_name: str,
        value: dict[str, Any],
        item: int,
        annotation_id: int,
        region_id: str | None,
    ) -> None:
        if result_type == "timelinelabels" and not value.get("ranges"):
            if "sequence" in value:
                self.issues.append(
                    ReadIssue(
                        "phantom-timeline-region",
                        f"a timelinelabels result without ranges duplicates video rectangle {region_id!r} "
                        "(Label Studio issue 9744)",
                        item,
                        annotation_id,
                        region_id,
                    )
                )
            else:
                self.issues.append(
                    ReadIssue(
                        "malformed-result", "a timelinelabels result has no ranges", item, annotation_id, region_id
                    )
                )
            return
        labels = _labels_of(result_type, value)
        if labels is not None or region.result_type is None or region.value is None:
            region.result_type = result_type
            region.from_name = from_name
            region.labels = labels if labels is not None else region.labels
        if region.value is None or _has_geometry(value):
            region.value = value
        region.image_w = result.get("original_width", region.image_w)
        region.image_h = result.get("original_height", region.image_h)

    # --- samples ------------------------------------------------------------------------------------------

    def _add_samples(
        self,
        item: int,
        annotation_id: int,
        item_choices: dict[str, list[Any]],
        regions: dict[str, _Region],
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
            for kind, geometry, timing in self._geometry(region, item, annotation_id, region_id, fps):
                self.samples.add(item, annotation_id, region_id, kind, class_idx, axes, geometry, timing)
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

    def _geometry(
        self, region: _Region, item: int, annotation_id: int, region_id: str | None, fps: float
    ) -> list[_Piece]:
        value = region.value or {}
        result_type = region.result_type
        image_w, image_h = _number(region.image_w), _number(region.image_h)
        if result_type == "timelinelabels":
            out: list[_Piece] = []
            ranges = value.get("ranges")
            if not isinstance(ranges, list):
                self._malformed("a timeline result's ranges is not a list", item, annotation_id, region_id)
                return out
            for r in ranges:
                start = _number(r.get("start")) if isinstance(r, dict) else _NAN
                end = _number(r.get("end")) if isinstance(r, dict) else _NAN
                if math.isnan(start) or math.isnan(end):
                    self._malformed("a timeline range has no numeric start and end", item, annotation_id, region_id)
                    continue
                timing = ((start - 1) / fps, end / fps, start, end, _NAN)
                out.append((KIND_SEGMENT, NO_GEOMETRY, timing))
            return out
        if result_type == "videorectangle":
            return self._track(value, item, annotation_id, region_id, fps)
        if result_type in ("polygonlabels", "polygon"):
            points = value.get("points")
            if not isinstance(points, list) or len(points) < 3:
                n = len(points) if isinstance(points, list) else 0
                self.issues.append(
                    ReadIssue(
                        "polygon-too-few-points",
                        f"polygon has {n} point(s); at least 3 make an area",
                        item,
                        annotation_id,
                        region_id,
                    )
                )
                return [(KIND_POLYGON, (_NAN, _NAN, 0.0, 0.0, 0.0, 0.0, image_w, image_h), NO_TIMING)]
            xs, ys = [], []
            for point in points:
                if not (isinstance(point, list) and len(point) >= 2):
                    self._malformed("a polygon point is not an [x, y] pair", item, annotation_id, region_id)
                    return []
                xs.append(_number(point[0]))
                ys.append(_number(point[1]))
            area = abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2 / 10000
            x0, y0 = min(xs), min(ys)
            geometry = (x0, y0, max(xs) - x0, max(ys) - y0, 0.0, area, image_w, image_h)
            return [(KIND_POLYGON, geometry, NO_TIMING)]
        if result_type in ("ellipselabels", "ellipse"):
            cx, cy = _number(value.get("x")), _number(value.get("y"))
            rx, ry = _number(value.get("radiusX")), _number(value.get("radiusY"))
            area = math.pi * rx * ry / 10000
            ex, ey = _ellipse_extent(rx, ry, _number(value.get("rotation", 0)), image_w, image_h)
            geometry = (cx - ex, cy - ey, 2 * ex, 2 * ey, 0.0, area, image_w, image_h)
            return [(KIND_BOX, geometry, NO_TIMING)]
        x, y = _number(value.get("x")), _number(value.get("y"))
        w, h = _number(value.get("width")), _number(value.get("height"))
        if any(math.isnan(c) for c in (x, y, w, h)):
            self._malformed("a box lacks numeric x, y, width and height", item, annotation_id, region_id)
        elif any(math.isinf(c) for c in (x, y, w, h)):
            self._malformed("a box has an infinite x, y, width or height", item, annotation_id, region_id)
        geometry = (x, y, w, h, _number(value.get("rotation", 0)), w * h / 10000, image_w, image_h)
        return [(KIND_BOX, geometry, NO_TIMING)]

    def _track(
        self, value: dict[str, Any], item: int, annotation_id: int, region_id: str | None, fps: float
    ) -> list[_Piece]:
        sequence = value.get("sequence")
        frames_count = _number(value.get("framesCount"))
        keyframes = [k for k in sequence if isinstance(k, dict)] if isinstance(sequence, list) else []
        keyframes.sort(key=lambda k: _number(k.get("frame")) if not math.isnan(_number(k.get("frame"))) else 0)
        enabled = [k for k in keyframes if k.get("enabled", True) is not False]
        if not enabled:
            self._malformed("a video rectangle has no enabled keyframe", item, annotation_id, region_id)
            return []
        for keyframe in enabled:
            kx, ky = _number(keyframe.get("x")), _number(keyframe.get("y"))
            kw, kh = _number(keyframe.get("width")), _number(keyframe.get("height"))
            if kx < -0.01 or ky < -0.01 or kx + kw > 100.01 or ky + kh > 100.01:
                self.issues.append(
                    ReadIssue(
                        "box-outside-image",
                        f"the box leaves the frame at keyframe {keyframe.get('frame')} "
                        f"(x {kx:.4g}–{kx + kw:.4g} %, y {ky:.4g}–{ky + kh:.4g} %)",
                        item,
                        annotation_id,
                        region_id,
                    )
                )
                break
        start = _number(enabled[0].get("frame"))
        last = keyframes[-1]
        end = _number(last.get("frame"))
        if last.get("enabled", True) is not False and not math.isnan(frames_count):
            end = frames_count  # an enabled last keyframe keeps the box until the end of the video
        smallest = min(enabled, key=lambda k: _number(k.get("width")) * _number(k.get("height")))
        x, y = _number(smallest.get("x")), _number(smallest.get("y"))
        w, h = _number(smallest.get("width")), _number(smallest.get("height"))
        geometry = (x, y, w, h, _number(smallest.get("rotation", 0)), w * h / 10000, _NAN, _NAN)
        return [(KIND_TRACK, geometry, ((start - 1) / fps, end / fps, start, end, frames_count))]

    def _malformed(self, message: str, item: int, annotation_id: int, region_id: str | None) -> None:
        self.issues.append(ReadIssue("malformed-result", message, item, annotation_id, region_id))

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

    def _frame_rate(self, data: dict[str, Any], regions: dict[str, _Region]) -> float:
        if self.mapping.frame_rate is not None:
            return self.mapping.frame_rate
        if self.mapping.frame_rate_key is not None:
            fps = _number(data.get(self.mapping.frame_rate_key))
            if fps > 0:
                return fps
        for region in regions.values():
            if region.result_type == "videorectangle" and region.value is not None:
                frames = _number(region.value.get("framesCount"))
                duration = _number(region.value.get("duration"))
                if frames > 0 and duration > 0:
                    return frames / duration
        if self.spec.media == "video" and not self.assumed_frame_rate:
            self.assumed_frame_rate = True
            self.dataset.notes.append(
                f"no frame rate in the spec, the config or the tasks: {DEFAULT_FRAME_RATE:g} fps assumed "
                "(set labelstudio.frame_rate in the spec)"
            )
        return DEFAULT_FRAME_RATE

    def _compare(self, item: int, counted: dict[str, Any], submitted: list[dict[str, Any]]) -> None:
        """Record how each submitted annotation judged the task (the `annotator-disagreement` check compares)."""
        for annotation in [counted, *(other for other in submitted if other is not counted)]:
            self.dataset.judgements.append(
                Judgement(
                    item,
                    _annotation_id(annotation),
                    _annotator(annotation),
                    annotation is counted,
                    self._signature(annotation, item),
                )
            )

    def _signature(self, annotation: dict[str, Any], item: int) -> dict[str, tuple[str, ...]]:
        results = annotation.get("result")
        if not isinstance(results, list):
            return {}
        labels: list[str] = []
        choices: dict[str, list[Any]] = {}
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
                continue
            value = result["value"]
            from_name = result.get("from_name")
            result_type = _type_of(result)
            if result_type in REGION_TYPES:
                found = _labels_of(result_type, value)
                phantom = result_type == "timelinelabels" and "ranges" not in value
                if found and not phantom:
                    labels.extend(str(x) for x in found)
            elif result_type == "choices" and isinstance(from_name, str):
                choices[from_name] = _choice_values(value)
        signature: dict[str, tuple[str, ...]] = {}
        if self.unit == "image":
            for control in self.mapping.class_controls or ():
                if control in choices:
                    signature["the label"] = tuple(sorted(str(x) for x in choices[control]))
        else:
            signature["the labels"] = tuple(sorted(labels))
        for axis, control in zip(self.axis_names, self.axis_controls, strict=True):
            if self.spec.axes[axis].scope == "item" and control in choices:
                signature[f"axis {axis}"] = tuple(sorted(str(x) for x in choices[control]))
        return signature

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


def _counted(submitted: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not submitted:
        return None
    truth = [a for a in submitted if a.get("ground_truth") is True]
    pool = truth or submitted
    return max(pool, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), _annotation_id(a)))


def _annotation_id(annotation: dict[str, Any]) -> int:
    return _id_or(annotation.get("id"), -1)


def _id(value: Any) -> int | None:
    """`value` as an id: an integer (not a bool) that fits in 64 bits, as Label Studio's ids do; else None
    (a hand-edited export can hold 10**30, which no id column can)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _id_or(value: Any, default: int) -> int:
    """`_id(value)`, or `default`."""
    found = _id(value)
    return default if found is None else found


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"#{who}" if isinstance(who, int) else repr(str(who))


def _labels_of(result_type: Any, value: dict[str, Any]) -> list[Any] | None:
    if result_type == "videorectangle":
        labels = value.get("labels")
    elif result_type in _LABEL_KEYS:
        labels = value.get(result_type)
    else:
        labels = next((value[k] for k in _LABEL_KEYS if k in value), None)
    if labels is None:
        return None
    return labels if isinstance(labels, list) else [labels]


def _type_of(result: dict[str, Any]) -> str | None:
    value = result.get("type")
    return value if isinstance(value, str) else None


def _region_key(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _has_geometry(value: dict[str, Any]) -> bool:
    return "x" in value or "points" in value or "ranges" in value or "sequence" in value


def _choice_values(value: dict[str, Any]) -> list[Any]:
    choices = value.get("choices")
    if choices is None:
        return []
    return choices if isinstance(choices, list) else [choices]


def _ellipse_extent(rx: float, ry: float, rotation: float, image_w: float, image_h: float) -> tuple[float, float]:
    """Half the width and height, in percent, of the upright box around an ellipse of radii `rx`, `ry` (in
    percent) turned `rotation` degrees about its centre — as Label Studio turns ellipses — computed in
    pixels where the picture's size is known (a turn in percent would shear it)."""
    theta = math.radians(rotation) if math.isfinite(rotation) else 0.0
    if not theta % (2 * math.pi):
        return rx, ry
    sx = image_w / 100 if math.isfinite(image_w) and image_w > 0 else 1.0
    sy = image_h / 100 if math.isfinite(image_h) and image_h > 0 else 1.0
    a, b, cos, sin = rx * sx, ry * sy, math.cos(theta), math.sin(theta)
    return math.hypot(a * cos, b * sin) / sx, math.hypot(a * sin, b * cos) / sy


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _NAN
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float (10**400 in a hand-edited export)
        return math.inf if value > 0 else -math.inf


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
