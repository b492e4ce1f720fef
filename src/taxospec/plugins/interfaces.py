"""The protocols that plugin contributions implement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

    from taxospec.dataset import Dataset
    from taxospec.embeddings.media import MediaSources
    from taxospec.plugins.labelstudio.config import LabelConfig
    from taxospec.spec.model import Spec


class ExportReader(Protocol):
    """Reads one export format into a `Dataset`."""

    @property
    def name(self) -> str:
        """The reader's name, e.g. `label-studio-json`."""
        ...

    def sniff(self, path: Path) -> str | None:
        """None when this reader can read `path`; else what the file looks like to it, in words."""
        ...

    def read(self, path: Path, spec: Spec, config: LabelConfig | None) -> Dataset:
        """Read the export; problems inside it become dataset issues, an unreadable file an `ExportError`."""
        ...


class MediaResolver(Protocol):
    """Reads the media a task's URI names, from under a root the user configured."""

    @property
    def name(self) -> str:
        """The resolver's name."""
        ...

    def claims(self, uri: str) -> bool:
        """Whether this resolver handles `uri`."""
        ...

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """The media bytes; a `MediaProblem` when they cannot be had."""
        ...


class Embedder(Protocol):
    """Turns images (and text, for CLIP-like models) into vectors of one space."""

    @property
    def model_id(self) -> str:
        """Identifies the model and weights (part of every cache key)."""
        ...

    @property
    def preprocess_id(self) -> str:
        """Identifies the image preprocessing (part of every cache key)."""
        ...

    def encode_images(self, images: list[Image.Image]) -> npt.NDArray[np.float32]:
        """One unit vector per image."""
        ...

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text."""
        ...


class EmbedderFactory(Protocol):
    """Builds an embedder for a model name and weights (`embedding.model`, `embedding.pretrained`).

    A factory may also offer `recipe(model, pretrained, *, device, precision, spec_dir, architecture_file)
    -> str | None`: what `load` would load, as a string, worked out without loading anything. taxospec
    then records the loaded model's identity under it and, on later runs with nothing new to encode, does
    not load the model at all (`taxospec.embeddings.lazy`)."""

    @property
    def name(self) -> str:
        """The factory's name, e.g. `open_clip`."""
        ...

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
        """Load the model; raises `EmbeddingError` with a clear message when it cannot."""
        ...
