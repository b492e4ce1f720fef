"""The `taxospec embed` command (a built-in plugin): fill the embedding cache, on this machine or on a Ray
cluster, so that a later `taxospec check` reads every vector from it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from taxospec.commands.embedding_options import EmbeddingChoices, embedding_options, with_root_options
from taxospec.commands.ray_options import ray_options
from taxospec.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from taxospec.dataset import Dataset
    from taxospec.embeddings.ray_run import RaySettings
    from taxospec.media.sources import MediaSources


@click.command(name="embed")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.argument("export", metavar="EXPORT", type=click.Path(path_type=Path))
@click.option("--config", type=click.Path(path_type=Path), help="The project's labeling config (XML).")
@embedding_options
@ray_options
def embed_command(
    spec_path: Path,
    export: Path,
    config: Path | None,
    embedding: EmbeddingChoices,
    ray: RaySettings | None,
) -> None:
    """Embed every example of EXPORT with the spec's model into the cache, and say how it went.

    Without --ray it runs here (as `taxospec check` would); with --ray ADDRESS, Ray Data reads and decodes
    the media in CPU tasks and encoder actors (--encoders, --gpus-per-encoder) encode them, writing into the
    same content-addressed cache (--cache-dir, on storage every node sees): a later `taxospec check` with
    that cache encodes nothing. Nothing the cache holds is encoded again. Exit 0, or 2 for bad input (an
    unreachable cluster among it).
    """
    from taxospec.api import read_export
    from taxospec.errors import OptionError
    from taxospec.media.sources import is_inline
    from taxospec.spec import load_spec

    spec = embedding.spec_with_model(load_spec(spec_path))
    media = embedding.sources(export.parent)
    dataset = read_export(spec, export, config)
    if not media.any and not any(is_inline(uri) for uri in dataset.items.media):
        raise OptionError(
            "nothing to embed from: say where the media is (--media-root, --ls-document-root, --ls-media-root, "
            "--media-map or --allow-http)"
        )
    if ray is None:
        _here(dataset, media, embedding)
        return
    from taxospec.embeddings.ray_run import embed_on_ray

    done = embed_on_ray(dataset, media, ray, cache_dir=embedding.cache_dir, progress=sys.stderr.isatty())
    click.echo(done.line(ray.address))
    for issue in done.issues[:10]:
        click.echo(f"  task row {issue.task}: {issue.code}: {issue.message}", err=True)


def _here(dataset: Dataset, media: MediaSources, embedding: EmbeddingChoices) -> None:
    """The single-process stage (as `check` runs it)."""
    import time

    from taxospec.stages import build_embeddings

    started = time.monotonic()
    space = build_embeddings(
        dataset,
        media=media,
        cache_dir=embedding.cache_dir,
        device=embedding.device,
        batch_size=embedding.batch_size,
        progress=sys.stderr.isatty(),
    )
    seconds = time.monotonic() - started
    count = len(space.samples) if space is not None else 0
    issues = len(space.issues) if space is not None else 0
    click.echo(f"embedded here: {count} example(s) in the cache, {issues} task(s) unreadable; {seconds:.1f} s")


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec embed`, with an option for each media root of the registered resolvers."""
    cli.add_command(with_root_options(embed_command))
