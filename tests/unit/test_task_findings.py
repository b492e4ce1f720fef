"""What taxospec writes into a Label Studio task and reads back: the meta note, the prediction that draws
each finding on its region, which run found each, and how a live run merges with the last batch run
(the writing itself runs against a real Label Studio in tests/integration/test_labelstudio_live.py)."""

from __future__ import annotations

from typing import Any

from taxospec.findings import Finding, Severity
from taxospec.plugins.labelstudio.config import parse_label_config
from taxospec.plugins.labelstudio.task_findings import (
    MAX_PER_TASK,
    Run,
    TaskFinding,
    by_task,
    merged,
    stored,
)
from taxospec.plugins.labelstudio.task_view import Panel, note_of, prediction_of, region_ids
from taxospec.plugins.labelstudio.writeback import TARGETS, destination

BATCH = Run("batch", "2026-12-06T21:40:05Z")
LIVE = Run("live", "2026-12-06T22:00:00Z")


def _finding(code: str, severity: Severity, task_id: int | None, region_id: str | None = None, **more: Any) -> Finding:
    return Finding(code=code, severity=severity, message=f"{code} here", task_id=task_id, region_id=region_id, **more)


def _task(*regions: str, meta: Any = None, predictions: Any = ()) -> dict[str, Any]:
    results = []
    for rid in regions:
        results.append(
            {
                "id": rid,
                "from_name": "bbox",
                "to_name": "image",
                "type": "rectanglelabels",
                "original_width": 640,
                "original_height": 480,
                "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "rectanglelabels": ["Car"]},
            }
        )
        results.append(
            {"id": rid, "from_name": "occluded", "to_name": "image", "type": "choices", "value": {"choices": ["no"]}}
        )
    return {
        "id": 1,
        "annotations": [{"id": 9, "result": results, "was_cancelled": False}],
        "predictions": list(predictions),
        "meta": meta or {},
    }


def test_findings_are_grouped_by_task_with_their_run() -> None:
    findings = [
        _finding("box-too-small", Severity.ERROR, 3, "r1"),
        _finding("box-cut-by-edge", Severity.WARNING, 3),
        _finding("task-unannotated", Severity.WARNING, 4),
        _finding("class-below-minimum", Severity.ERROR, None),
    ]
    grouped = by_task(findings, BATCH)
    assert sorted(grouped) == [3, 4]
    note = note_of(grouped[3])
    assert note["errors"] == 1 and note["warnings"] == 1 and note["count"] == 2
    assert note["codes"] == ["box-cut-by-edge", "box-too-small"]
    assert note["runs"] == ["batch run 2026-12-06 21:40 UTC"]
    assert note["findings"][0] == {
        "code": "box-too-small",
        "severity": "error",
        "message": "box-too-small here",
        "region_id": "r1",
        "run": "batch",
        "at": "2026-12-06T21:40:05Z",
    }


def test_the_prediction_draws_the_offending_region_and_puts_the_rest_in_the_panel() -> None:
    findings = by_task(
        [
            _finding("box-too-small", Severity.ERROR, 1, "r1"),
            _finding("likely-mislabel", Severity.WARNING, 1, "r1", score=0.83),
            _finding("split-missing", Severity.ERROR, 1),
        ],
        BATCH,
    )[1]
    result, score = prediction_of(findings, _task("r1", "r2"), Panel("image"))
    assert score == 0.83, "the strongest finding score, never a severity"
    [drawn, panel] = result
    assert drawn["id"] == "taxospec-r1" and drawn["type"] == "rectanglelabels" and drawn["readonly"] is True
    assert drawn["value"]["rectanglelabels"] == ["Car"] and drawn["original_width"] == 640
    assert drawn["meta"]["text"] == [
        "[error] box-too-small: box-too-small here (region r1, batch run 2026-12-06 21:40 UTC)",
        "[warning] likely-mislabel: likely-mislabel here (region r1, batch run 2026-12-06 21:40 UTC)",
    ]
    assert [f["code"] for f in drawn["meta"]["taxospec"]] == ["box-too-small", "likely-mislabel"]
    assert panel["from_name"] == "taxospec" and len(panel["value"]["text"]) == 3
    assert [f["code"] for f in panel["meta"]["taxospec"]] == ["split-missing"], "each finding carried once"
    no_panel, no_score = prediction_of(by_task([_finding("split-missing", Severity.ERROR, 1)], BATCH)[1], _task(), None)
    assert no_panel == [] and no_score is None


