"""Coverage cells, the to-do list on every example, the budget against a brute-force optimum, the formats."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import Result

from taxospec import load_spec_text, read_export
from taxospec.api import todo
from taxospec.coverage import COVERED, MISSING, UNDER, compute_coverage
from taxospec.schemas import SCHEMAS
from taxospec.todo import build_todo

from ..conftest import EXAMPLES

Run = Callable[..., Result]

EXPECTED_TODO = {
    "football-signals": [
        ("combination", "timeout", None, "lighting=night, bystanders=crowd", 0, 5, 5),
        ("combination", "waving", "val", "lighting=floodlight, bystanders=crowd", 0, 1, 1),
        ("class", "waving", "val", "", 8, 12, 3),
        ("combination", "waving", None, "lighting=floodlight, bystanders=few", 4, 5, 1),
        ("combination", "waving", None, "lighting=floodlight, bystanders=none", 4, 5, 1),
        ("combination", "waving", None, "lighting=night, bystanders=crowd", 4, 5, 1),
        ("combination", "waving", None, "lighting=night, bystanders=few", 4, 5, 1),
        ("class", "waving", None, "", 40, 60, 12),
    ],
    "fall-detection": [
        ("combination", "fall", None, "lighting=night_ir, location=bathroom", 0, 4, 4),
        ("combination", "bend_over", "val", "lighting=night_ir, bystanders=alone", 0, 1, 1),
        ("combination", "bend_over", "val", "lighting=night_ir, bystanders=carer_present", 0, 1, 1),
        ("combination", "bend_over", "val", "lighting=night_ir, bystanders=several", 0, 1, 1),
        ("class", "lie_down", "val", "", 10, 11, 1),
        ("class", "lie_down", None, "", 54, 60, 5),
    ],
    "product-defects": [
        ("combination", "dent", None, "lighting=dark_field, distance=far", 0, 5, 5),
    ],
}


def _example(name: str) -> tuple[Path, Path]:
    return EXAMPLES / name / "spec.yaml", EXAMPLES / name / "export.json"


@pytest.mark.parametrize("name", sorted(EXPECTED_TODO))
def test_todo_lists_exactly_the_missing_scenarios(name: str) -> None:
    result = todo(*_example(name))
    found = [
        (
            i.kind,
            i.class_name,
            i.split,
            ", ".join(f"{k}={v}" for k, v in i.conditions.items()),
            i.have,
            i.need,
            i.missing,
        )
        for i in result.items
    ]
    assert found == EXPECTED_TODO[name]
    assert [i.rank for i in result.items] == list(range(1, len(found) + 1))


def test_instructions_are_plain_words_from_the_spec() -> None:
    items = todo(*_example("football-signals")).items
    assert items[0].instruction == (
        "Film 5 more clips of timeout at lighting=night, bystanders=crowd; "
        "keep each segment 0.3–3 s and tight around the action."
    )
    assert items[1].instruction == (
        "Film 1 more clip of waving that looks like timeout at lighting=floodlight, bystanders=crowd; keep each "
        "segment 0.3–3 s and tight around the look-alike; put it in the 'val' split from a match not used in training."
    )
    assert items[-1].look_alike_of == ["timeout"] and items[-1].role == "negative"
    boxes = todo(*_example("product-defects")).items[0].instruction
    assert boxes.startswith("Photograph 5 more images of dent at lighting=dark_field, distance=far; box each dent")


def test_items_do_not_double_count() -> None:
    """Class items ask only for what cells do not bring, and validation captures count for all splits."""
    result = todo(*_example("football-signals"), budget=1000)
    assert result.budget is not None
    assert sum(i.missing for i in result.items) == result.budget.used == 25
    assert result.budget.quota_fill_after == 1.0


def test_ranking_is_deterministic() -> None:
    first = todo(*_example("fall-detection")).model_dump()
    second = todo(*_example("fall-detection")).model_dump()
    assert first == second


def test_split_filter() -> None:
    result = todo(*_example("fall-detection"), split="val")
    assert {i.split for i in result.items} == {"val"}
    assert ("fall", {"lighting": "night_ir", "location": "bathroom"}) in [
        (i.class_name, i.conditions) for i in result.items
    ]


def test_unknown_split_is_refused(run_cli: Run) -> None:
    result = run_cli("todo", *_example("fall-detection"), "--split", "test")
    assert result.exit_code == 2 and "unknown split 'test' (the spec's splits: train, val)" in result.stderr


BUDGET_SPEC = """
taxospec: 1
name: budget
unit: image
classes:
  a: {hard_negatives: [n], min_examples: 4}
  n: {role: negative, min_examples: 0}
axes:
  x: {values: [x1, x2], applies_to: [a]}
  y: {values: [y1, y2], applies_to: [a]}
coverage:
  per_value: {min_share: 0, min_count: 2, max_share: 1}
  combinations: [{axes: [x, y], min: 1, classes: [a]}]
