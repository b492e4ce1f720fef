"""A folder of pictures with planted quality defects, for the image-quality tests and
`benchmarks/image_quality.py`: ordinary scenes (gradients and shapes, a few sizes and shapes of frame,
JPEG at ordinary qualities) and, among them, dark, washed-out, blurry, flat, grey, tiny, strip-shaped,
hard-compressed and truncated pictures."""

from __future__ import annotations

import io
import types
from pathlib import Path

import numpy as np

DEFECTS = (
    "dark",
    "light",
    "blurry",
    "low_information",
    "grayscale",
    "odd_size",
    "odd_aspect",
    "heavy_compression",
    "corrupt",
)
"""Each defect's name (CleanVision's, where it has one)."""
CODES = {
    "dark": "image-dark",
    "light": "image-overexposed",
    "blurry": "image-blurry",
    "low_information": "image-low-information",
    "grayscale": "image-grayscale",
    "odd_size": "image-odd-size",
    "odd_aspect": "image-odd-aspect",
    "heavy_compression": "image-heavy-compression",
    "corrupt": "media-unreadable",
}
"""The taxospec check that should find each."""


def scene(rng: np.random.Generator, size: tuple[int, int]) -> object:
    """An ordinary picture: a lit gradient with a few shapes and some texture."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    top, bottom = rng.integers(40, 230, size=3), rng.integers(20, 200, size=3)
    mix = np.linspace(0, 1, h)[:, None, None]
    pixels = (top * (1 - mix) + bottom * mix) * np.ones((h, w, 3))
    pixels += rng.normal(0, 9, size=(h, w, 3))
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(w // 20, w // 5))
        colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x - r, y - r, x + r, y + r], fill=colour)
    return picture.filter(ImageFilter.GaussianBlur(0.6))


SIZES = ((640, 480), (600, 450), (640, 427), (512, 384), (720, 480))
"""The ordinary pictures' sizes (a few cameras)."""
DATASETS = {
    "daylight": {},
    "night": {"gain": 0.3},
    "mixed cameras": {
        "sizes": ((640, 480), (1280, 720), (480, 640), (800, 800), (1024, 576)),
        "qualities": (55, 96),
    },
}
"""Kinds of dataset the planted defects sit in: ordinary daylight pictures; a night dataset (every picture
at 0.3 of its brightness: dark is its norm); pictures from several cameras (sizes, shapes and JPEG
qualities that vary more)."""


def planted(
    folder: Path,
    seed: int,
    normal: int = 80,
    gain: float = 1.0,
    sizes: tuple[tuple[int, int], ...] = SIZES,
    qualities: tuple[int, int] = (80, 96),
) -> dict[str, str]:
    """Write `normal` ordinary pictures and one of each defect (two of some) into `folder`, every picture at
    `gain` of its brightness, of `sizes` and saved at JPEG `qualities`; file name → defect ("" for the
    ordinary ones)."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, str] = {}
    for i in range(normal):
        name = f"ok-{i:03d}.jpg"
        ordinary: Image.Image = scene(rng, sizes[i % len(sizes)])  # type: ignore[assignment]
        if gain != 1.0:
            ordinary = Image.eval(ordinary, lambda v: int(v * gain))
        ordinary.save(folder / name, quality=int(rng.integers(*qualities)))
        truth[name] = ""
    for defect in DEFECTS:
        for copy in range(2 if defect in ("dark", "blurry") else 1):
            name = f"{defect}-{copy}.{'png' if defect == 'corrupt' else 'jpg'}"
            picture: Image.Image = scene(rng, sizes[copy % len(sizes)])  # type: ignore[assignment]
            quality = 90
            if defect == "dark":
                picture = Image.eval(picture, lambda v: int(v * 0.13))
            elif defect == "light":
                picture = Image.eval(picture, lambda v: int(200 + v * 0.2))
            elif defect == "blurry":
                picture = picture.filter(ImageFilter.GaussianBlur(7))
            elif defect == "low_information":
                flat = tuple(int(c) for c in rng.integers(60, 200, size=3))
                picture = Image.new("RGB", picture.size, flat)
            elif defect == "grayscale":
                picture = picture.convert("L").convert("RGB")
            elif defect == "odd_size":
                picture = picture.resize((32, 24))
            elif defect == "odd_aspect":
                picture = picture.resize((640, 110))
            elif defect == "heavy_compression":
                quality = 6
            if gain != 1.0 and defect != "light":
                picture = Image.eval(picture, lambda v: int(v * gain))
            if defect == "corrupt":
                data = io.BytesIO()
                picture.save(data, format="PNG")
                (folder / name).write_bytes(data.getvalue()[: len(data.getvalue()) // 3])
            else:
                picture.save(folder / name, quality=quality)
            truth[name] = defect
    return truth


def export(folder: Path, truth: dict[str, str], path: Path) -> Path:
    """A Label Studio export of the pictures (one class, `thing`), as `--media-root folder` reads them."""
    import json

    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["thing"]}}]
    tasks = [
        {"id": i + 1, "data": {"image": name}, "annotations": [{"id": i + 1, "result": result}]}
        for i, name in enumerate(sorted(truth))
    ]
    path.write_text(json.dumps(tasks))
    return path


SPEC = "taxospec: 1\nname: quality\nclasses: {thing: {min_examples: 1}}\nembedding: {backend: fake}\n"
"""A one-class spec whose embedder is the fake one (the quality checks need no model)."""


def fake_embedder() -> types.ModuleType:
    """A plugin module registering `FakeEmbedderFactory` (`backend: fake`)."""
    from taxospec.plugins import hookimpl
    from taxospec.testing import FakeEmbedderFactory

    plugin = types.ModuleType("fake_embedder_for_quality")
    plugin.taxospec_embedders = hookimpl(lambda: [FakeEmbedderFactory()])  # type: ignore[attr-defined]
    return plugin


def codes_by_file(folder: Path, truth: dict[str, str], work: Path, spec: str = SPEC) -> dict[str, set[str]]:
    """Each file's quality (and media) codes, as `taxospec check` of the folder's export reports them
    (with the fake embedder; `spec` as YAML text, `work` for the export and the cache)."""
    from taxospec import check, load_spec_text
    from taxospec.media.sources import MediaSources
    from taxospec.testing import registered

    path = export(folder, truth, work / "export.json")
    with registered(fake_embedder(), "fake-quality"):
        report = check(load_spec_text(spec), path, media=MediaSources(media_root=folder), cache_dir=work / "cache")
    names = {i + 1: name for i, name in enumerate(sorted(truth))}
    found: dict[str, set[str]] = {name: set() for name in truth}
    for finding in report.findings:
        if finding.task_id is not None and (finding.family == "quality" or finding.code.startswith("media-")):
            found[names[finding.task_id]].add(finding.code)
    return found
