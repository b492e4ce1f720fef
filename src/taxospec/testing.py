"""Helpers for testing taxospec plugins and the datasets they read.

- `FakeEmbedder` and `FakeEmbedderFactory`: an embedder that needs no weights (a picture's vector is its
  colours on a 4×4 grid, a text's is drawn from its hash), so that a plugin's tests run the whole
  embedding stage in a second;
- `registered(plugin)`: register a plugin object or module for the length of a `with` block;
- task builders for Label Studio JSON exports (`box`, `segment`, `choice`, `task`, `write_export`).

Nothing here is imported by taxospec itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.space import normalize

if TYPE_CHECKING:
    from PIL import Image

    from taxospec.plugins.interfaces import Embedder

GRID = 4
"""The fake embedder's picture grid: a vector is the mean colour of each of GRID × GRID cells."""


@dataclass(frozen=True)
class FakeEmbedder:
    """An `Embedder` with no model: pictures of one content get one vector, similar colours near ones."""

    name: str = "fake"

    @property
    def model_id(self) -> str:
        """Identifies the model (part of every cache key)."""
        return f"taxospec-fake-{self.name}-grid{GRID}"

    @property
    def preprocess_id(self) -> str:
        """Identifies the preprocessing (part of every cache key)."""
        return "rgb-box-resize"

    @property
    def device(self) -> str:
        """Always the CPU."""
        return "cpu"

    @property
    def precision(self) -> str:
        """Always fp32."""
        return "fp32"

    @property
    def logit_scale(self) -> float:
        """CLIP's usual temperature."""
        return 100.0

    def preprocess_images(self, images: list[Image.Image]) -> Any:
        """A batch (torch tensor, N × 3·GRID²) of the pictures' cell colours, centred on grey."""
        import torch
        from PIL import Image as PILImage

        rows = [
            np.asarray(image.convert("RGB").resize((GRID, GRID), PILImage.Resampling.BOX), dtype=np.float32).ravel()
            - 127.5
            for image in images
        ]
        return torch.from_numpy(np.stack(rows))

    def encode_batch(self, batch: Any) -> npt.NDArray[np.float32]:
        """Unit vectors of a batch."""
        vectors: npt.NDArray[np.float32] = normalize(np.asarray(batch, dtype=np.float32) + 1e-3)
        return vectors

    def encode_images(self, images: list[Image.Image]) -> npt.NDArray[np.float32]:
        """Unit vectors of pictures."""
        return self.encode_batch(self.preprocess_images(images))

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """A unit vector per text, drawn from a generator seeded with the text's hash."""
        rows = [
            np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")).standard_normal(
                3 * GRID * GRID
            )
            for text in texts
        ]
        vectors: npt.NDArray[np.float32] = normalize(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))
        return vectors


@dataclass(frozen=True)
class FakeEmbedderFactory:
    """An `EmbedderFactory` (and `RecipeFactory`) of `FakeEmbedder`s; register it to use `backend: fake`."""

    name: str = "fake"

    def load(
        self,
        model: str,
        pretrained: str,
        *,
        device: str,
        precision: str,
        spec_dir: Path | None,
        architecture_file: str | None = None,
    ) -> Embedder:
        """A fake embedder (the model and weights are only named)."""
        return FakeEmbedder(name=f"{model}-{pretrained}")

    def recipe(
        self,
        model: str,
        pretrained: str,
        *,
        device: str,
        precision: str,
        spec_dir: Path | None,
        architecture_file: str | None = None,
    ) -> str | None:
        """What `load` loads: only the names matter."""
        return f"fake|{model}|{pretrained}"


@contextmanager
def registered(plugin: object, name: str) -> Iterator[None]:
    """Register `plugin` (a module or an object with `@hookimpl` functions) under `name` inside the block."""
    from taxospec.plugins.manager import get_plugin_manager
    from taxospec.plugins.registry import refresh

    manager = get_plugin_manager()
    manager.register(plugin, name=name)
    refresh()
    try:
        yield
    finally:
        manager.unregister(name=name)
        refresh()


def box(
    label: str,
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    region_id: str,
    axes: Mapping[str, str] | None = None,
    image_size: tuple[int, int] = (64, 64),
    from_name: str = "label",
    to_name: str = "image",
) -> list[dict[str, Any]]:
    """The results of one box (in percent) labelled `label`, with per-region axis choices."""
    geometry = {"original_width": image_size[0], "original_height": image_size[1], "image_rotation": 0}
    value = {"x": x, "y": y, "width": width, "height": height, "rotation": 0}
    region = {"id": region_id, "from_name": from_name, "to_name": to_name, "type": "rectanglelabels", **geometry}
    results = [{**region, "value": {**value, "rectanglelabels": [label]}}]
    for axis, choice in (axes or {}).items():
        results.append(
            {"id": region_id, "from_name": axis, "to_name": to_name, "type": "choices", **geometry}
            | {"value": {**value, "choices": [choice]}}
        )
    return results


def segment(
    label: str,
    start_frame: int,
    end_frame: int,
    *,
    region_id: str,
    axes: Mapping[str, str] | None = None,
    from_name: str = "label",
    to_name: str = "video",
) -> list[dict[str, Any]]:
    """The results of one time segment (frames, 1-based, inclusive) labelled `label`, with per-region axes."""
    ranges = [{"start": start_frame, "end": end_frame}]
    results = [
        {
            "id": region_id,
            "from_name": from_name,
            "to_name": to_name,
            "type": "timelinelabels",
            "value": {"ranges": ranges, "timelinelabels": [label]},
        }
    ]
    for axis, choice in (axes or {}).items():
        results.append(
            {
                "id": region_id,
                "from_name": axis,
                "to_name": to_name,
                "type": "choices",
                "value": {"ranges": ranges, "choices": [choice]},
            }
        )
    return results


def choice(from_name: str, value: str, *, to_name: str = "image") -> dict[str, Any]:
    """A task-level choice: the class of a whole picture (`from_name` the class control) or an axis value."""
    return {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [value]}}


def task(
    task_id: int,
    media: str,
    *results: dict[str, Any] | Iterable[dict[str, Any]],
    data_key: str = "image",
    data: Mapping[str, Any] | None = None,
    annotator: int = 1,
) -> dict[str, Any]:
    """A Label Studio task with one submitted annotation made of `results` (single results or lists)."""
    flat: list[dict[str, Any]] = []
    for result in results:
        flat.extend([result] if isinstance(result, dict) else result)
    annotation = {"id": task_id, "completed_by": annotator, "result": flat, "was_cancelled": False}
    return {"id": task_id, "data": {data_key: media, **(data or {})}, "annotations": [annotation], "predictions": []}


def write_export(tasks: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write `tasks` as a Label Studio JSON export at `path`."""
    path = Path(path)
    path.write_text(json.dumps(list(tasks)), encoding="utf-8")
    return path
