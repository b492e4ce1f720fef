"""Each example's export carries exactly the problems its README teaches; taxospec check finds them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import taxospec
from taxospec.report import Report

from ..conftest import EXAMPLES

EXPECTED = {
    "football-signals": {
        "unknown-label": 1,
        "region-attribute-missing": 3,
        "class-below-minimum": 1,
        "segment-too-short": 2,
        "segment-too-long": 6,
        "split-group-leakage": 1,
        "task-unannotated": 4,
        "task-only-skipped": 2,
        "annotator-disagreement": 3,
        "combination-cell-below-quota": 6,
        "segments-too-close": 2,
    },
    "fall-detection": {
        "region-attribute-missing": 2,
        "class-below-minimum": 1,
        "segment-too-short": 1,
        "segment-too-long": 3,
        "split-group-leakage": 1,
        "task-only-skipped": 1,
        "combination-cell-below-quota": 1,
        "split-axis-value-missing-in-val": 1,
    },
    "product-defects": {
        "unknown-label": 2,
        "region-attribute-missing": 3,
        "box-outside-image": 1,
        "box-too-small": 5,
        "split-group-leakage": 1,
        "annotation-empty": 2,
        "combination-cell-below-quota": 1,
        "box-cut-by-edge": 4,
        "duplicate-media": 3,
    },
}


def _check(name: str, with_config: bool) -> Report:
    folder = EXAMPLES / name
    config = folder / "project.xml" if with_config else None
    return taxospec.check(folder / "spec.yaml", folder / "export.json", config=config, ls_url="http://localhost:8080")


@pytest.mark.parametrize("with_config", [True, False], ids=["config", "conventions"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings_are_exactly_the_planted_ones(name: str, with_config: bool) -> None:
    report = _check(name, with_config)
    assert dict(report.counts_by_code()) == EXPECTED[name]
    assert report.notes == []


def _messages(report: Report, code: str) -> list[str]:
    return [f.message for f in report.findings if f.code == code]


def test_football_findings() -> None:
    report = _check("football-signals", True)
    assert report.classes["timeout"].total == 150 and report.classes["waving"].total == 40
    assert report.classes["timeout"].by_split == {"train": 120, "val": 30}
    cells = _messages(report, "combination-cell-below-quota")
    assert "class 'timeout' has no example at lighting=night, bystanders=crowd; the spec asks for 5" in cells
    assert sum("class 'waving' has only 4 example(s)" in m for m in cells) == 5
    assert _messages(report, "class-below-minimum") == [
        "class 'waving' has 40 example(s); the spec asks for at least 60 (20 more)"
    ]
    assert _messages(report, "split-group-leakage") == [
        "match 'm07' spans several splits: 14 task(s) in 'train', 3 task(s) in 'val'"
    ]
    assert _messages(report, "unknown-label") == [
        f"region {report.findings[0].region_id!r} is labeled 'Timeout', which is not a class of the spec"
    ]
    assert all(
        f.link and f.link.startswith("http://localhost:8080/projects/3/data?task=")
        for f in report.findings
        if f.task_id is not None
    )
    loose = [f for f in report.findings if f.code == "segment-too-long"]
    assert all(f.class_name == "timeout" and f.region_id for f in loose)


def test_fall_detection_findings() -> None:
    report = _check("fall-detection", True)
    assert _messages(report, "combination-cell-below-quota") == [
        "class 'fall' has no example at lighting=night_ir, location=bathroom; the spec asks for 4"
    ]
    assert _messages(report, "split-axis-value-missing-in-val") == [
        "class 'bend_over' at lighting=night_ir is in 'train' but not in 'val'"
    ]
    assert _messages(report, "class-below-minimum") == [
        "class 'lie_down' has 54 example(s); the spec asks for at least 60 (6 more)"
    ]
    assert {f.axis for f in report.findings if f.code == "region-attribute-missing"} == {"direction"}


def test_product_defects_findings() -> None:
    report = _check("product-defects", True)
    assert _messages(report, "combination-cell-below-quota") == [
        "class 'dent' has no example at lighting=dark_field, distance=far; the spec asks for 5"
    ]
    assert {f.class_name for f in report.findings if f.code == "box-too-small"} == {"scratch"}
    assert {f.class_name for f in report.findings if f.code == "box-cut-by-edge"} == {"fingerprint"}
    assert all("appears in 2 tasks" in m for m in _messages(report, "duplicate-media"))
    assert report.classes["scratch"].total == 208  # two of 210 carry the typo 'scrach'


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_cli_on_examples(name: str) -> None:
    folder = EXAMPLES / name
    out = subprocess.run(
        [sys.executable, "-m", "taxospec", "check", str(folder / "spec.yaml"), str(folder / "export.json")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    assert "Examples per class" in out.stdout and "Traceback" not in out.stderr


def test_exports_are_reproducible(tmp_path: Path) -> None:
    script = EXAMPLES / "make_exports.py"
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_exports
    finally:
        sys.path.remove(str(EXAMPLES))
    for name, (build, config) in make_exports.EXAMPLES.items():
        target = tmp_path / "export.json"
        build().write(target)
        assert target.read_bytes() == (EXAMPLES / name / "export.json").read_bytes(), f"{name}: rerun {script}"
        assert config == (EXAMPLES / name / "project.xml").read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_readme_lists_the_findings(name: str) -> None:
    import re

    readme = (EXAMPLES / name / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (\d+) \|", readme, re.MULTILINE))
    assert {code: int(n) for code, n in rows.items()} == EXPECTED[name]
