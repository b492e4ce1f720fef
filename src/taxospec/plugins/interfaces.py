"""The protocols that plugin contributions implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import click
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

    from taxospec.dataset import Dataset
    from taxospec.media.sources import MediaRoot, MediaSources
    from taxospec.report import Report
    from taxospec.spec.model import Spec


@runtime_checkable
class ExportReader(Protocol):
    """Reads one export format into a `Dataset`."""

    @property
    def name(self) -> str:
        """The reader's name, e.g. `label-studio-json`."""
        ...

    def sniff(self, path: Path) -> str | None:
        """None when this reader can read `path`; else what the file looks like to it, in words."""
        ...

    def read(self, path: Path, spec: Spec, config: object | None) -> Dataset:
        """Read the export; problems inside it become dataset issues, an unreadable file an `ExportError`.

        `config` is what the user passed as the project's labeling configuration (`--config`, or `config=`
        in the Python API), in the reader's own terms: for Label Studio, a path to the project's XML or a
        parsed `LabelConfig`. A reader that needs none ignores it; one that cannot use what it was given
        raises `ConfigError`."""
        ...


@runtime_checkable
class LinksTasks(ExportReader, Protocol):
    """A reader whose tasks can be opened in the labeling tool: findings then carry a link to theirs."""

    def task_link(self, base_url: str, project: int, task_id: int, annotation_id: int | None) -> str | None:
        """The URL that opens the task (and annotation) under `base_url`, or None when it has none."""
        ...


@runtime_checkable
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


@runtime_checkable
class LocatingResolver(MediaResolver, Protocol):
    """A resolver that reads local files, and can say which (the embedding stage then streams and stats the
    file itself, and the content memo skips unchanged files on a re-run)."""

    def locate(self, uri: str, sources: MediaSources) -> str | Path | None:
        """The local file behind `uri` (a `MediaProblem` when it is refused), or None when it has none."""
        ...


@runtime_checkable
class DeclaresRoots(MediaResolver, Protocol):
    """A resolver that reads from folders of its own, each given by an option of its own (`--NAME`) on
    every command that reads media, and handed to it in `MediaSources.roots`."""

    def roots(self) -> list[MediaRoot]:
        """The folders it reads from."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns images (and text, for CLIP-like models) into vectors of one space.

    These are the members the embedding stage always calls; what an embedder may offer beside them is
    in the ability protocols below (`DecodesOnDevice`, `SplitsPreprocessing`), which the stage asks
    about with `isinstance`. A batch is whatever `preprocess_images` returns and `encode_batch` takes
    (for open_clip, an N×3×H×W `torch.Tensor`); the stage stacks and slices batches with torch."""

    @property
    def model_id(self) -> str:
        """Identifies the model and weights (part of every cache key)."""
        ...

    @property
    def preprocess_id(self) -> str:
        """Identifies the image preprocessing (part of every cache key)."""
        ...

    @property
    def device(self) -> str:
        """Where the model runs: `cpu`, `cuda`, `cuda:1`, `mps`; a `cuda` device moves nearest-neighbour
        search to the GPU too."""
        ...

    @property
    def precision(self) -> str:
        """`fp32` or `fp16`."""
        ...

    @property
    def logit_scale(self) -> float:
        """The model's temperature for zero-shot probabilities (CLIP's learned `logit_scale`, ~100)."""
        ...

    def preprocess_images(self, images: list[Image.Image]) -> Any:
        """One batch of `images`, preprocessed as the model expects; called from worker threads."""
        ...

    def encode_batch(self, batch: Any) -> npt.NDArray[np.float32]:
        """One unit vector per image of a batch (`preprocess_images`'s, or several of its rows stacked)."""
        ...

    def encode_images(self, images: list[Image.Image]) -> npt.NDArray[np.float32]:
        """One unit vector per image."""
        ...

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text."""
        ...


@runtime_checkable
class DecodesOnDevice(Embedder, Protocol):
    """An embedder that can decode and resize still images on its own device (nvjpeg on a GPU)."""

    @property
    def decodes_on_device(self) -> bool:
        """Whether it should, on this device (a GPU outpaces CPU decoding; a CPU does not)."""
        ...

    def preprocess_on_device(self, images: list[Any]) -> Any:
        """A batch from decoded images (3×H×W uint8 tensors on the device), preprocessed there."""
        ...


@runtime_checkable
class SplitsPreprocessing(Embedder, Protocol):
    """An embedder whose preprocessing splits into a picture stage (resize, crop: run in worker processes)
    and a tensor stage (conversion, normalization: run on the device)."""

    def pil_stage(self) -> Callable[[Image.Image], Image.Image] | None:
        """The picture stage (picklable), or None when this model's preprocessing does not split."""
        ...

    def encode_uint8(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """One unit vector per picture of a B×H×W×3 uint8 batch already through `pil_stage`."""
        ...


@runtime_checkable
class EmbedderFactory(Protocol):
    """Builds an embedder for a model name and weights (`embedding.model`, `embedding.pretrained`); the
    spec's `embedding.backend` names the factory (`open_clip` is the built-in one)."""

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


@runtime_checkable
class RecipeFactory(EmbedderFactory, Protocol):
    """A factory that can say what it would load without loading anything. taxospec then records the
    loaded model's identity under that recipe and, on later runs with nothing new to encode, does not load
    the model at all (`taxospec.embeddings.lazy`)."""

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
        """What `load` would load, as a string (None when that cannot be known without loading)."""
        ...


@dataclass(frozen=True)
class CheckInput:
    """What `taxospec check` reads, as its sources have made it so far."""

    export: Path | None
    """The export file (the EXPORT argument, or one a source pulled; None: none yet)."""
    config: object | None = None
    """The labeling config, in the reader's terms (`--config`, or the one a source pulled)."""
    link_base: str | None = None
    """The labeling tool's URL, for links from findings to tasks."""
    after: tuple[Callable[[Report], None], ...] = ()
    """What sources do with the finished report (write its findings back to a live project)."""


@runtime_checkable
class CheckSource(Protocol):
    """Somewhere else `taxospec check` can read from than an EXPORT file (a live project), with the options
    it adds to the command. Sources are asked in plugin order; one whose options were not given returns
    its input unchanged."""

    @property
    def name(self) -> str:
        """The source's name, e.g. `label-studio-live`."""
        ...

    def options(self) -> list[click.Option]:
        """The options it adds to `taxospec check` (their names must not clash with the command's own)."""
        ...

    def prepare(self, values: Mapping[str, Any], given: CheckInput, stack: ExitStack) -> CheckInput:
        """`given`, amended from the option `values` (the command's, by parameter name): an export pulled
        into a folder entered on `stack` (removed when the check ends), its config, links, what to do after.
        Raises `click.UsageError` for options that do not go together, `TaxospecError`s for the rest."""
        ...
