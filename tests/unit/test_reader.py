"""The Label Studio reader on real exports (tests/fixtures/label-studio) and on hand-made edge cases."""

from __future__ import annotations

import copy
import gzip
import json
import math
from pathlib import Path
from typing import Any

import pytest

from taxospec import check, load_spec, load_spec_text, read_export
from taxospec.dataset import KIND_BOX, KIND_SEGMENT, KIND_TRACK
from taxospec.plugins.labelstudio.config import load_label_config, parse_label_config
from taxospec.plugins.labelstudio.formats import LS_JSON, LS_JSON_MIN, sniff_export
from taxospec.plugins.labelstudio.mapping import resolve_mapping

from ..conftest import FIXTURES

LS = FIXTURES / "label-studio"
IMG_SPEC = load_spec(LS / "img_spec.yaml")
VID_SPEC = load_spec(LS / "vid_spec.yaml")


def _write(tmp_path: Path, tasks: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks))
    return path


def test_sniffs_formats() -> None:
    assert sniff_export(LS / "img_easy_JSON.json") == LS_JSON
    assert sniff_export(LS / "img_snapshot_default_JSON.json") == LS_JSON
    assert sniff_export(LS / "img_easy_JSON_MIN.json") == LS_JSON_MIN
    assert sniff_export(LS / "vid_easy_JSON_MIN.json") == LS_JSON_MIN


def test_image_export_regions_attributes_and_pixels() -> None:
    dataset = read_export(IMG_SPEC, LS / "img_easy_JSON.json", LS / "img_label_config.xml")
    samples = dataset.samples
    assert len(dataset.items) == 3 and len(samples) == 1
    assert any(note.startswith("1 keypoint region(s) read and not checked") for note in dataset.notes)
    assert samples.region_id[0] == "r1" and samples.kind[0] == KIND_BOX
    assert (samples.x[0], samples.y[0], samples.w[0], samples.h[0]) == (10, 20, 30, 40)
    assert (samples.image_w[0], samples.image_h[0]) == (640, 480)
    assert samples.area[0] == pytest.approx(0.12)
    scene, occluded = IMG_SPEC.axes["scene"].values, IMG_SPEC.axes["occluded"].values
    assert scene[samples.axes[0][0]] == "day"
    assert occluded[samples.axes[1][0]] == "no", "the per-region attribute is joined by region id"
    assert dataset.items.n_skipped[2] == 1 and dataset.items.n_submitted[2] == 0


def test_snapshot_and_easy_exports_read_the_same() -> None:
    easy = read_export(IMG_SPEC, LS / "img_easy_JSON.json")
    snapshot = read_export(IMG_SPEC, LS / "img_snapshot_default_JSON.json")
    assert list(easy.samples.x) == list(snapshot.samples.x)
    assert list(easy.items.task_id) == list(snapshot.items.task_id)


def test_counted_annotation_is_ground_truth_first_then_latest(tmp_path: Path) -> None:
    tasks = json.loads((LS / "img_easy_JSON_with_draft.json").read_text())
    by_id = {t["id"]: t for t in tasks}
    dataset = read_export(IMG_SPEC, _write(tmp_path, tasks))
    row = list(dataset.items.task_id).index(2)
    annotations = [a for a in by_id[2]["annotations"] if not a["was_cancelled"]]
    latest = max(annotations, key=lambda a: a["updated_at"])
    assert dataset.items.counted_annotation[row] == latest["id"]
    older = min(annotations, key=lambda a: a["updated_at"])
    older["ground_truth"] = True
    dataset = read_export(IMG_SPEC, _write(tmp_path, tasks))
    assert dataset.items.counted_annotation[row] == older["id"]
    assert dataset.items.n_drafts[list(dataset.items.task_id).index(5)] == 1


