"""The deployment sample and the pool in a run: found, embedded through the shared embedding stage, and
measured (`taxospec check`'s deployment checks, `taxospec todo --pool`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from taxospec.checks.base import CheckContext, SkipCheck
from taxospec.deployment.embed import UnlabeledSpace
from taxospec.deployment.sources import SampleMedia
from taxospec.deployment.summary import DeploymentSummary
from taxospec.errors import OptionError
from taxospec.media.sources import MediaSources
from taxospec.spec.model import Spec
from taxospec.stages import build_embeddings, read_export
from taxospec.todo import TodoList


def load_deployment(
    spec: Spec,
    folders: list[str],
    media: MediaSources | None,
    *,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
) -> UnlabeledSpace | None:
    """The embedded deployment sample: the spec's `deployment` samples and `folders` (None when there are
    none); `media` says where an export sample's pictures are."""
    from taxospec.deployment.sources import samples_of, with_folders

    settings = with_folders(spec.deployment, folders)
    if settings is None:
        return None
    spec_dir = Path(spec.source.path).parent if spec.source and spec.source.path != "<spec>" else Path.cwd()
    samples = samples_of(settings, spec_dir, media, functools.partial(read_export, spec), pull_project)
    options = {"cache_dir": cache_dir, "device": device, "batch_size": batch_size, "progress": progress}
    space = embed_unlabeled(spec, samples, options)
    space.settings = settings
    return space


def pull_project(url: str, project: int, folder: Path) -> Path:
    """A live Label Studio project exported into `folder` (the token from $LABEL_STUDIO_API_KEY)."""
    from taxospec.plugins.labelstudio.client import connect, pull

    export = folder / f"project-{project}.json"
    pull(connect(url), project, export)
    return export


def embed_unlabeled(spec: Spec, samples: list[SampleMedia], options: dict[str, Any]) -> UnlabeledSpace:
    """Every picture of `samples` embedded with `spec`'s model (and measured), through the same pipeline
    and cache as the labeled data; `options` as `build_embeddings` takes them."""
    from taxospec.deployment.embed import joined, picture_dataset

    parts = []
    for media in samples:
        space = build_embeddings(picture_dataset(spec, media), media=media.media, **options)
        assert space is not None  # a sample always has a media source
        parts.append((media, space))
    return joined(parts)


def with_label_next(
    scored: CheckContext,
    listed: TodoList,
    pool: str,
    media: MediaSources | None,
    pool_size: int,
    options: dict[str, Any],
) -> TodoList:
    """`listed` with the pool's pictures to label first."""
    from taxospec.deployment.analysis import analysis_of
    from taxospec.deployment.label_next import label_next
    from taxospec.deployment.sources import pool_media

    spec = scored.spec
    pictures = embed_unlabeled(
        spec, [pool_media(pool, functools.partial(read_export, spec), media, 1_000_000)], options
    )
    try:
        found = analysis_of(scored) if scored.deployment is not None else None
    except SkipCheck:
        found = None
    try:
        picks = label_next(scored, pictures, listed.items, found, pool_size)
    except SkipCheck as skipped:
        raise OptionError(f"--pool: the labeled data could not be embedded ({skipped})") from None
    return listed.model_copy(update={"label_next": picks})


def deployment_summary(context: CheckContext) -> DeploymentSummary | None:
    """The report's deployment section, when the run had a deployment sample it could measure."""
    from taxospec.deployment.analysis import analysis_of
    from taxospec.deployment.summary import summarize

    if context.deployment is None:
        return None
    try:
        return summarize(analysis_of(context))
    except SkipCheck:
        return None
