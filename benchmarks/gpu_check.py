"""Check the CUDA paths for real on a machine with a GPU (no download: random weights, generated images).

1. The encoder picks CUDA and fp16 by itself ("auto"), and its fp16 GPU vectors match fp32 CPU ones.
2. `taxospec check` runs end to end on the GPU: media read and decoded in threads, encoded on the GPU,
   every embedding check run.
3. FAISS: how many GPUs it sees, and whether the neighbour index moved there (needs a GPU build of faiss).

    python benchmarks/gpu_check.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import open_clip
    import torch
    from PIL import Image

    from taxospec import check
    from taxospec.embeddings.encoder import OpenClipFactory
    from taxospec.embeddings.index import NeighborIndex, gpu_count
    from taxospec.embeddings.media import MediaSources

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
            label = ["a", "b", "c"][i % 3]
            tasks.append(
                {
                    "id": i + 1,
                    "data": {"image": f"/data/local-files/?d=img/{i}.png", "split": "val" if i % 5 == 4 else "train"},
                    "annotations": [
                        {
                            "id": i + 1,
                            "result": [
                                {
                                    "from_name": "label",
                                    "to_name": "image",
                                    "type": "choices",
                                    "value": {"choices": [label]},
                                }
                            ],
                        }
                    ],
                }
            )
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
            media=MediaSources(ls_document_root=root),
            cache_dir=root / "cache",
        )
        ran = [s.code for s in report.checks if s.family == "embeddings" and not s.skipped]
        skipped = {s.code: s.skipped for s in report.checks if s.family == "embeddings" and s.skipped}
        print(
            f"taxospec check on the GPU: {report.summary.samples} examples; embedding checks run: {len(ran)}; "
            f"skipped: {skipped}; findings by code: {dict(report.counts_by_code())}"
        )
        assert not skipped
        vectors = rng.normal(size=(5000, 512)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = NeighborIndex(vectors)
        print(f"faiss GPUs: {gpu_count()}; neighbour index on GPU: {index.on_gpu}; knn ok: {index.knn(10)[1].shape}")
    print("GPU CHECK PASSED")


if __name__ == "__main__":
    main()
