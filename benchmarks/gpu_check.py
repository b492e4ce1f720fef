"""Check the CUDA paths for real on a machine with a GPU (no download: random weights, generated images).

1. The encoder picks CUDA and fp16 by itself ("auto"), and its fp16 GPU vectors match fp32 CPU ones.
2. `taxospec check` runs end to end on the GPU: media read and decoded in threads, encoded on the GPU,
   every embedding check run.
3. Images decoded on the GPU in batches ahead of the encoder: the same vectors whatever the batch size;
   messy media on that path (a damaged PNG, a CMYK JPEG, a JPEG that declares a huge picture, damaged and
   truncated JPEGs) become findings, not a crash, and usable pictures still get vectors.
4. Neighbour search on the GPU (torch, where faiss has no GPU build) against faiss on the CPU: the same
   k-NN graph and near-duplicate pairs at 100,000 x 512, and how much faster.

    python benchmarks/gpu_check.py [--no-search]     # --no-search: skip step 4 (a minute of faiss on the CPU)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import image_task


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import open_clip
    import torch
    from PIL import Image

    from taxospec import check
    from taxospec.embeddings.encoder import OpenClipFactory
    from taxospec.embeddings.index import NeighborIndex, gpu_count
    from taxospec.media.sources import MediaSources

    print(
        "torch",
        torch.__version__,
        "cuda available:",
        torch.cuda.is_available(),
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else "",
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        torch.manual_seed(0)
        model, _, _ = open_clip.create_model_and_transforms("ViT-B-32")
        weights = root / "vitb32.pt"
        torch.save(model.state_dict(), weights)
        gpu = OpenClipFactory().load("ViT-B-32", str(weights))
        cpu = OpenClipFactory().load("ViT-B-32", str(weights), device="cpu", precision="fp32")
        dtype = gpu.model.visual.conv1.weight.dtype
        print(f"auto device: {gpu.device}, precision: {gpu.precision}, parameter dtype: {dtype}")
        rng = np.random.default_rng(1)
        images = [Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for _ in range(16)]
        a, b = gpu.encode_images(images), cpu.encode_images(images)
        cos = (a * b).sum(axis=1)
        print(f"fp16 GPU vs fp32 CPU image vectors: min cosine {cos.min():.5f}, mean {cos.mean():.5f}")
        t_gpu, t_cpu = (
            gpu.encode_texts(["a photo of a dog", "a red square"]),
            cpu.encode_texts(["a photo of a dog", "a red square"]),
        )
        print(f"text vectors: min cosine {(t_gpu * t_cpu).sum(axis=1).min():.5f}")
        assert gpu.device.startswith("cuda") and gpu.precision == "fp16" and dtype == torch.float16
        assert cos.min() > 0.99

        (root / "img").mkdir()
        tasks = []
        for i in range(60):
            base = np.zeros((96, 128, 3), dtype=np.uint8)
            base[:, :, i % 3] = 200
            base[20:60, 30 + i % 40 : 70 + i % 40] = 255
            Image.fromarray(base).save(root / "img" / f"{i}.png")
            split = "val" if i % 5 == 4 else "train"
            tasks.append(image_task(i + 1, f"/data/local-files/?d=img/{i}.png", ["a", "b", "c"][i % 3], split=split))
        (root / "export.json").write_text(json.dumps(tasks))
        (root / "spec.yaml").write_text(
            "taxospec: 1\nname: gpu\nclasses:\n  a: {hard_negatives: [b], min_examples: 1, prompts: [red, crimson]}\n"
            "  b: {role: negative, min_examples: 1}\n  c: {role: negative, min_examples: 1}\n"
            f"embedding: {{model: ViT-B-32, pretrained: {weights}}}\nsplits: {{values: [train, val]}}\n"
            "coverage: {per_value: {min_share: 0, max_share: 1}}\n"
        )
        report = check(
            root / "spec.yaml",
            root / "export.json",
            media=MediaSources(roots={"ls-document-root": root}),
            cache_dir=root / "cache",
        )
        ran = [s.code for s in report.checks if s.family == "embeddings" and not s.skipped]
        skipped = {  # the video and box checks skip on an image spec, as they should
            s.code: s.skipped
            for s in report.checks
            if s.family == "embeddings" and s.skipped and "unit" not in s.skipped
        }
        print(
            f"taxospec check on the GPU: {report.summary.samples} examples; embedding checks run: {len(ran)}; "
            f"skipped: {skipped}; findings by code: {dict(report.counts_by_code())}"
        )
        assert not skipped
        _staged_decoding(root, gpu)
        _messy_media_on_the_device(root, gpu)
    if "--no-search" not in sys.argv:
        _neighbour_search(rng, NeighborIndex, gpu_count)
    print("GPU CHECK PASSED")


def _staged_decoding(root: Path, gpu: Any) -> None:
    """Images decoded and resized on the GPU (nvjpeg, its own stream, batches ahead of the encoder) give the
    vectors of the same images decoded one batch at a time, and close to Pillow's."""
    from taxospec import load_spec_text, read_export
    from taxospec.embeddings.pipeline import embed_dataset
    from taxospec.media.sources import MediaSources

    spec = load_spec_text((root / "spec.yaml").read_text())
    sources = MediaSources(roots={"ls-document-root": root})
    (root / "jpg").mkdir()
    rng = np.random.default_rng(5)
    tasks = []
    for i in range(300):
        from PIL import Image

        picture = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).resize((640, 480))
        picture.save(root / "jpg" / f"{i}.jpg", quality=92)
        tasks.append(image_task(i + 1, f"/data/local-files/?d=jpg/{i}.jpg", "a"))
    (root / "jpg.json").write_text(json.dumps(tasks))
    runs = {}
    for name, options in {
        "staged, batch 64": {"device_decode": True, "batch_size": 64},
        "staged, batch 7": {"device_decode": True, "batch_size": 7},
        "Pillow": {"device_decode": False, "batch_size": 64},
    }.items():
        runs[name] = embed_dataset(read_export(spec, root / "jpg.json"), gpu, sources, **options).vectors
    same = float((runs["staged, batch 64"] * runs["staged, batch 7"]).sum(axis=1).min())
    pillow = float((runs["staged, batch 64"] * runs["Pillow"]).sum(axis=1).min())
    print(f"GPU-decoded vectors: batch 64 vs batch 7 min cosine {same:.5f}; vs Pillow min cosine {pillow:.5f}")
    assert same > 0.999 and pillow > 0.98