def test_completed_by_objects_prediction_objects_and_completions(tmp_path: Path) -> None:
    tasks = json.loads((LS / "img_easy_JSON.json").read_text())
    task = copy.deepcopy(tasks[0])
    task["annotations"][0]["completed_by"] = {"id": 1, "email": "a@example.com", "first_name": "", "last_name": ""}
    task["predictions"] = [{"id": 9, "result": [], "model_version": "v1", "score": 0.5}]
    old_style = {"id": 50, "data": task["data"], "completions": task["annotations"]}
    dataset = read_export(IMG_SPEC, _write(tmp_path, [task, old_style]), LS / "img_label_config.xml")
    assert len(dataset.samples) == 2 and dataset.issues == [] and dataset.written == []


def test_json_min_matches_json_for_classes_and_item_axes() -> None:
    full = check(IMG_SPEC, LS / "img_easy_JSON.json")
    minimal = check(IMG_SPEC, LS / "img_easy_JSON_MIN.json")
    assert full.classes == minimal.classes
    assert full.axis_counts["scene"] == minimal.axis_counts["scene"]
    assert minimal.export_format == LS_JSON_MIN and minimal.notes  # per-region linkage is lost


def test_gzip_export(tmp_path: Path) -> None:
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress((LS / "img_easy_JSON.json").read_bytes()))
    assert check(IMG_SPEC, path).classes == check(IMG_SPEC, LS / "img_easy_JSON.json").classes


def test_video_segments_and_tracks(tmp_path: Path) -> None:
    dataset = read_export(VID_SPEC, LS / "vid_easy_JSON.json", LS / "vid_label_config.xml")
    samples = dataset.samples
    assert list(samples.kind) == [KIND_SEGMENT]
    assert (samples.start_frame[0], samples.end_frame[0]) == (3, 40)
    assert samples.start_s[0] == pytest.approx(2 / 25) and samples.end_s[0] == pytest.approx(40 / 25)
    track_spec = load_spec_text(
        "taxospec: 1\nname: t\nmedia: video\nunit: track\nclasses: {Car: {hard_negatives: [Person]},"
        " Person: {role: negative}}\n"
    )
    tracks = read_export(track_spec, LS / "vid_easy_JSON.json", LS / "vid_label_config.xml").samples
    assert list(tracks.kind) == [KIND_TRACK]
    assert (tracks.start_frame[0], tracks.end_frame[0], tracks.frames_count[0]) == (1, 50, 250)
    assert tracks.end_s[0] == pytest.approx(2.0), "disabled at frame 50: the box ends there"


def test_phantom_timeline_duplicates_are_reported_not_counted(tmp_path: Path) -> None:
    tasks = json.loads((LS / "vid_easy_JSON.json").read_text())
    rectangle = tasks[0]["annotations"][0]["result"][0]
    phantom = {**copy.deepcopy(rectangle), "from_name": "tl", "type": "timelinelabels"}
    phantom["value"]["timelinelabels"] = ["Moving"]
    tasks[0]["annotations"][0]["result"].append(phantom)
    report = check(VID_SPEC, _write(tmp_path, tasks))
    assert report.counts_by_code()["phantom-timeline-region"] == 1
    assert report.classes["Moving"].total == 1


def test_frame_rate_from_spec_config_task_or_default(tmp_path: Path) -> None:
    config = load_label_config(LS / "vid_label_config.xml")
    assert resolve_mapping(VID_SPEC, config).frame_rate == 25
    assert resolve_mapping(VID_SPEC, None).frame_rate is None
    dynamic = parse_label_config(
        (LS / "vid_label_config.xml").read_text().replace('framerate="25"', 'frameRate="$fps"')
    )
    assert resolve_mapping(VID_SPEC, dynamic).frame_rate_key == "fps"
    tasks = json.loads((LS / "vid_easy_JSON.json").read_text())
    tasks[0]["data"]["fps"] = 50
    tasks[0]["annotations"][0]["result"] = [
        r for r in tasks[0]["annotations"][0]["result"] if r["type"] != "videorectangle"
    ]
    dataset = read_export(VID_SPEC, _write(tmp_path, tasks), dynamic)
    assert dataset.samples.end_s[0] == pytest.approx(40 / 50)
    default = read_export(VID_SPEC, _write(tmp_path, tasks))
    assert default.samples.end_s[0] == pytest.approx(40 / 25) and "25 fps assumed" in default.notes[0]


