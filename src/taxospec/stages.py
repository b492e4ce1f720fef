"""The stages every command shares: reading an export with the reader that accepts it, and the embedding
space of a dataset (given, precomputed, or computed with the spec's model through the cache)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from taxospec.checks.run import TaskLink
from taxospec.dataset import Dataset
from taxospec.embeddings.space import EmbeddingSpace, load_precomputed
from taxospec.errors import EmbeddingError, ExportError
from taxospec.media.sources import MediaSources, is_inline
from taxospec.plugins.interfaces import ExportReader, LinksTasks
from taxospec.plugins.registry import embedders, export_readers
from taxospec.spec.model import Spec

if TYPE_CHECKING:
    from taxospec.embeddings.ray_run import RaySettings


def reader_for(export: str | Path) -> ExportReader:
    """The first registered reader that accepts `export`; `ExportError` with the first one's reason when
    none does."""
    reasons = []
    for reader in export_readers():
        reason = reader.sniff(Path(export))
        if reason is None:
            return reader
        reasons.append(reason)
    raise ExportError(reasons[0] if reasons else f"{export}: no export reader is installed")


def read_export(spec: Spec, export: str | Path, config: object | None = None) -> Dataset:
    """Read `export` against `spec` with the first registered reader that accepts it; `config` is the
    project's labeling configuration in the reader's terms (for Label Studio: the XML's path, or parsed)."""
    return reader_for(export).read(Path(export), spec, config)


def task_links(export: str | Path, base_url: str | None) -> TaskLink | None:
    """How findings link to their tasks under `base_url` (the labeling tool's URL), when the export's
    reader can say."""
    reader = reader_for(export)
    if not base_url or not isinstance(reader, LinksTasks):
        return None
    return functools.partial(reader.task_link, base_url)


def build_embeddings(
    dataset: Dataset,
    *,
    embeddings: EmbeddingSpace | str | Path | None = None,
    media: MediaSources | None = None,
    embed: bool = True,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
    cluster: RaySettings | None = None,
) -> EmbeddingSpace | None:
    """The embedding space for `dataset`: given, loaded from a precomputed file, computed, or None. With
    `cluster`, what the cache lacks is first embedded on that Ray cluster (into the cache under
    `cache_dir`, which its nodes must see); the space is then read from the cache."""
    spec = dataset.spec
    if not embed or not spec.embedding.enabled:
        return None
    if isinstance(embeddings, EmbeddingSpace):
        return embeddings
    if embeddings is not None:
        task_ids = np.asarray(dataset.items.task_id, dtype=np.int64)[dataset.columns.task]
        space = load_precomputed(embeddings, task_ids, dataset.samples.region_id)
        space.search_device = device
        return space
    inline = any(is_inline(uri) for uri in dataset.items.media)  # pictures that came inside the tasks
    if media is None and inline:
        media = MediaSources()
    if media is None or not (media.any or inline):
        return None
    if cluster is not None:
        from taxospec.embeddings.ray_run import embed_on_ray

        embed_on_ray(dataset, media, cluster, cache_dir=cache_dir, progress=progress)
    return _computed_space(dataset, media, cache_dir=cache_dir, device=device, batch_size=batch_size, progress=progress)


def _computed_space(
    dataset: Dataset,
    media: MediaSources,
    *,
    cache_dir: str | Path | None,
    device: str,
    batch_size: int,
    progress: bool,
) -> EmbeddingSpace:
    """The embedding space computed with the spec's embedder through the cache at `cache_dir` (a folder, the
    default one, or object storage mirrored for the run: `remote_cache.cache_root`)."""
    from taxospec.embeddings.remote_cache import cache_root

    with cache_root(cache_dir) as root:
        return _space_in(dataset, media, root, device=device, batch_size=batch_size, progress=progress)


def _space_in(
    dataset: Dataset,
    media: MediaSources,
    root: Path,
    *,
    device: str,
    batch_size: int,
    progress: bool,
) -> EmbeddingSpace:
    """The embedding space computed with the spec's embedder (loaded only when something needs encoding),
    with the perceptual hashes of the pictures, through the cache folder `root`; an unavailable space when
    only inlined pictures were to be embedded and the model does not load."""
    from taxospec.embeddings import picture_hashes
    from taxospec.embeddings.cache import EmbeddingCache
    from taxospec.embeddings.lazy import LazyEmbedder, ModelChanged, ModelRequest, lazy_embedder, loaded_embedder
    from taxospec.embeddings.pipeline import embed_dataset

    spec = dataset.spec
    factory = embedders().get(spec.embedding.backend)
    request = ModelRequest.of_spec(spec, device)

    def folder(model_id: str, preprocess_id: str) -> Path:
        return EmbeddingCache.folder_for(root, model_id, preprocess_id)

    try:
        embedder = lazy_embedder(factory, request, root, folder)
    except EmbeddingError as exc:
        if media.any:  # media the user pointed at: the model must load
            raise
        # pictures that came inside the tasks, unasked for: the embedding checks say why they skip
        return EmbeddingSpace.unavailable(f"the pictures inlined in the tasks were not embedded: {exc}")

    def run(embedder: LazyEmbedder) -> EmbeddingSpace:
        cache = EmbeddingCache(root, embedder.model_id, embedder.preprocess_id)
        return embed_dataset(dataset, embedder, media, cache=cache, batch_size=batch_size, progress=progress)

    try:
        space = run(embedder)
    except ModelChanged as changed:  # raised before anything was encoded: start over with the loaded model
        space = run(loaded_embedder(changed.loaded, root, folder, request.recipe(factory)))  # it cannot change
    hashes, properties = picture_hashes.wanted(dataset), picture_hashes.properties_wanted(dataset)
    if hashes or properties:
        found = picture_hashes.picture_facts(
            dataset, media, space.content_hashes, root, hashes=hashes, properties=properties
        )
        space.perceptual_hashes, space.picture_properties = found
    return space
