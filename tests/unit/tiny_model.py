"""The tiny open_clip model the unit tests load (random weights, `TaxospecTiny-8`), and media and specs
made for it."""

from __future__ import annotations

from pathlib import Path

from ..conftest import FIXTURES

TINY = FIXTURES / "models" / "TaxospecTiny-8.json"
"""The tiny model's open_clip architecture."""


def png(path: Path, color: tuple[int, int, int]) -> None:
    """A 64×48 PNG of `color` with a square of another colour in it."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (64, 48), color)
    image.paste((255 - color[0], 40, 90), (10, 10, 30, 30))
    image.save(path)


SPEC = """
taxospec: 1
name: pipeline
unit: {unit}
media: {media}
classes:
  a: {{hard_negatives: [b], min_examples: 1, prompts: [a red square, a small red box]}}
  b: {{role: negative, min_examples: 1}}
embedding:
  model: TaxospecTiny-8
  pretrained: {weights}
  architecture_file: {config}
  frames_per_segment: 3
coverage: {{per_value: {{min_share: 0, max_share: 1}}}}
balance: {{negatives_per_positive: 0}}
"""


def pipeline_spec(tmp_path: Path, weights: Path, unit: str = "box", media: str = "image") -> Path:
    """A spec (written to `tmp_path`) whose model is the tiny open_clip one with `weights`."""
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(unit=unit, media=media, weights=weights, config=TINY))
    return path


def box_task(task_id: int, uri: str, label: str) -> dict[str, object]:
    """A Label Studio task with one box labelled `label` on the image at `uri`."""
    region = {
        "id": f"r{task_id}",
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 64,
        "original_height": 48,
        "value": {"x": 10, "y": 10, "width": 40, "height": 50, "rotation": 0, "rectanglelabels": [label]},
    }
    return {"id": task_id, "data": {"image": uri}, "annotations": [{"id": task_id, "result": [region]}]}


def boxes_export(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """`count` pictures under `tmp_path/data/img` and an export with one box on each: (data root, export)."""
    import json

    root = tmp_path / "data"
    for i in range(count):
        png(root / "img" / f"{i}.png", (60 * i % 256, 90, 200))
    export = tmp_path / "export.json"
    export.write_text(json.dumps([box_task(i + 1, f"/data/local-files/?d=img/{i}.png", "a") for i in range(count)]))
    return root, export