def _box(rid: str, label: Any, **value: Any) -> dict[str, Any]:
    geometry = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, **value}
    return {
        "id": rid,
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 640,
        "original_height": 480,
        "value": {**geometry, "rectanglelabels": label},
    }


def _task(results: list[dict[str, Any]], task_id: int = 1) -> dict[str, Any]:
    scene = {"from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["day"]}}
    occluded = [
        {"id": r["id"], "from_name": "occluded", "to_name": "image", "type": "choices", "value": {"choices": ["no"]}}
        for r in results
        if "id" in r
    ]
    return {
        "id": task_id,
        "data": {"image": f"{task_id}.jpg"},
        "annotations": [{"id": task_id, "result": [scene, *results, *occluded]}],
    }


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ([_box("a", ["Bus"])], "unknown-label"),
        ([_box("a", [])], "empty-label"),
        ([_box("a", ["Car", "Person"])], "multiple-labels"),
        ([_box("a", ["Car"], x=95)], "box-outside-image"),
        ([_box("a", ["Car"], x=90, width=5, rotation=-90)], "box-outside-image"),
        ([_box("a", ["Car"], width=0)], "box-degenerate"),
        ([_box("a", ["Car"]), _box("a", ["Person"], x=50)], "duplicate-region-id"),
        ([_box("a", ["Car"], x="ten")], "malformed-result"),
        (
            [
                {
                    "id": "p",
                    "from_name": "poly",
                    "to_name": "image",
                    "type": "polygonlabels",
                    "value": {"points": [[1, 1], [2, 2]], "polygonlabels": ["Car"]},
                }
            ],
            "polygon-too-few-points",
        ),
    ],
    ids=[
        "unknown",
        "empty",
        "multiple",
        "outside",
        "rotated-outside",
        "degenerate",
        "duplicate-id",
        "malformed",
        "polygon",
    ],
)
def test_region_problems(tmp_path: Path, results: list[dict[str, Any]], code: str) -> None:
    spec = load_spec_text((LS / "img_spec.yaml").read_text().replace("class_control: bbox", "class_control: bbox"))
    if code == "polygon-too-few-points":
        spec = load_spec_text((LS / "img_spec.yaml").read_text().replace("labelstudio:\n  class_control: bbox\n", ""))
    report = check(spec, _write(tmp_path, [_task(results)]))
    assert code in report.counts_by_code(), report.counts_by_code()


def test_polygon_area_is_the_shoelace_area(tmp_path: Path) -> None:
    spec = load_spec_text((LS / "img_spec.yaml").read_text().replace("labelstudio:\n  class_control: bbox\n", ""))
    square = {
        "id": "p",
        "from_name": "poly",
        "to_name": "image",
        "type": "polygonlabels",
        "value": {"points": [[10, 10], [30, 10], [30, 30], [10, 30]], "polygonlabels": ["Car"]},
    }
    dataset = read_export(spec, _write(tmp_path, [_task([square])]))
    assert dataset.samples.area[0] == pytest.approx(0.04)
    assert (dataset.samples.x[0], dataset.samples.w[0]) == (10, 20)


