"""The embedding checks find the defects planted in the synthetic-signals demo, with the committed small
CLIP model (examples/synthetic-signals/model), offline, at the quality benchmarks/README.md records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taxospec import check
from taxospec.embeddings.media import MediaSources

from ..conftest import EXAMPLES

DEMO = EXAMPLES / "synthetic-signals"
# (code, least precision, least recall): a little below what was measured, so that another machine's
# floating point does not flip a borderline example
QUALITY = [
    ("likely-mislabel", 0.5, 0.875),
    ("near-duplicate", 0.6, 1.0),
    ("duplicate-across-splits", 1.0, 1.0),
    ("outlier", 1.0, 1.0),
    ("axis-value-disputed", 0.3, 0.6),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> object:
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    return check(
        DEMO / "spec.yaml",
        DEMO / "export.json",
        media=MediaSources(ls_document_root=DEMO),
        cache_dir=tmp_path_factory.mktemp("cache"),
        device="cpu",
    )


def _found(report: object, code: str) -> set[int]:
    found: set[int] = set()
    for finding in report.findings:  # type: ignore[attr-defined]
        if finding.code == code:
            found.add(finding.task_id)
            if code in ("near-duplicate", "duplicate-across-splits"):
                found |= {int(t) for t in finding.message.split("tasks ")[1].rstrip(" …").split(", ")}
    return found


@pytest.mark.parametrize(("code", "precision", "recall"), QUALITY, ids=[q[0] for q in QUALITY])
def test_planted_defects_are_found(report: object, code: str, precision: float, recall: float) -> None:
    planted = json.loads((DEMO / "planted.json").read_text())
    truth = set(planted[code])
    if code in ("near-duplicate", "duplicate-across-splits"):
        truth |= {t + 1 for t in truth}  # the copy is the task right after the original
    found = _found(report, code)
    hits = len(found & truth)
    assert hits / len(truth) >= recall, (code, sorted(found), sorted(truth))
    assert found and hits / len(found) >= precision, (code, sorted(found), sorted(truth))


def test_every_embedding_check_ran(report: object) -> None:
    skipped = {s.code: s.skipped for s in report.checks if s.family == "embeddings" and s.skipped}  # type: ignore[attr-defined]
    assert set(skipped) == {"segment-ends-loose", "box-background-action"}, skipped  # image unit: no frames, no boxes
    assert report.summary.samples == 308  # type: ignore[attr-defined]


def test_the_missing_scenario_is_in_the_todo_list(report: object) -> None:
    first = report.todo[0]  # type: ignore[attr-defined]
    assert (first.class_name, first.conditions) == ("timeout", {"lighting": "night", "bystanders": "crowd"})


def test_demo_media_is_committed() -> None:
    assert len(list((DEMO / "media").glob("img_*.png"))) == 308
    assert len(list((DEMO / "media").glob("box_*.png"))) == 150
    assert (DEMO / "model" / "taxospec-signals.pt").stat().st_size < 10_000_000
    assert Path(DEMO / "planted.json").exists()


def _check_version(kind: str, tmp_path: Path) -> Any:
    """Check the `-boxes` or `-clips` version of the demo."""
    return check(
        DEMO / f"spec{kind}.yaml",
        DEMO / f"export{kind}.json",
        media=MediaSources(ls_document_root=DEMO),
        cache_dir=tmp_path / "cache",
        device="cpu",
    )


def test_boxes_framing_background_are_found(tmp_path: Path) -> None:
    report = _check_version("-boxes", tmp_path)
    planted = set(json.loads((DEMO / "planted-boxes.json").read_text())["box-background-action"])
    found = {f.task_id for f in report.findings if f.code == "box-background-action"}
    assert planted <= found and len(found & planted) / len(found) >= 0.8, (sorted(found), sorted(planted))
    assert not {f.task_id for f in report.findings if f.code == "outlier"} & planted, "explained, not outliers"


def test_loose_segments_are_found_in_clips(tmp_path: Path) -> None:
    report = _check_version("-clips", tmp_path)
    planted = set(json.loads((DEMO / "planted-clips.json").read_text())["segment-ends-loose"])
    loose = [f for f in report.findings if f.code == "segment-ends-loose"]
    found = {f.task_id for f in loose}
    assert len(found & planted) / len(planted) >= 0.8 and len(found & planted) / len(found) >= 0.75
    assert all("tighter bounds: 1.00–" in f.message for f in loose if f.task_id in planted)


def test_the_todo_command_takes_the_media_options(report: Any, run_cli: Any, tmp_path: Path) -> None:
    """`taxospec todo` with the media (as `check` takes them) lists what the check's report lists."""
    args = ["todo", DEMO / "spec.yaml", DEMO / "export.json", "--ls-document-root", DEMO]
    result = run_cli(*args, "--cache-dir", tmp_path / "cache", "--device", "cpu", "--format", "json")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)["items"]
    assert [(i["kind"], i["conditions"], i["missing"]) for i in listed] == [
        (i.kind, i.conditions, i.missing) for i in report.todo
    ]