def _messy_media_on_the_device(root: Path, gpu: Any) -> None:
    """The files nvjpeg and torchvision's decoders choke on, through the GPU decoding path."""
    import io
    import struct

    from PIL import Image

    from taxospec import load_spec_text, read_export
    from taxospec.embeddings.pipeline import embed_dataset
    from taxospec.media.sources import MediaSources

    (root / "messy").mkdir()
    rng = np.random.default_rng(9)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    good = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(buffer, "PNG")
    png = buffer.getvalue()
    buffer = io.BytesIO()
    Image.new("CMYK", (128, 96), (10, 200, 30, 0)).save(buffer, "JPEG")
    frame = good.find(b"\xff\xc0")
    files = {
        "good.jpg": good,
        "good.png": png,
        "cmyk.jpg": buffer.getvalue(),
        "damaged.png": png[:200] + bytes([png[200] ^ 0xFF]) + png[201:],
        "damaged.jpg": good[:600] + bytes(range(256)) * 4 + good[1624:],
        "truncated.jpg": good[: len(good) // 3],
        "huge.jpg": good[: frame + 5] + struct.pack(">HH", 30000, 30000) + good[frame + 9 :],
    }
    tasks = []
    for i, (name, data) in enumerate(files.items()):
        (root / "messy" / name).write_bytes(data)
        tasks.append(image_task(i + 1, f"/data/local-files/?d=messy/{name}", "a"))
    (root / "messy.json").write_text(json.dumps(tasks))
    dataset = read_export(load_spec_text((root / "spec.yaml").read_text()), root / "messy.json")
    space = embed_dataset(
        dataset, gpu, MediaSources(roots={"ls-document-root": root}), device_decode=True, batch_size=8
    )
    names = list(files)
    embedded = sorted(names[int(dataset.columns.task[s])] for s in space.samples)
    problems = {names[i.task]: i.code for i in dataset.issues}
    print(f"messy media on the GPU path: embedded {embedded}; findings {problems}")
    assert {"good.jpg", "good.png", "cmyk.jpg"} <= set(embedded)
    assert problems.get("damaged.png") == "media-unreadable" and problems.get("huge.jpg") == "media-refused"


def _neighbour_search(rng: Any, NeighborIndex: Any, gpu_count: Any) -> None:
    """The exact k-NN graph and near-duplicate pairs at 100,000 x 512: torch on the GPU against faiss on
    the CPU (all cores), same answers."""
    import time

    import torch

    centres = rng.normal(size=(50, 512)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 100_000)] + 0.6 * rng.normal(size=(100_000, 512)).astype(np.float32)
    vectors[:300] = vectors[300:600] + 0.01 * rng.normal(size=(300, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    timings = {}
    answers = {}
    for name, device in (("faiss, CPU", "cpu"), ("torch, GPU", "cuda")):
        began = time.perf_counter()
        index = NeighborIndex(vectors, device=device, approximate_above=10**9)
        _, ids = index.knn(32)
        pairs = index.pairs_above(0.97)
        torch.cuda.synchronize()
        timings[name] = time.perf_counter() - began
        answers[name] = (ids, {(i, j) for i, j, _ in pairs})
        print(f"{name}: on GPU {index.on_gpu}, knn(32) + pairs >= 0.97 in {timings[name]:.2f} s, {len(pairs)} pairs")
    agree = float((answers["faiss, CPU"][0] == answers["torch, GPU"][0]).mean())
    same_pairs = answers["faiss, CPU"][1] == answers["torch, GPU"][1]
    print(
        f"faiss GPUs: {gpu_count()}; torch GPU search {timings['faiss, CPU'] / timings['torch, GPU']:.1f}x faster "
        f"than faiss on the CPU; neighbour ids equal: {agree:.4%}; pairs equal: {same_pairs}"
    )
    assert agree > 0.999 and same_pairs


if __name__ == "__main__":
    main()