balance: {negatives_per_positive: 0}
embedding: {enabled: false}
"""


def _image_task(task_id: int, label: str, x: str, y: str) -> dict[str, object]:
    result = [
        {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}},
        {"from_name": "x", "to_name": "image", "type": "choices", "value": {"choices": [x]}},
        {"from_name": "y", "to_name": "image", "type": "choices", "value": {"choices": [y]}},
    ]
    return {"id": task_id, "data": {"image": f"{task_id}.jpg"}, "annotations": [{"id": task_id, "result": result}]}


def _filled_units(captures: tuple[tuple[str, str], ...], have: dict[tuple[str, str], int]) -> int:
    """Quota units filled, computed independently: class total 4, each value 2, each cell 1."""
    counts = dict(have)
    for cell in captures:
        counts[cell] = counts.get(cell, 0) + 1
    total = sum(counts.values())
    units = min(total, 4)
    for axis, values in ((0, ("x1", "x2")), (1, ("y1", "y2"))):
        for value in values:
            units += min(sum(n for cell, n in counts.items() if cell[axis] == value), 2)
    units += sum(min(counts.get(cell, 0), 1) for cell in itertools.product(("x1", "x2"), ("y1", "y2")))
    return units


@pytest.mark.parametrize("budget", [1, 2, 3, 4])
def test_budget_matches_the_brute_force_optimum(tmp_path: Path, budget: int) -> None:
    spec = load_spec_text(BUDGET_SPEC)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_image_task(1, "a", "x1", "y1"), _image_task(2, "a", "x1", "y1")]))
    coverage = compute_coverage(read_export(spec, export))
    plan = build_todo(coverage, str(export), budget=budget).budget
    assert plan is not None
    have = {("x1", "y1"): 2}
    need = 4 + 4 * 2 + 4 * 1
    cells = list(itertools.product(("x1", "x2"), ("y1", "y2")))
    best = max(_filled_units(c, have) for c in itertools.combinations_with_replacement(cells, budget))
    planned = tuple((a.conditions["x"], a.conditions["y"]) for a in plan.allocation for _ in range(a.captures))
    assert _filled_units(planned, have) == best
    assert plan.quota_fill_after == round(best / need, 4)
    assert plan.quota_fill_before == round(_filled_units((), have) / need, 4)


def test_budget_beyond_need_says_how_much_is_used(tmp_path: Path) -> None:
    spec = load_spec_text(BUDGET_SPEC)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_image_task(1, "a", "x1", "y1")]))
    plan = build_todo(compute_coverage(read_export(spec, export)), "e", budget=50).budget
    assert plan is not None and plan.used == 3 and plan.quota_fill_after == 1.0 and plan.cells_covered_after == 1.0


def test_coverage_cells_untagged_and_split_quotas(tmp_path: Path) -> None:
    spec = load_spec_text(BUDGET_SPEC)
    tasks = [_image_task(1, "a", "x1", "y1"), _image_task(2, "a", "x1", "y2")]
    tasks[1]["annotations"][0]["result"].pop(2)  # type: ignore[index]  # task 2 has no y
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    coverage = compute_coverage(read_export(spec, export))
    a = coverage.of("a")
    assert a.untagged == {"x": 0, "y": 1}
    status = {(c.axes, c.values): (c.count, c.quota, c.status) for c in a.cells}
    assert status[((), ())] == (2, 4, UNDER)
    assert status[(("x",), ("x1",))] == (2, 2, COVERED)
    assert status[(("y",), ("y2",))] == (0, 2, MISSING), "an untagged example covers nothing"
    assert status[(("x", "y"), ("x1", "y1"))] == (1, 1, COVERED)


def test_todo_cli_formats(run_cli: Run, tmp_path: Path) -> None:
    spec, export = _example("football-signals")
    markdown = run_cli("todo", spec, export)
    assert markdown.exit_code == 0
    boxes = [line for line in markdown.stdout.splitlines() if line.startswith("- [ ] ")]
    assert len(boxes) == len(EXPECTED_TODO["football-signals"])
    sheet = run_cli("todo", spec, export, "-o", tmp_path / "todo.csv")
    assert sheet.exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "todo.csv").read_text(encoding="utf-8"))))
    assert [r["rank"] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
    assert rows[0]["conditions"] == "lighting=night; bystanders=crowd" and rows[0]["missing"] == "5"
    document = run_cli("todo", spec, export, "--format", "json", "--budget", "10")
    data = json.loads(document.stdout)
    jsonschema.validate(data, SCHEMAS["todo"]())
    assert data["budget"]["captures"] == 10 and data["items"][0]["class"] == "timeout"


def test_check_shows_coverage_and_top_items(run_cli: Run) -> None:
    result = run_cli("check", *_example("product-defects"))
    assert "Coverage:" in result.stdout
    assert "1. Photograph 5 more images of dent at lighting=dark_field, distance=far" in result.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED_TODO))
def test_example_readme_shows_the_todo_list(name: str) -> None:
    readme = (EXAMPLES / name / "README.md").read_text(encoding="utf-8")
    for item in todo(*_example(name)).items:
        assert f"{item.rank}. {item.instruction}" in readme
