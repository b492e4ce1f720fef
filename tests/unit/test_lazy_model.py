"""The model is loaded only when something needs encoding: a re-run whose media and prompts are cached
never loads it (nor imports torch); a record that no longer matches the model is caught and corrected."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taxospec import check, load_spec_text, read_export
from taxospec.embeddings.cache import EmbeddingCache
from taxospec.embeddings.encoder import OpenClipFactory
from taxospec.embeddings.lazy import LazyEmbedder, ModelChanged, ModelRecords, ModelRequest, lazy_embedder, lazy_for
from taxospec.embeddings.pipeline import embed_dataset
from taxospec.media.sources import MediaSources
from taxospec.plugins.interfaces import DecodesOnDevice, Embedder, SplitsPreprocessing

from ..conftest import EXAMPLES
from .tiny_model import TINY, box_task, boxes_export, pipeline_spec, png


class CountingFactory:
    """The open_clip factory, counting the models it loads."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = OpenClipFactory()
        self.loads = 0

    def load(self, **args: Any) -> Any:
        self.loads += 1
        return self.inner.load(**args)

    def recipe(self, **args: Any) -> str | None:
        return self.inner.recipe(**args)


def test_a_rerun_from_the_cache_loads_no_model(tmp_path: Path, tiny_weights: Path) -> None:
    root, export = boxes_export(tmp_path, 4)
    dataset = read_export(load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text()), export)
    sources = MediaSources(roots={"ls-document-root": root})
    cache_root = tmp_path / "cache"
    factory = CountingFactory()
    request = ModelRequest("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))

    def folder(model_id: str, preprocess_id: str) -> Path:
        return EmbeddingCache.folder_for(cache_root, model_id, preprocess_id)

    def run() -> tuple[LazyEmbedder, Any]:
        embedder = lazy_embedder(factory, request, cache_root, folder)
        cache = EmbeddingCache(cache_root, embedder.model_id, embedder.preprocess_id)
        space = embed_dataset(dataset, embedder, sources, cache=cache, workers=1)
        return embedder, space

    first, cold = run()
    assert factory.loads == 1 and first.is_loaded
    prompts = first.encode_texts(["a red square", "a small red box"])
    second, warm = run()
    assert factory.loads == 1 and not second.is_loaded, "nothing to encode: no model"
    assert np.allclose(cold.vectors, warm.vectors, atol=2e-3) and cold.samples.tolist() == warm.samples.tolist()
    assert second.logit_scale == first.logit_scale and second.model_id == first.model_id
    assert np.array_equal(second.encode_texts(["a small red box", "a red square"]), prompts[::-1])
    assert not second.is_loaded, "prompts seen before come from the cache"
    second.encode_texts(["a new prompt"])
    assert factory.loads == 2 and second.is_loaded, "a new prompt loads the model"
    png(root / "img" / "1.png", (9, 9, 9))
    third, _ = run()
    assert factory.loads == 3 and third.is_loaded, "a changed image loads the model"


def test_a_record_that_no_longer_matches_is_corrected(tmp_path: Path, tiny_weights: Path) -> None:
    root, export = boxes_export(tmp_path, 3)
    spec = pipeline_spec(tmp_path, tiny_weights)
    media = MediaSources(roots={"ls-document-root": root})
    cache_root = tmp_path / "cache"
    before = check(spec, export, media=media, cache_dir=cache_root, device="cpu")
    records = json.loads((cache_root / "models.json").read_text())
    [(recipe, identity)] = records.items()
    (cache_root / "models.json").write_text(json.dumps({recipe: {**identity, "preprocess_id": "an older library"}}))
    after = check(spec, export, media=media, cache_dir=cache_root, device="cpu")
    assert [f.message for f in after.findings] == [f.message for f in before.findings]
    assert ModelRecords(cache_root).get(recipe).preprocess_id == identity["preprocess_id"]  # type: ignore[union-attr]
    (cache_root / "models.json").write_text(json.dumps({recipe: {**identity, "device": 7}}))  # wrong types
    assert ModelRecords(cache_root).get(recipe) is None
    (cache_root / "models.json").write_text("{not json")  # damaged: the model is loaded and recorded again
    assert [f.message for f in check(spec, export, media=media, cache_dir=cache_root, device="cpu").findings] == [
        f.message for f in before.findings
    ]
    assert ModelRecords(cache_root).get(recipe) is not None


def test_model_changed_is_raised_once_and_abilities_load_only_when_called(tmp_path: Path, tiny_weights: Path) -> None:
    from taxospec.embeddings.lazy import ModelIdentity, TextVectors

    loaded = OpenClipFactory().load("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))
    stale = ModelIdentity(loaded.model_id, "stale", "cpu", "fp32", 1.0)
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return loaded

    embedder = lazy_for(stale, load, TextVectors(tmp_path))
    assert isinstance(embedder, Embedder) and not isinstance(embedder, (DecodesOnDevice, SplitsPreprocessing))
    for _ in range(2):
        with pytest.raises(ModelChanged) as raised:
            embedder.encode_images([])  # anything that encodes an image loads the model
        assert raised.value.loaded is loaded and not embedder.is_loaded
    assert loads == [1], "a model that changed is not loaded twice"
    current = ModelIdentity.of(loaded)
    assert set(current.capabilities) == {"pil_stage", "encode_uint8", "preprocess_on_device"}
    known = lazy_for(current, load, TextVectors(tmp_path))
    assert isinstance(known, SplitsPreprocessing) and isinstance(known, DecodesOnDevice)
    assert not known.is_loaded, "the abilities are known from the record"
    assert not known.decodes_on_device, "on the CPU"
    assert known.pil_stage() is not None and known.is_loaded, "and load the model when called"
    only_split = lazy_for(
        dataclasses.replace(current, capabilities=("encode_uint8", "pil_stage")), load, TextVectors(tmp_path)
    )
    assert isinstance(only_split, SplitsPreprocessing) and not isinstance(only_split, DecodesOnDevice)
    without = lazy_for(dataclasses.replace(current, capabilities=()), load, TextVectors(tmp_path))
    assert not isinstance(without, (DecodesOnDevice, SplitsPreprocessing)) and not without.is_loaded


def test_the_recipe_follows_the_weights_and_is_none_when_a_file_is_missing(tmp_path: Path, tiny_weights: Path) -> None:
    factory = OpenClipFactory()
    args = {"device": "cpu", "precision": "auto", "spec_dir": None, "architecture_file": str(TINY)}
    recipe = factory.recipe("TaxospecTiny-8", str(tiny_weights), **args)
    assert recipe is not None and "|cpu|fp32|" in recipe and "open_clip_torch=" in recipe
    assert factory.recipe("TaxospecTiny-8", str(tmp_path / "missing.pt"), **args) is None
    assert factory.recipe("TaxospecTiny-8", str(tiny_weights), **{**args, "architecture_file": "nope.json"}) is None
    tag = factory.recipe("ViT-B-32", "laion2b_s34b_b79k", **{**args, "architecture_file": None})
    assert tag is not None and tag.startswith("open_clip|ViT-B-32|tag:laion2b_s34b_b79k||cpu|fp32|")
    copy = tmp_path / "tiny.pt"
    copy.write_bytes(tiny_weights.read_bytes())
    os.utime(copy, ns=(1, 1))
    first = factory.recipe("TaxospecTiny-8", str(copy), **args)
    os.utime(copy, ns=(2, 2))  # the weights file rewritten: another recipe, so the model is loaded again
    assert factory.recipe("TaxospecTiny-8", str(copy), **args) != first


def test_a_cli_rerun_imports_neither_torch_nor_open_clip(tmp_path: Path) -> None:
    """The demo checked twice in fresh interpreters: the second never imports the model's libraries."""
    demo = EXAMPLES / "synthetic-signals"
    script = (
        "import sys; from taxospec import check; from taxospec.media import MediaSources; "
        f"r = check({str(demo / 'spec.yaml')!r}, {str(demo / 'export.json')!r}, "
        f"media=MediaSources(roots={{'ls-document-root': {str(demo)!r}}}), cache_dir={str(tmp_path)!r}, device='cpu'); "
        "print(len(r.findings), 'torch' in sys.modules, 'open_clip' in sys.modules)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env) for _ in range(2)]
    outputs = [run.stdout.split() for run in runs]
    assert all(run.returncode == 0 for run in runs), [run.stderr[-2000:] for run in runs]
    assert outputs[0][1:] == ["True", "True"] and outputs[1][1:] == ["False", "False"]
    assert outputs[0][0] == outputs[1][0], "the same findings"


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path: Path, tiny_weights: Path, run_cli: Any) -> None:
    """A cache folder that is a file, or that vanishes under a run (a full or read-only disk reads the
    same): exit 2 with the folder named, never a traceback, and nothing written elsewhere."""
    from taxospec.errors import EmbeddingError

    root, export = boxes_export(tmp_path, 2)
    spec = pipeline_spec(tmp_path, tiny_weights)
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    result = run_cli("check", spec, export, "--ls-document-root", root, "--cache-dir", blocker, "--device", "cpu")
    assert result.exit_code == 2, result.stderr
    assert "cannot be written" in result.stderr and str(blocker) in result.stderr
    assert blocker.read_text() == "not a folder"

    embedder = OpenClipFactory().load("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))
    cache = EmbeddingCache(tmp_path / "cache", embedder.model_id, embedder.preprocess_id)
    cache.folder.rename(tmp_path / "moved")
    cache.folder.write_text("in the way")
    dataset = read_export(load_spec_text(spec.read_text()), export)
    with pytest.raises(EmbeddingError, match="cannot be written"):
        embed_dataset(dataset, embedder, MediaSources(roots={"ls-document-root": root}), cache=cache, workers=1)


def test_missing_and_broken_media_do_not_load_the_model_again(tmp_path: Path, tiny_weights: Path) -> None:
    """Messy data: a task whose file is gone and one whose file does not decode are read again on every
    run (they are findings), but with nothing to encode the model still is not loaded."""
    root, export = boxes_export(tmp_path, 4)
    tasks = json.loads(export.read_text())
    tasks.append(box_task(5, "/data/local-files/?d=img/gone.png", "a"))
    tasks.append(box_task(6, "/data/local-files/?d=img/broken.png", "a"))
    (root / "img" / "broken.png").write_bytes(b"\x89PNG not really")
    export.write_text(json.dumps(tasks))
    dataset_spec = load_spec_text(pipeline_spec(tmp_path, tiny_weights).read_text())
    sources = MediaSources(roots={"ls-document-root": root})
    cache_root = tmp_path / "cache"
    factory = CountingFactory()
    request = ModelRequest("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))

    def run() -> tuple[LazyEmbedder, list[str]]:
        dataset = read_export(dataset_spec, export)
        embedder = lazy_embedder(factory, request, cache_root, lambda m, p: EmbeddingCache.folder_for(cache_root, m, p))
        cache = EmbeddingCache(cache_root, embedder.model_id, embedder.preprocess_id)
        space = embed_dataset(dataset, embedder, sources, cache=cache, workers=2)
        return embedder, sorted(issue.code for issue in space.issues)

    first, problems = run()
    assert factory.loads == 1 and first.is_loaded and problems == ["media-missing", "media-unreadable"]
    second, again = run()
    assert factory.loads == 1 and not second.is_loaded and again == problems


def test_the_command_line_names_another_model(
    tmp_path: Path, tiny_weights: Path, run_cli: Any, monkeypatch: Any
) -> None:
    """--model/--pretrained/--architecture-file replace the spec's embedding section; their paths are relative
    to the current folder. A spec naming weights this machine lacks still runs with the ones given."""
    root, export = boxes_export(tmp_path, 4)
    spec = pipeline_spec(tmp_path, tiny_weights)
    spec.write_text(spec.read_text().replace(str(tiny_weights), "no/such/weights.pt"))
    here = tmp_path / "here"
    here.mkdir()
    (here / "tiny.pt").write_bytes(tiny_weights.read_bytes())
    (here / "arch.json").write_text(TINY.read_text())
    monkeypatch.chdir(here)
    base = ["check", spec, export, "--ls-document-root", root, "--cache-dir", tmp_path / "cache", "--device", "cpu"]
    refused = run_cli(*base, "--format", "json")
    assert refused.exit_code == 2 and "no/such/weights.pt does not exist" in refused.stderr
    chosen = run_cli(*base, "--pretrained", "tiny.pt", "--architecture-file", "arch.json", "--format", "json")
    assert chosen.exit_code in (0, 1), chosen.stderr
    report = json.loads(chosen.stdout)
    skipped = {c["code"]: c["skipped"] for c in report["checks"] if c["family"] == "embeddings"}
    assert skipped["outlier"] is None, skipped
    [recorded] = json.loads((tmp_path / "cache" / "models.json").read_text()).values()
    assert recorded["model_id"].startswith("open_clip:TaxospecTiny-8:file:")
    other = run_cli(*base, "--model", "NoSuchModel", "--pretrained", "tiny.pt", "--format", "json")
    assert other.exit_code == 2 and "open_clip has no model 'NoSuchModel'" in other.stderr


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """`folder` on a read-only file system: a read-only bind mount as root (permission bits do not stop
    root), the write bits taken away otherwise."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for path in modes:
            path.chmod(modes[path] & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    done = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"no read-only mount here: {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder), str(folder)], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False, capture_output=True)


def test_a_full_cache_on_a_read_only_file_system_is_used(tmp_path: Path, tiny_weights: Path, run_cli: Any) -> None:
    """Nothing new to encode, nothing to write: a cache on a read-only mount serves the re-run."""
    root, export = boxes_export(tmp_path, 3)
    spec = pipeline_spec(tmp_path, tiny_weights)
    cache = tmp_path / "cache"
    args = ["check", spec, export, "--ls-document-root", root, "--cache-dir", cache, "--device", "cpu"]
    first = run_cli(*args, "--format", "json")
    assert first.exit_code in (0, 1), first.stderr
    with _read_only(cache):
        with pytest.raises(OSError):
            (cache / "probe").write_text("x")
        again = run_cli(*args, "--format", "json")
        assert again.exit_code == first.exit_code, again.stderr
        assert json.loads(again.stdout)["findings"] == json.loads(first.stdout)["findings"]
        png(root / "img" / "new.png", (12, 200, 99))
        tasks = json.loads(export.read_text())
        tasks.append(box_task(99, "/data/local-files/?d=img/new.png", "a"))
        export.write_text(json.dumps(tasks))
        new = run_cli(*args)  # something new to keep: a clear error, not a traceback
        assert new.exit_code == 2 and "cannot be written" in new.stderr
