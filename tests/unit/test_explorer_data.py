"""What the HTML explorer is built from: the 2-D map (seeded, stable, neighbours kept), every example with
its shape, and the page's data joining examples to their scores, findings and pictures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from taxospec import check, load_spec_text
from taxospec.render.explorer import ExplorerMedia, explorer_payload, explorer_section
from taxospec.scores.projection import project

from ..conftest import FIXTURES


def _clusters(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    vectors = np.eye(16)[labels] * 3 + 0.4 * rng.normal(size=(n, 16))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def test_the_map_is_seeded_stable_and_keeps_neighbours_together() -> None:
    vectors, labels = _clusters(300)
    first, method = project(vectors)
    again, _ = project(vectors)
    assert method.startswith("t-SNE") and np.array_equal(first, again), "the same vectors, the same map"
    assert first.shape == (300, 2) and first.min() >= 0 and first.max() <= 1
    # each point's nearest point on the map mostly shares its class: the clusters stay apart
    d = ((first[:, None, :] - first[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95
    tiny, how = project(vectors[:5])
    assert tiny.shape == (5, 2) and how.startswith("PCA")
    assert project(np.zeros((0, 16)))[0].shape == (0, 2)


def test_beyond_the_sample_the_rest_are_placed_into_the_fitted_map(monkeypatch: Any) -> None:
    from taxospec.scores import projection

    monkeypatch.setattr(projection, "SAMPLE", 200)
    vectors, labels = _clusters(500, seed=1)
    placed, method = projection.project(vectors)
    assert "fitted on 200" in method and placed.shape == (500, 2)
    d = ((placed[:, None, :] - placed[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.9


SPEC = """taxospec: 1
name: shapes
unit: box
classes:
  Car: {min_examples: 1}
  Person: {min_examples: 1}
axes:
  scene: {values: [day, night]}
"""


def _region(rid: str, kind: str, value: dict[str, Any], label: str = "Car") -> dict[str, Any]:
    key = {"rectangle": "rectanglelabels", "polygon": "polygonlabels", "ellipse": "ellipselabels"}[kind]
    return {"id": rid, "from_name": "bbox", "to_name": "image", "type": key, "value": {**value, key: [label]}}


def _export(tmp_path: Path) -> Path:
    results = [
        {"from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["night"]}},
        _region("b1", "rectangle", {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0}),
        _region("p1", "polygon", {"points": [[50, 50], [60, 50], [55, 60]]}, "Person"),
        _region("e1", "ellipse", {"x": 80, "y": 80, "radiusX": 5, "radiusY": 3, "rotation": 30}),
        {
            "id": "k1",
            "from_name": "kp",
            "to_name": "image",
            "type": "keypointlabels",
            "value": {"x": 12.5, "y": 22.5, "keypointlabels": ["nose"]},
        },
        _region("tiny", "rectangle", {"x": 90, "y": 5, "width": 0.5, "height": 0.5, "rotation": 0}),
    ]
    tasks = [
        {"id": 7, "data": {"image": "a.jpg"}, "annotations": [{"id": 70, "result": results}]},
        {"id": 8, "data": {"image": "b.jpg"}, "annotations": []},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def test_every_example_is_in_the_report_with_its_shape(tmp_path: Path) -> None:
    report = check(load_spec_text(SPEC), _export(tmp_path), explore=True, embed=False)
    table = report.examples
    assert table is not None and report.scores is None
    by_region = {r: i for i, r in enumerate(table.region_id)}
    assert set(by_region) == {"b1", "p1", "e1", "tiny"}
    assert table.box[by_region["b1"]] == [10.0, 20.0, 30.0, 40.0, 0.0]
    assert table.outline[by_region["p1"]] == {"polygon": [[50.0, 50.0], [60.0, 50.0], [55.0, 60.0]]}
    assert table.outline[by_region["e1"]] == {"ellipse": [80.0, 80.0, 5.0, 3.0, 30.0]}
    assert table.class_name[by_region["p1"]] == "Person" and table.axes["scene"][by_region["b1"]] == "night"
    assert table.keypoints == [[7, 12.5, 22.5, "nose"]]
    assert table.score_row == [None] * 4, "no embeddings, no scores"
    assert report.media == {7: "a.jpg", 8: "b.jpg"}, "every task's media, for its picture"
    plain = check(load_spec_text(SPEC), _export(tmp_path), embed=False)
    assert plain.examples is None, "only when asked for"


def test_the_page_data_joins_examples_to_findings_and_pictures(tmp_path: Path) -> None:
    report = check(load_spec_text(SPEC), _export(tmp_path), explore=True, embed=False)
    media = ExplorerMedia(pictures={(7, None): "data:image/jpeg;base64,AAAA"})
    data = explorer_payload(report, media)
    examples = data["examples"]
    tiny = examples["region"].index("tiny")
    codes = [data["findings"][f]["code"] for f in examples["flags"][tiny]]
    assert "box-too-small" in codes
    assert examples["pic"] == [0, 0, 0, 0] and data["pictures"] == ["data:image/jpeg;base64,AAAA"]
    assert examples["cls"][examples["region"].index("p1")] == data["classes"].index("Person")
    assert data["axes"]["scene"] == ["day", "night"] and examples["axes"]["scene"] == [1, 1, 1, 1]
    assert data["byTask"] == {"7": [0, 1, 2, 3]} and data["keypoints"] == {"7": [[12.5, 22.5, "nose"]]}
    assert examples["x"] == [None] * 4 and "box-too-small" in examples["text"][tiny]
    page = explorer_section(report, media)
    assert "<\\/" not in page.split('id="explorer-data">')[0]
    assert page.count("</script>") == 2, "the data cannot close its script element"


def test_the_data_cannot_break_out_of_its_script_element(tmp_path: Path) -> None:
    export = _export(tmp_path)
    tasks = json.loads(export.read_text())
    tasks[0]["data"]["image"] = "</script><script>alert(1)</script>.jpg"
    export.write_text(json.dumps(tasks))
    report = check(load_spec_text(SPEC), export, explore=True, embed=False)
    page = explorer_section(report, ExplorerMedia())
    data = page.split('<script type="application/json" id="explorer-data">')[1].split("</script>")[0]
    assert "alert" not in page.replace(data, "") and json.loads(data.replace("<\\/", "</"))


def test_fixture_exports_still_make_a_page(tmp_path: Path) -> None:
    """The hand-made broken exports (missing values, odd geometry) make a page too."""
    spec = FIXTURES / "exports" / "spec.yaml"
    for name in ("huge-coordinates", "no-value", "lone-surrogates", "data-null"):
        report = check(spec, FIXTURES / "exports" / name / "export.json", explore=True, embed=False)
        assert explorer_section(report, None).count("</script>") == 2


def test_the_json_report_carries_the_examples_when_asked(tmp_path: Path, run_cli: Any) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    export = _export(tmp_path)
    plain = json.loads(run_cli("check", spec, export, "--format", "json", "--no-embeddings").stdout)
    explored = json.loads(run_cli("check", spec, export, "--format", "json", "--no-embeddings", "--explore").stdout)
    assert plain["examples"] is None and len(explored["examples"]["task_id"]) == 4
    page = tmp_path / "report.html"
    run_cli("check", spec, export, "--no-embeddings", "-o", page)
    assert 'id="explorer-data"' in page.read_text(), "the HTML report always explores"