def test_a_turned_ellipse_is_the_upright_box_around_it(tmp_path: Path) -> None:
    """Label Studio turns an ellipse about its centre (x, y): its box is the upright box around the turned
    ellipse, in pixels (here a 400×200 picture), not a box turned about a corner."""
    spec = load_spec_text((LS / "img_spec.yaml").read_text().replace("labelstudio:\n  class_control: bbox\n", ""))

    def ellipse(rid: str, rotation: float) -> dict[str, Any]:
        value = {"x": 50, "y": 50, "radiusX": 10, "radiusY": 5, "rotation": rotation, "ellipselabels": ["Car"]}
        return {
            "id": rid,
            "from_name": "ell",
            "to_name": "image",
            "type": "ellipselabels",
            "value": value,
            "original_width": 400,
            "original_height": 200,
        }

    dataset = read_export(spec, _write(tmp_path, [_task([ellipse("flat", 0), ellipse("up", 90), ellipse("half", 45)])]))
    cols = dataset.columns
    boxes = [(round(cols.x[i], 4), round(cols.y[i], 4), round(cols.w[i], 4), round(cols.h[i], 4)) for i in range(3)]
    # radii of 40 and 10 px: turned a quarter, 10 and 40 px, i.e. 2.5 % of the width and 20 % of the height
    assert boxes[0] == (40, 45, 20, 10) and boxes[1] == (47.5, 30, 5, 40)
    half = (40**2 / 2 + 10**2 / 2) ** 0.5  # px, both ways at 45°
    assert boxes[2] == pytest.approx((50 - half / 4, 50 - half / 2, half / 2, half), abs=1e-3)
    assert list(cols.rotation[:3]) == [0, 0, 0] and cols.area[1] == pytest.approx(math.pi * 50 / 10000)


def test_missing_values_are_nan_not_zero(tmp_path: Path) -> None:
    dataset = read_export(IMG_SPEC, _write(tmp_path, [_task([_box("a", ["Car"], x=None)])]))
    assert math.isnan(dataset.samples.x[0])


def test_track_leaving_the_frame_at_a_keyframe(tmp_path: Path) -> None:
    tasks = json.loads((LS / "vid_easy_JSON.json").read_text())
    sequence = tasks[0]["annotations"][0]["result"][0]["value"]["sequence"]
    sequence.insert(1, {**sequence[0], "frame": 20, "x": 90})
    spec = load_spec_text(
        "taxospec: 1\nname: t\nmedia: video\nunit: track\nclasses: {Car: {hard_negatives: [Person]},"
        " Person: {role: negative}}\n"
    )
    report = check(spec, _write(tmp_path, tasks), config=LS / "vid_label_config.xml")
    outside = [f for f in report.findings if f.code == "box-outside-image"]
    assert [f.region_id for f in outside] == ["v1"] and "keyframe 20" in outside[0].message


@pytest.mark.parametrize("name", sorted(p.name for p in LS.glob("*.json") if not p.name.startswith("webhook")), ids=str)
def test_every_fixture_export_checks(name: str) -> None:
    spec = IMG_SPEC if name.startswith("img") else VID_SPEC
    config = LS / ("img_label_config.xml" if name.startswith("img") else "vid_label_config.xml")
    report = check(spec, LS / name, config=config)
    assert report.summary.tasks > 0 and report.summary.samples > 0
    assert not {"malformed-task", "malformed-result", "config-mismatch"} & set(report.counts_by_code())


@pytest.mark.parametrize("name", ["img_easy_CSV.csv", "vid_easy_CSV.csv"])
def test_csv_exports_are_refused_with_a_reason(name: str) -> None:
    from taxospec.errors import ExportError

    with pytest.raises(ExportError, match=r"looks like a CSV file \(Label Studio's CSV export\)"):
        check(IMG_SPEC, LS / name)


def test_multi_image_tasks_are_named_in_a_note(tmp_path: Path) -> None:
    """A task whose media field is a list (a multi-image task) has no media URI; the report says why once."""
    tasks = json.loads((LS / "img_easy_JSON_with_draft.json").read_text())
    first, second = copy.deepcopy(tasks[0]), copy.deepcopy(tasks[1])
    key = next(k for k, v in first["data"].items() if isinstance(v, str) and "/data/" in v)
    first["data"][key] = [first["data"][key], first["data"][key]]
    second["data"][key] = {"url": second["data"][key]}
    dataset = read_export(IMG_SPEC, _write(tmp_path, [first, second, *tasks[2:]]))
    notes = [n for n in dataset.notes if "multi-image task" in n]
    assert notes == [
        f"task {first['id']} holds a list under data.{key} (a multi-image task?): taxospec reads one media URI "
        "per task, so the media of such tasks is not read (media-missing)"
    ]
    assert dataset.items.media[0] is None and dataset.items.media[1] is None


