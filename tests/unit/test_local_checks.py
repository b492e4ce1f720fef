"""`Check.local` is a promise the live receiver relies on: what a local check finds on a task, it finds on
that task read alone. Held against every example export (images, boxes, segments; hand-made defects)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taxospec import load_spec, read_export
from taxospec.checks.run import run_checks
from taxospec.plugins.registry import checks

from ..conftest import EXAMPLES

CASES = [
    ("football-signals", "spec.yaml", "export.json", "project.xml"),
    ("product-defects", "spec.yaml", "export.json", "project.xml"),
    ("fall-detection", "spec.yaml", "export.json", "project.xml"),
]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
HAND_MADE = ["huge-coordinates", "no-value", "lone-surrogates", "data-null", "huge-integers", "xml-entities"]


def _key(finding: object) -> tuple[object, ...]:
    f = finding
    return (f.code, f.message, f.region_id, f.axis, f.value, f.count)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("example", "spec_name", "export_name", "config_name"), CASES)
def test_local_checks_find_on_one_task_what_they_find_on_it_in_the_whole(
    example: str, spec_name: str, export_name: str, config_name: str | None, tmp_path: Path
) -> None:
    folder = EXAMPLES / example
    config = folder / config_name if config_name else None
    assert _compare(folder / spec_name, folder / export_name, config, tmp_path)


def test_so_they_do_on_hand_made_defects(tmp_path: Path) -> None:
    compared = sum(
        _compare(FIXTURES / "spec.yaml", FIXTURES / name / "export.json", None, tmp_path) for name in HAND_MADE
    )
    assert compared >= 8, "the fixtures have local findings to compare"


def _compare(spec_path: Path, export: Path, config: Path | None, tmp_path: Path) -> int:
    """Assert that a local check finds the same on each task alone as in the whole; how many findings."""
    spec = load_spec(spec_path)
    local = {c.name for c in checks() if c.local}
    whole, _ = run_checks(read_export(spec, export, config), select=local)
    tasks = json.loads(export.read_text())
    found_alone = []
    for task in tasks:
        one = tmp_path / "one.json"
        one.write_text(json.dumps([task]))
        findings, _ = run_checks(read_export(spec, one, config), select=local)
        found_alone.extend((f.task_id, *_key(f)) for f in findings if f.task_id is not None)
    in_whole = [(f.task_id, *_key(f)) for f in whole if f.task_id is not None]
    assert sorted(found_alone, key=repr) == sorted(in_whole, key=repr)
    return len(in_whole)


def test_checks_that_look_across_tasks_are_not_local() -> None:
    local = {c.name for c in checks() if c.local}
    across = {"split-group-leakage", "duplicate-media", "unknown-control", "class-below-minimum", "likely-mislabel"}
    assert not local & across
    assert {"box-too-small", "segment-too-long", "task-unannotated", "unknown-label"} <= local
