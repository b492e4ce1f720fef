"""Deployment coverage and "label these next" on the synthetic-signals demo with its committed small CLIP,
offline, on the committed seed and two others (`make_demo.py --seed`): the planted far-away scenario is
found uncovered and described, the darker camera is reported, pictures like the labeled data are left
covered, and the pool's first picks are the planted useful ones — well above a random pick. The CLI
shows it all; a deployment folder that is missing or holds a corrupt picture is a message, not a crash;
the HTML report pictures the scenarios in Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .. import deployment_demo as demo
from ..conftest import EXAMPLES

SEEDS = (5, 11, 23)
DEMO = EXAMPLES / "synthetic-signals"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("demos")
    return {seed: demo.demo(seed, root) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_planted_scenarios_are_found_on_every_seed(folders: dict[int, Path], cache: Path, seed: int) -> None:
    report = demo.run(folders[seed], cache)
    found = demo.measure(folders[seed], report)
    assert found.far_uncovered >= 0.9, found
    assert found.ordinary_uncovered <= 0.1, found
    assert found.darker_uncovered >= 0.8 and found.darker_flagged, found
    assert found.far_scenario, [(s.sample, s.description) for s in report.deployment.scenarios]
    assert found.shift_auc["gate-2"] is not None and found.shift_auc["gate-2"] > 0.95
    assert found.shift_auc["gate-1"] is not None and found.shift_auc["gate-1"] < found.shift_auc["gate-2"]
    codes = report.counts_by_code()
    assert codes["deployment-uncovered"] == len(report.deployment.scenarios) >= 2
    assert any(i.kind == "deployment" and i.pictures for i in report.todo), "scenarios are to-do items"


@pytest.mark.parametrize("seed", SEEDS)
def test_label_next_picks_the_useful_pool_pictures_first(folders: dict[int, Path], cache: Path, seed: int) -> None:
    picks, _ = demo.label_next(folders[seed], cache, 20)
    assert len(picks) >= 15
    assert demo.pool_precision(picks, folders[seed], 15) >= 0.8
    assert demo.random_precision(folders[seed], 15, seed) < 0.6


def test_the_cli_shows_coverage_scenarios_quality_and_the_label_next_list(run_cli: Any, cache: Path) -> None:
    spec, export = DEMO / "spec-deployment.yaml", DEMO / "export.json"
    common = ["--ls-document-root", DEMO, "--cache-dir", cache, "--device", "cpu"]
    checked = run_cli("check", spec, export, *common)
    assert checked.exit_code == 1, checked.stderr
    assert re.search(r"Deployment: \d+% of 180 pictures have no labeled example like them", checked.stdout)
    assert "deployment-quality-shift" in checked.stdout and "is darker than your data" in checked.stdout
    listed = run_cli("todo", spec, export, *common, "--pool", DEMO / "pool", "--pool-size", "10", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    todo = json.loads(listed.stdout)
    assert len(todo["label_next"]) == 10 and all(p["media"].endswith(".png") for p in todo["label_next"])
    assert {i["kind"] for i in todo["items"]} >= {"deployment"}
    markdown = run_cli("todo", spec, export, *common, "--pool", DEMO / "pool", "--pool-size", "5").stdout
    assert "## Label these next (5 from the pool)" in markdown


def test_a_missing_folder_is_a_message_and_a_corrupt_picture_is_counted(
    run_cli: Any, cache: Path, tmp_path: Path
) -> None:
    spec, export = DEMO / "spec.yaml", DEMO / "export.json"
    common = ["--ls-document-root", DEMO, "--cache-dir", cache, "--device", "cpu"]
    missing = run_cli("check", spec, export, *common, "--deployment", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "nowhere is not a folder" in missing.stderr
    folder = tmp_path / "frames"
    folder.mkdir()
    for picture in sorted((DEMO / "deploy" / "gate-1").glob("*.png"))[:12]:
        shutil.copy(picture, folder / picture.name)
    (folder / "broken.png").write_bytes((folder / picture.name).read_bytes()[:60])
    done = run_cli("check", spec, export, *common, "--deployment", folder, "--format", "json")
    assert done.exit_code == 1, done.stderr
    sample = json.loads(done.stdout)["deployment"]["samples"][0]
    assert sample["name"] == "frames" and sample["pictures"] == 12 and sample["unreadable"] == 1
    assert list(folder.iterdir()).__len__() == 13, "nothing is written into the deployment folder"


def test_the_html_report_pictures_the_scenarios(run_cli: Any, cache: Path, tmp_path: Path) -> None:
    from .browser import page

    out = tmp_path / "report.html"
    args = ["check", DEMO / "spec-deployment.yaml", DEMO / "export.json", "--ls-document-root", DEMO]
    run_cli(*args, "--cache-dir", cache, "--device", "cpu", "-o", out)
    html = out.read_text(encoding="utf-8")
    section = html[html.index('<section id="deployment">') :]
    section = section[: section.index("</section>")]
    shown = section.count("<img class='thumb'")
    assert shown >= 8, "each scenario is pictured"
    with page(tmp_path / "profile") as tab:
        tab.call("Page.navigate", url=out.as_uri())
        assert tab.wait_for("document.body.dataset.ready === 'yes'", seconds=30)
        decoded = "Array.from(document.querySelectorAll('#deployment img.thumb')).filter(i => i.naturalWidth > 0)"
        assert tab.evaluate(f"{decoded}.length") == shown
        assert tab.errors() == []
        tab.evaluate("document.querySelector('#deployment').scrollIntoView()")
        tab.screenshot(Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "report-deployment.png")
