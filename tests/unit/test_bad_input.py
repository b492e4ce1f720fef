"""Bad input gives findings or a clear message with the right exit code, never a traceback.

One folder per failure mode under tests/fixtures/exports/: the export, an optional project.xml, and
expect.txt with `exit N: <message on stderr>` or `exit N: code=count ...`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from taxospec import check

from ..conftest import EXAMPLES, FIXTURES

Run = Callable[..., Result]
BAD = FIXTURES / "exports"
SPEC = BAD / "spec.yaml"
CASES = sorted(p for p in BAD.iterdir() if p.is_dir())


def _export_of(folder: Path) -> Path:
    return next(p for p in sorted(folder.iterdir()) if p.name.startswith("export"))


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_bad_input(run_cli: Run, folder: Path) -> None:
    expect = (folder / "expect.txt").read_text().strip()
    head, _, detail = expect.partition(": ")
    exit_code = int(head.removeprefix("exit "))
    before = _listing(folder)
    args = ["check", SPEC, _export_of(folder), "--format", "json"]
    if (folder / "project.xml").exists():
        args += ["--config", folder / "project.xml"]
    result = run_cli(*args)
    assert result.exit_code == exit_code, result.stderr
    if exit_code == 2:
        assert detail in result.stderr
        assert result.stderr.startswith("taxospec: error: ")
        assert result.stdout == ""
    else:
        report = json.loads(result.stdout)
        counts = Counter(f["code"] for f in report["findings"])
        for item in detail.split():
            code, count = item.split("=")
            assert counts[code] == int(count), (code, counts)
    assert _listing(folder) == before, "nothing is written next to the input"


def _box_task(task_id: int, label: str) -> dict[str, object]:
    return {
        "id": task_id,
        "data": {"image": f"img{task_id}.jpg"},
        "annotations": [
            {
                "id": task_id,
                "result": [
                    {"from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["day"]}},
                    {
                        "id": f"r{task_id}",
                        "from_name": "bbox",
                        "to_name": "image",
                        "type": "rectanglelabels",
                        "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": [label]},
                    },
                ],
            }
        ],
    }


def test_ten_thousand_distinct_labels(run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_box_task(i, f"label-{i}") for i in range(1, 10_001)]))
    report = check(SPEC, export)
    assert report.counts_by_code()["unknown-label"] == 10_000
    result = run_cli("check", SPEC, export)
    assert result.exit_code == 1
    assert "… and 9995 more" in result.stdout
    assert len(result.stdout.splitlines()) < 80, "the terminal report stays short"


def test_non_ascii_labels_and_values(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "taxospec: 1\nname: ünïcode\nunit: box\nclasses:\n  ловушка: {hard_negatives: [顔], min_examples: 1,"
        " prompts: [a, b]}\n  顔: {role: negative, min_examples: 1}\naxes:\n  scene: {values: [día, night]}\n"
        "coverage: {per_value: {min_share: 0, max_share: 1}}\nbalance: {negatives_per_positive: 0}\n",
        encoding="utf-8",
    )
    tasks = [_box_task(1, "ловушка"), _box_task(2, "顔")]
    for task in tasks:
        task["annotations"][0]["result"][0]["value"] = {"choices": ["día"]}  # type: ignore[index]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    report = check(spec, export)
    assert report.findings == []
    assert report.classes["ловушка"].total == 1 and report.axis_counts["scene"]["顔"]["día"] == 1


def test_spec_with_lint_errors_is_refused(run_cli: Run, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("taxospec: 1\nname: x\nclasses: {a: {hard_negatives: [nope]}}\n")
    result = run_cli("check", spec, _export_of(BAD / "single-task"))
    assert result.exit_code == 2
    assert "the spec has lint errors" in result.stderr and "unknown-hard-negative" in result.stderr


def test_missing_export_and_usage(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("check", SPEC, tmp_path / "missing.json")
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert run_cli("check", SPEC).exit_code == 2
    result = run_cli("check", SPEC, _export_of(BAD / "single-task"), "--select", "no-such-check")
    assert result.exit_code == 2 and "unknown check 'no-such-check'" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc")
def test_files_that_fail_while_being_read(run_cli: Run, tmp_path: Path) -> None:
    """A file that opens but cannot be read (an I/O error mid-file; /proc/self/mem gives one at once): the
    spec, the export and the labeling config each get a clear message and exit 2, never an internal error."""
    broken = "/proc/self/mem"
    example = EXAMPLES / "football-signals"
    for args in (
        ["lint", broken],
        ["check", SPEC, broken],
        ["todo", SPEC, broken],
        ["check", example / "spec.yaml", example / "export.json", "--config", broken],
    ):
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        said = result.stdout + result.stderr
        assert broken in said and "cannot be read: Input/output error" in said, args


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_files_are_refused_at_their_limit(run_cli: Run) -> None:
    """A spec or labeling config that says it is small but never ends (a device, a pipe: its size reads as
    0) is refused once it passes the limit for its kind (exit 2), not read until memory runs out; an
    export that never ends is no JSON and says so at once."""
    endless = "/dev/zero"
    example = EXAMPLES / "football-signals"
    for args, why in (
        (["lint", endless], "goes on past 5242880 bytes, too large for a spec file"),
        (["describe", endless], "goes on past 5242880 bytes, too large for a spec file"),
        (
            ["check", example / "spec.yaml", example / "export.json", "--config", endless],
            "too large for a labeling config",
        ),
        (["check", SPEC, endless], "looks like a binary file"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert why in result.stdout + result.stderr, args


def test_lone_surrogates_are_mended_and_valid_pairs_kept() -> None:
    """`"\\udcff"` is valid JSON that no UTF-8 report can hold: such characters become U+FFFD as the export
    is read (the report then writes); an escaped pair (an emoji) stays the one character it encodes."""
    from taxospec.plugins.labelstudio.jsonstream import iter_json

    first, second = iter_json(BAD / "lone-surrogates" / "export.json")
    assert first["data"] == {"image": "\ufffdimg1.jpg", "note": "\U0001f600 a valid pair"}
    region = first["annotations"][0]["result"][1]["value"]
    assert region["rectanglelabels"] == ["car\ufffd"]
    assert second["annotations"][0]["result"][1]["id"] == "r\ufffd2"
    json.dumps([first, second], ensure_ascii=False).encode("utf-8")
