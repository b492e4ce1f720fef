"""Bad input around the deployment sample and the pool: an export sample whose tasks point outside its root
or at a remote host, a truncated export, a missing pool, a pool without the labeled data's media — each a
counted unreadable picture or a clear message with exit 2, never a traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taxospec import check, load_spec_text
from taxospec.api import todo
from taxospec.errors import ExportError, OptionError
from taxospec.media.sources import MediaSources
from taxospec.testing import registered

from ..quality_pictures import export, fake_embedder, scene

SPEC = "taxospec: 1\nname: inputs\nclasses: {thing: {min_examples: 1}}\nembedding: {backend: fake}\n"


def _pictures(folder: Path, n: int, seed: int = 0) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(n):
        scene(rng, (320, 240)).save(folder / f"p-{i:02d}.jpg", quality=90)  # type: ignore[attr-defined]
        truth[f"p-{i:02d}.jpg"] = ""
    return truth


@pytest.fixture
def labeled(tmp_path: Path) -> tuple[Path, MediaSources]:
    truth = _pictures(tmp_path / "train", 12)
    return export(tmp_path / "train", truth, tmp_path / "export.json"), MediaSources(media_root=tmp_path / "train")


def test_an_export_sample_reads_only_under_its_root(labeled: tuple[Path, MediaSources], tmp_path: Path) -> None:
    path, _ = labeled
    frames = tmp_path / "frames"
    _pictures(frames, 8, seed=1)
    hostile = ["../train/p-00.jpg", "/etc/passwd", "http://example.invalid/x.jpg", "../../../../etc/hostname"]
    tasks = [
        {"id": i + 1, "data": {"image": uri}} for i, uri in enumerate([f"p-{i:02d}.jpg" for i in range(8)] + hostile)
    ]
    (frames / "export.json").write_text(json.dumps(tasks))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC + "deployment: {samples: [{name: prod, export: frames/export.json}]}\n")
    before = sorted(p.name for p in frames.iterdir())
    with registered(fake_embedder(), "fake-inputs-1"):
        report = check(spec_path, path, media=MediaSources(media_root=frames), cache_dir=tmp_path / "cache")
    assert report.deployment is not None
    [sample] = report.deployment.samples
    assert (sample.name, sample.pictures, sample.unreadable, sample.listed) == ("prod", 8, 4, 12)
    assert sorted(p.name for p in frames.iterdir()) == before, "nothing written beside the sample"


def test_a_truncated_deployment_export_is_a_clear_error(labeled: tuple[Path, MediaSources], tmp_path: Path) -> None:
    path, media = labeled
    (tmp_path / "prod.json").write_text('[{"id": 1, "data": {"image": "a.jpg"}}, {"id": 2, "da')
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC + "deployment: {samples: [{name: prod, export: prod.json}]}\n")
    with registered(fake_embedder(), "fake-inputs-2"), pytest.raises(ExportError) as raised:
        check(spec_path, path, media=media, cache_dir=tmp_path / "cache")
    assert "prod.json" in str(raised.value) and raised.value.exit_code == 2


def test_the_pool_needs_a_place_and_the_labeled_media(labeled: tuple[Path, MediaSources], tmp_path: Path) -> None:
    path, media = labeled
    spec = load_spec_text(SPEC)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"media": media, "pool": str(tmp_path / "nowhere")}, "is not a folder"),
        ({"pool": str(tmp_path / "train")}, "needs the labeled data's media"),
        ({"media": media, "pool": str(tmp_path / "train"), "split": "val"}, "unknown split"),
    ]
    with registered(fake_embedder(), "fake-inputs-3"):
        for options, said in cases:
            with pytest.raises(OptionError, match=said):
                todo(spec, path, cache_dir=tmp_path / "cache", **options)
        listed = todo(spec, path, media=media, cache_dir=tmp_path / "cache", pool=str(tmp_path / "train"))
    assert listed.label_next == [], "a list with nothing open picks nothing"


def test_the_cli_says_what_is_wrong_with_the_deployment_and_the_pool(run_cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("embedding: {backend: fake}\n", "") + "deployment: {samples: [{name: cam}]}\n")
    result = run_cli("lint", spec)
    assert result.exit_code == 2 and "exactly one of `path`" in result.stdout + result.stderr
    (tmp_path / "export.json").write_text("[]")
    pool = run_cli("todo", _plain_spec(tmp_path), tmp_path / "export.json", "--pool", tmp_path / "x")
    assert pool.exit_code == 2 and "needs the labeled data's media" in pool.stderr


def _plain_spec(folder: Path) -> Path:
    path = folder / "plain.yaml"
    path.write_text(SPEC.replace("embedding: {backend: fake}\n", ""))
    return path
