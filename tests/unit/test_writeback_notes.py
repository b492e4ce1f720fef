"""What `--write-back` writes for a task: the meta note and the `taxospec` prediction built from it (the
writing itself runs against a real Label Studio in tests/integration/test_labelstudio_live.py)."""

from __future__ import annotations

from taxospec.findings import Finding, Severity
from taxospec.plugins.labelstudio.config import parse_label_config
from taxospec.plugins.labelstudio.writeback import MAX_PER_TASK, TARGETS, destination, prediction_of, task_notes


def _finding(code: str, severity: Severity, task_id: int | None, region_id: str | None = None) -> Finding:
    return Finding(code=code, severity=severity, message=f"{code} here", task_id=task_id, region_id=region_id)


def test_notes_group_findings_by_task_and_leave_dataset_findings_out() -> None:
    findings = [
        _finding("segment-too-long", Severity.ERROR, 3, "r1"),
        _finding("box-cut-by-edge", Severity.WARNING, 3),
        _finding("task-unannotated", Severity.WARNING, 4),
        _finding("class-below-minimum", Severity.ERROR, None),
    ]
    notes = task_notes(findings)
    assert sorted(notes) == [3, 4]
    assert notes[3]["errors"] == 1 and notes[3]["warnings"] == 1 and notes[3]["count"] == 2
    assert notes[3]["codes"] == ["box-cut-by-edge", "segment-too-long"]
    assert notes[3]["findings"][0] == {
        "code": "segment-too-long",
        "severity": "error",
        "message": "segment-too-long here",
        "region_id": "r1",
    }


def test_the_prediction_scores_the_worst_severity_and_lists_findings_in_the_panel() -> None:
    note = task_notes([_finding("box-cut-by-edge", Severity.WARNING, 1), _finding("a", Severity.ERROR, 1, "r9")])[1]
    result, score = prediction_of(note, "image")
    assert score == 1.0
    assert result == [
        {
            "from_name": "taxospec",
            "to_name": "image",
            "type": "textarea",
            "value": {"text": ["[warning] box-cut-by-edge: box-cut-by-edge here", "[error] a: a here (region r9)"]},
            "readonly": True,
        }
    ]
    info = task_notes([_finding("near-identical-frames", Severity.INFO, 1)])[1]
    assert prediction_of(info, None) == ([], 0.1)  # no panel in the config: the score alone, for filtering


def test_a_long_list_is_cut_and_says_how_many_more() -> None:
    many = [_finding(f"c{i}", Severity.WARNING, 1) for i in range(MAX_PER_TASK + 7)]
    note = task_notes(many)[1]
    assert note["count"] == MAX_PER_TASK + 7 and len(note["findings"]) == MAX_PER_TASK
    lines = prediction_of(note, "image")[0][0]["value"]["text"]
    assert len(lines) == MAX_PER_TASK + 1 and lines[-1].startswith("… and 7 more")


def test_the_panel_is_found_only_when_the_config_has_the_taxospec_textarea() -> None:
    with_panel = parse_label_config('<View><Video name="v" value="$v"/><TextArea name="taxospec" toName="v"/></View>')
    not_a_textarea = parse_label_config(
        '<View><Image name="i" value="$i"/><Choices name="taxospec" toName="i"><Choice value="x"/></Choices></View>'
    )
    assert destination(TARGETS["both"], with_panel).panel_to_name == "v"
    assert destination(TARGETS["both"], not_a_textarea).panel_to_name is None
    assert destination(TARGETS["meta"], None).targets == frozenset({"meta"})
