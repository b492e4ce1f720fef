"""Encoding throughput: taxospec's embedding pipeline against bare `encode_image`, and the cache's re-run.

In one run, on the same model, device and images:

- **bare**: every image decoded and preprocessed beforehand (not timed), then only
  `model.encode_image` in batches — the most the model can do;
- **pipeline**: `taxospec.embeddings.pipeline.embed_dataset` from files on disk — reading, hashing,
  decoding and preprocessing in worker threads while the model encodes;
- **cold / warm**: the pipeline with the on-disk cache, first on all images, then again with nothing
  changed (best of three; also as a multiple of the least a re-run must do: `os.stat` every file), then
  after 1 % of them changed (only those are encoded again).

Targets: pipeline ≥ 90 % of bare; re-run with 1 % new ≤ 5 % of the cold run. The model has random weights
(open_clip architecture only: throughput does not depend on the weights), so nothing is downloaded.

    .venv/bin/python benchmarks/encode_throughput.py [--model ViT-B-32] [--images 2000] [--workers 8]
    .venv/bin/python benchmarks/encode_throughput.py --cache-only --images 20000 --size 64x48 \
        --model TaxospecTiny-8 --architecture tests/fixtures/models/TaxospecTiny-8.json   # the cache, on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import image_task


def make_images(folder: Path, count: int, size: tuple[int, int], seed: int = 0) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    rng = np.random.default_rng(seed)
    bases = [rng.integers(0, 255, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8) for _ in range(count)]

    def write(i: int) -> str:
        name = f"img_{i:06d}.jpg"
        Image.fromarray(bases[i]).resize(size).save(folder / name, quality=90)
        return name

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        return list(pool.map(write, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--workers", default="auto", help="media threads: a number, 'auto' (taxospec's default), or a list 1,2,8"
    )
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--architecture", help="an open_clip model config (JSON) to register, for --model")
    parser.add_argument(
        "--cache-only", action="store_true", help="measure only the cache: cold run, re-runs, and stat-every-file"
    )
    options = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import open_clip
    import torch

    from taxospec import load_spec_text, read_export
    from taxospec.embeddings.cache import EmbeddingCache
    from taxospec.embeddings.encoder import OpenClipFactory
    from taxospec.embeddings.pipeline import embed_dataset
    from taxospec.media.sources import MediaSources

    if options.architecture:
        open_clip.add_model_config(options.architecture)
    width, height = (int(v) for v in options.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="taxospec-encode-") as tmp:
        root = Path(tmp)
        (root / "img").mkdir()
        names = make_images(root / "img", options.images, (width, height))
        torch.manual_seed(0)
        model, _, _ = open_clip.create_model_and_transforms(options.model)
        weights = root / "weights.pt"
        torch.save(model.state_dict(), weights)
        del model
        embedder = OpenClipFactory().load(
            options.model, str(weights), device=options.device, architecture_file=options.architecture
        )
        tasks = [image_task(i + 1, f"/data/local-files/?d=img/{name}", "a") for i, name in enumerate(names)]
        export = root / "export.json"
        export.write_text(json.dumps(tasks))
        spec = load_spec_text(
            f"taxospec: 1\nname: bench\nclasses: {{a: {{}}}}\nembedding: {{model: {options.model}}}\n"
        )
        dataset = read_export(spec, export)
        sources = MediaSources(roots={"ls-document-root": root})
        device = embedder.device
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

        if options.cache_only:
            bare = resident = float("nan")
            pipelines: list[tuple[int | None, float]] = []
            best = None if options.workers == "auto" else int(options.workers.split(",")[0])
        else:
            bare, resident, pipelines, best = _throughput(options, embedder, names, root, dataset, sources, sync)

        cache = root / "cache"

        def cached_run() -> float:
            began = time.perf_counter()
            embed_dataset(
                dataset,
                embedder,
                sources,
                batch_size=options.batch_size,
                workers=best,
                cache=EmbeddingCache(cache, embedder.model_id, embedder.preprocess_id),
            )
            return time.perf_counter() - began

        cold = cached_run()
        unchanged = min(cached_run() for _ in range(3))
        paths = [os.path.join(root, "img", name) for name in names]
        began = time.perf_counter()
        for path in paths:  # the least any tool must do to know that files are unchanged
            os.stat(path)
        stat_all = time.perf_counter() - began
        changed = make_images(root / "img", max(1, len(names) // 100), (width, height), seed=99)
        warm = cached_run()

    print(
        f"model {options.model} on {device} ({embedder.precision}), {len(names)} images {options.size}, "
        f"batch {options.batch_size}"
    )
    if not options.cache_only:
        print(f"bare encode_image        {bare:10.1f} images/s   (preprocessed tensors in CPU memory)")
        print(f"  tensors already on the device {resident:10.1f} images/s")
    for count, rate in pipelines:
        label = f"pipeline, {count or 'auto'} threads"
        print(f"{label:24} {rate:10.1f} images/s   {rate / bare:6.1%} of bare, {rate / resident:6.1%} of on-device")
    per_file = 1e6 / len(names)
    print(f"cache cold run           {cold:10.2f} s")
    print(
        f"re-run, nothing new      {unchanged:10.3f} s   {unchanged / cold:6.1%} of cold, "
        f"{unchanged * per_file:.1f} µs per file ({unchanged / stat_all:.1f}× a bare os.stat of every file: "
        f"{stat_all * per_file:.1f} µs)"
    )
    print(f"re-run, {len(changed)} new ({len(changed) / len(names):.0%})  {warm:10.3f} s   {warm / cold:6.1%} of cold")


def _throughput(
    options: argparse.Namespace, embedder: Any, names: list[str], root: Path, dataset: Any, sources: Any, sync: Any
) -> tuple[float, float, list[tuple[int | None, float]], int | None]:
    """Bare encoding (from CPU tensors and from device tensors) and the pipeline without a cache, in
    images per second; and the pipeline's best thread count."""
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from PIL import Image

    from taxospec.embeddings.pipeline import embed_dataset

    device = embedder.device

    with ThreadPoolExecutor(os.cpu_count()) as pool:  # not timed: the baseline starts from tensors
        tensors = torch.stack(
            list(pool.map(lambda n: embedder.preprocess(Image.open(root / "img" / n).convert("RGB")), names))
        )
    for start in range(0, min(len(tensors), options.batch_size * 2), options.batch_size):  # warm-up
        embedder.encode_batch(tensors[start : start + options.batch_size])
    sync()
    began = time.perf_counter()
    for start in range(0, len(tensors), options.batch_size):
        embedder.encode_batch(tensors[start : start + options.batch_size])
    sync()
    bare = len(tensors) / (time.perf_counter() - began)
    on_device = [tensors[i : i + options.batch_size].to(device) for i in range(0, len(tensors), options.batch_size)]
    sync()
    began = time.perf_counter()
    for batch in on_device:
        embedder.encode_batch(batch)
    sync()
    resident = len(tensors) / (time.perf_counter() - began)
    del tensors, on_device

    counts = [None] if options.workers == "auto" else [int(w) for w in options.workers.split(",")]
    pipelines: list[tuple[int | None, float]] = []
    for count in counts:
        began = time.perf_counter()
        embed_dataset(dataset, embedder, sources, cache=None, batch_size=options.batch_size, workers=count)
        sync()
        pipelines.append((count, len(names) / (time.perf_counter() - began)))
    best = max(pipelines, key=lambda run: run[1])[0]
    return bare, resident, pipelines, best


if __name__ == "__main__":
    main()