def _findings(report: Any, code: str) -> list[tuple[Any, ...]]:
    return sorted(
        (f.task_id, f.region_id, f.axis, f.value, f.count, f.message) for f in report.findings if f.code == code
    )


def test_label_checks_judge_what_was_written(tmp_path: Path) -> None:
    """The reader only hands over what the export wrote; the label checks decide what is wrong with it, one
    flag per region however many pieces it has."""
    occluded_twice = _box("c", ["Car"])
    tasks = [
        _task([_box("a", ["Bus"]), _box("b", []), _box("d", ["Car", "Person"])], task_id=1),
        _task([occluded_twice], task_id=2),
        {"id": 3, "data": {"image": "3.jpg"}, "annotations": [{"id": 3, "result": []}]},
        _task([_box("e", ["Car"])], task_id=4),
    ]
    # region c: two values of a region axis, the first not one of its values
    tasks[1]["annotations"][0]["result"][-1]["value"]["choices"] = ["maybe", "no"]
    weather = {"from_name": "weather", "to_name": "image", "type": "choices", "value": {"choices": ["rain"]}}
    tasks[3]["annotations"][0]["result"].append(weather)
    tasks[0]["annotations"][0]["result"].append(weather)
    report = check(IMG_SPEC, _write(tmp_path, tasks))
    assert _findings(report, "unknown-label") == [
        (1, "a", None, "Bus", None, "region 'a' is labeled 'Bus', which is not a class of the spec")
    ]
    assert _findings(report, "empty-label") == [(1, "b", None, None, None, "region 'b' has an empty label list")]
    assert _findings(report, "multiple-labels") == [
        (1, "d", None, None, None, "region 'd' has 2 labels ('Car', 'Person')"),
        (2, "c", "occluded", None, None, "axis 'occluded' has 2 values where one is allowed"),
    ]
    assert _findings(report, "axis-value-unknown") == [
        (2, "c", "occluded", "maybe", None, "axis 'occluded' has value 'maybe', which the spec does not list")
    ]
    assert _findings(report, "unknown-control") == [
        (1, None, None, "weather", 2, "control 'weather' appears in 2 result(s) but is not in the spec")
    ]
    assert _findings(report, "annotation-empty") == [
        (3, None, None, None, None, "task 3: the counted annotation has an empty result")
    ]


def test_label_checks_read_any_reader_through_the_builder() -> None:
    """A reader of another format fills the same tables through `DatasetBuilder`; the same checks judge them."""
    from taxospec.checks.run import run_checks
    from taxospec.dataset_builder import Box, DatasetBuilder

    builder = DatasetBuilder(IMG_SPEC, "rows.csv", "csv")
    row = builder.task(7, "7.jpg")
    builder.example(row, "Bus", axes={"scene": "dusk", "weather": "rain"}, box=Box(1, 1, 5, 5), region_id="r1")
    builder.example(row, "", axes={"scene": "day", "weather": "sun"}, box=Box(1, 1, 5, 5), region_id="r2")
    builder.example(row, "Car", axes={"scene": "day", "occluded": "no"}, box=Box(1, 1, 5, 5), region_id="r3")
    dataset = builder.build()
    findings, _ = run_checks(dataset, select={"unknown-label", "empty-label", "axis-value-unknown", "unknown-control"})
    assert sorted((f.code, f.task_id, f.region_id, f.count) for f in findings) == [
        ("axis-value-unknown", 7, "r1", None),
        ("empty-label", 7, "r2", None),
        ("unknown-control", 7, None, 2),
        ("unknown-label", 7, "r1", None),
    ]
    assert [int(c) for c in dataset.columns.class_idx] == [-1, -1, 0]
