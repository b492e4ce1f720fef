"""`taxospec embed --ray`: the driver's side of the embedding stage on a Ray cluster — plan what the cache
lacks, run it (`ray_stage`), remember what was read, merge the cache's batch files."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from taxospec.dataset import Dataset, ReadIssue
from taxospec.embeddings.cache import EmbeddingCache
from taxospec.embeddings.lazy import ModelRequest, lazy_embedder
from taxospec.embeddings.ray_stage import RayOutcome, RayPlan, Remember, collect, connect, plan_rows, run_on_ray
from taxospec.embeddings.remote_cache import RemoteCache, location, mirrored
from taxospec.errors import EmbeddingError
from taxospec.media.sources import MediaSources
from taxospec.plugins.interfaces import SplitsPreprocessing
from taxospec.plugins.registry import embedders

log = logging.getLogger(__name__)
"""Says at INFO how each run went (`taxospec check --ray` prints it)."""


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide to run."""

    address: str
    """`host:port` of a running cluster, `ray://host:port` (Ray client), `auto`, or `local`."""
    encoders: int = 1
    """Encoder actors (each holds the model: one per GPU)."""
    gpus_per_encoder: float = 0.0
    """GPUs each encoder takes (0: CPU encoders)."""
    batch_size: int = 32


@dataclass(frozen=True)
class EmbedSummary:
    """What a run did."""

    tasks: int
    read: int
    """Tasks whose media was read (the rest were known unchanged with every vector cached)."""
    written: int
    """Vectors encoded and written."""
    issues: list[ReadIssue]
    seconds: float

    def line(self, address: str) -> str:
        """The run in one line, as `taxospec embed` and `taxospec check --ray` print it."""
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        return (
            f"embedded on Ray at {address}: {self.tasks} task(s), {self.read} read ({rate:.1f}/s), "
            f"{self.written} vector(s) written, {len(self.issues)} task(s) unreadable; {self.seconds:.1f} s"
        )


def embed_on_ray(
    dataset: Dataset,
    media: MediaSources,
    settings: RaySettings,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> EmbedSummary:
    """Embed `dataset` on the Ray cluster of `settings` into the cache under `cache_dir` (a folder every
    node sees, or object storage: `remote_cache`)."""
    from taxospec.embeddings.ray_stage import reachable

    reachable(settings.address)  # before the model is loaded: a wrong address costs a second, not a minute
    found = location(cache_dir)
    if not isinstance(found, str):
        return _embed(dataset, media, settings, found, None, progress)
    with mirrored(found) as remote:
        return _embed(dataset, media, settings, remote.mirror, remote, progress)


def _embed(
    dataset: Dataset,
    media: MediaSources,
    settings: RaySettings,
    root: Path,
    remote: RemoteCache | None,
    progress: bool,
) -> EmbedSummary:
    """The run, into the cache folder `root` (the mirror of `remote`, where the encoders write instead)."""
    from taxospec.embeddings.progress import progress_bar

    started = time.monotonic()
    spec = dataset.spec
    factory = embedders().get(spec.embedding.backend)
    request = ModelRequest.of_spec(spec, "cpu")
    embedder = lazy_embedder(factory, request, root, lambda m, p: EmbeddingCache.folder_for(root, m, p)).load_now()
    if not isinstance(embedder, SplitsPreprocessing) or embedder.pil_stage() is None:
        raise EmbeddingError(f"the {spec.embedding.backend} embedder cannot split its preprocessing, which --ray needs")
    cache = EmbeddingCache(root, embedder.model_id, embedder.preprocess_id)
    rows = plan_rows(dataset, cache, media)
    outcome = RayOutcome()
    if rows.num_rows:
        connect(settings.address)
        folder = remote.folder(cache.folder) if remote is not None else str(cache.folder)
        video = spec.media == "video"
        plan = RayPlan(request, spec.embedding.backend, folder, embedder.pil_stage(), video, media)
        run = run_on_ray(
            rows,
            plan,
            batch_size=settings.batch_size,
            encoders=settings.encoders,
            gpus_per_encoder=settings.gpus_per_encoder,
        )
        with progress_bar(progress, rows.num_rows) as advance:
            collect(run, outcome, advance, Remember(cache, dataset, media))
        if remote is not None:
            remote.pull()  # the encoders' batch files
        cache.memo.save()
        EmbeddingCache(root, embedder.model_id, embedder.preprocess_id).compact()
    tasks = len(np.unique(dataset.columns.task))  # (not a set of Python ints: tens of millions of them)
    summary = EmbedSummary(tasks, rows.num_rows, outcome.written, outcome.issues, time.monotonic() - started)
    log.info(summary.line(settings.address))
    return summary
