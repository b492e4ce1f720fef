"""Embed unlabeled pictures (a deployment sample, the unlabeled pool) with the spec's model, through the
same pipeline and cache as the labeled data: a re-run reads and encodes nothing it has seen."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from taxospec.dataset import Dataset
from taxospec.dataset_builder import DatasetBuilder
from taxospec.deployment.sources import SampleMedia
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.scores.picture_quality import PictureProperties
from taxospec.spec.deployment import DeploymentSpec
from taxospec.spec.model import Spec

FloatMatrix = npt.NDArray[np.float32]


@dataclass
class UnlabeledSpace:
    """The embedded pictures of one or more unlabeled samples, in one matrix: row i is `uris[i]` of sample
    `sample[i]` (pictures that could not be read are left out and counted in `unreadable`)."""

    vectors: FloatMatrix
    sample: list[str]
    uris: list[str]
    """Each picture as a person finds it: its path (a folder's), or its media URI (an export's)."""
    task_ids: list[int | None]
    """Each picture's labeling task id (None for a folder's pictures)."""
    properties: dict[int, PictureProperties] = field(default_factory=dict)
    """Per row, what its picture is like (for the deployment's picture quality)."""
    unreadable: dict[str, int] = field(default_factory=dict)
    """Per sample, pictures that were missing, unreadable or refused."""
    listed: dict[str, int] = field(default_factory=dict)
    """Per sample, pictures it has (before `max_examples`)."""
    media: dict[str, SampleMedia] = field(default_factory=dict)
    """Per sample, where its pictures are (to picture them in the report)."""
    settings: DeploymentSpec | None = None
    """How the deployment checks judge it (the spec's `deployment` section, with any samples given on the
    command line); None for the unlabeled pool."""

    def __len__(self) -> int:
        return len(self.uris)

    def rows_of(self, name: str) -> npt.NDArray[np.int64]:
        """The rows of sample `name`."""
        return np.flatnonzero(np.asarray(self.sample, dtype=object) == name)


def still_spec(spec: Spec) -> Spec:
    """`spec` as the embedding stage must see unlabeled pictures: each picture whole (frames of a video
    project's deployment are pictures too)."""
    if spec.media == "image" and spec.unit == "image":
        return spec
    return spec.model_copy(update={"media": "image", "unit": "image"})


def picture_dataset(spec: Spec, media: SampleMedia) -> Dataset:
    """A dataset of one unlabeled example per picture of `media`."""
    builder = DatasetBuilder(still_spec(spec), media.name, "pictures")
    for task_id, uri in zip(media.task_ids, media.uris, strict=True):
        row = builder.task(task_id, uri, annotations=0)
        builder.example(row, None)
    return builder.build()


def joined(parts: list[tuple[SampleMedia, EmbeddingSpace]]) -> UnlabeledSpace:
    """One space of the embedded samples (each with the embedding space of its `picture_dataset`)."""
    vectors: list[FloatMatrix] = []
    names: list[str] = []
    uris: list[str] = []
    ids: list[int | None] = []
    properties: dict[int, PictureProperties] = {}
    unreadable: dict[str, int] = {}
    listed: dict[str, int] = {}
    for media, space in parts:
        offset = len(uris)
        rows = list(space.samples)
        vectors.append(np.asarray(space.vectors, dtype=np.float32).reshape(len(rows), -1))
        for i, row in enumerate(rows):
            names.append(media.name)
            uris.append(media.shown[row] if media.shown is not None else media.uris[row])
            ids.append(media.task_ids[row] if media.tasks else None)
            if row in space.picture_properties:
                properties[offset + i] = space.picture_properties[row]
        unreadable[media.name] = len(media.uris) - len(rows)
        listed[media.name] = media.listed
    dim = next((v.shape[1] for v in vectors if v.size), 0)
    matrix = np.vstack([v for v in vectors if v.size]) if dim else np.zeros((0, 0), dtype=np.float32)
    return UnlabeledSpace(
        matrix, names, uris, ids, properties, unreadable, listed, {media.name: media for media, _ in parts}
    )