def test_a_finding_whose_region_is_gone_is_said_in_the_panel() -> None:
    findings = by_task([_finding("box-too-small", Severity.ERROR, 1, "gone")], BATCH)[1]
    [panel] = prediction_of(findings, _task("r1"), Panel("image"))[0]
    assert panel["meta"]["taxospec"][0]["region_id"] == "gone"


def test_a_long_list_is_cut_and_says_how_many_more() -> None:
    many = by_task([_finding(f"c{i}", Severity.WARNING, 1) for i in range(MAX_PER_TASK + 7)], BATCH)[1]
    note = note_of(many)
    assert note["count"] == MAX_PER_TASK + 7 and len(note["findings"]) == MAX_PER_TASK
    lines = prediction_of(many, _task(), Panel("image"))[0][0]["value"]["text"]
    assert len(lines) == MAX_PER_TASK + 1 and lines[-1].startswith("… and 7 more")


def test_what_was_written_reads_back_from_the_meta_or_the_prediction() -> None:
    findings = by_task(
        [_finding("box-too-small", Severity.ERROR, 1, "r1"), _finding("split-missing", Severity.ERROR, 1)], BATCH
    )[1]
    task = _task("r1", meta={"taxospec": note_of(findings), "other": 1})
    assert stored(task) == findings
    result, score = prediction_of(findings, task, Panel("image"))
    prediction = {"id": 5, "model_version": "taxospec", "result": result, "score": score}
    only_prediction = _task("r1", predictions=[prediction, {"id": 6, "model_version": "team", "result": []}, 7])
    assert sorted(stored(only_prediction), key=lambda f: f.code) == sorted(findings, key=lambda f: f.code)
    hand_edited = _task(meta={"taxospec": {"findings": [{"code": 5}, "x", {"code": "a", "severity": "error"}]}})
    assert stored(hand_edited) == []


def test_a_live_run_replaces_local_findings_and_keeps_the_batch_runs_others() -> None:
    batch = by_task(
        [
            _finding("box-too-small", Severity.ERROR, 1, "r1"),  # local: the live run decides it now
            _finding("split-group-leakage", Severity.ERROR, 1),  # across tasks: kept
            _finding("likely-mislabel", Severity.WARNING, 1, "r2"),  # kept: r2 is still there
            _finding("outlier", Severity.WARNING, 1, "r3"),  # dropped: r3 was deleted
        ],
        BATCH,
    )[1]
    live = by_task([_finding("task-unannotated", Severity.WARNING, 1)], LIVE)[1]
    task = _task("r1", "r2")
    assert region_ids(task) == {"r1", "r2"}
    result = merged(live, batch, {"box-too-small", "task-unannotated"}, region_ids(task))
    assert [(f.code, f.run) for f in result] == [
        ("task-unannotated", "live"),
        ("split-group-leakage", "batch"),
        ("likely-mislabel", "batch"),
    ]


def test_the_panel_is_found_only_when_the_config_has_the_taxospec_textarea() -> None:
    with_panel = parse_label_config('<View><Video name="v" value="$v"/><TextArea name="taxospec" toName="v"/></View>')
    not_a_textarea = parse_label_config(
        '<View><Image name="i" value="$i"/><Choices name="taxospec" toName="i"><Choice value="x"/></Choices></View>'
    )
    assert destination(TARGETS["both"], with_panel).panel == Panel("v")
    assert destination(TARGETS["both"], not_a_textarea).panel is None
    assert destination(TARGETS["meta"], None).targets == frozenset({"meta"})


def test_task_findings_keep_unknown_runs_readable() -> None:
    odd = TaskFinding("c", "error", "m", None, "imported", "")
    assert odd.origin == "imported run"
