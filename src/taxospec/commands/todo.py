"""The `taxospec todo` command (a built-in plugin)."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from taxospec.commands.embedding_options import EmbeddingChoices, embedding_options, with_root_options
from taxospec.commands.ray_options import ray_options, say_how_ray_runs_went
from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from taxospec.embeddings.ray_run import RaySettings
    from taxospec.media.sources import MediaSources
    from taxospec.spec.model import Spec
    from taxospec.todo import TodoList

_BY_SUFFIX = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown"}


@click.command(name="todo")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.argument("export", metavar="EXPORT", type=click.Path(path_type=Path))
@click.option("--config", type=click.Path(path_type=Path), help="The project's labeling config (XML).")
@click.option("--split", help="Only this split's gaps, with quotas scaled to its size (default: all splits).")
@click.option("--budget", type=click.IntRange(min=0), help="Spread this many captures where they raise coverage most.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "csv", "json"]),
    help="Output format (default: markdown, or from -o).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the list to this file.")
@embedding_options
@ray_options
@click.option(
    "--deployment",
    multiple=True,
    metavar="FOLDER",
    help="A folder or glob of deployment pictures (repeatable; beside the spec's `deployment` samples): its "
    "uncovered scenarios become items.",
)
@click.option(
    "--pool",
    metavar="FOLDER|EXPORT",
    help="Unlabeled pictures (a folder, a glob, or a Label Studio export whose unannotated tasks are the pool) "
    "to rank: which to label next.",
)
@click.option(
    "--url",
    help="Label Studio URL: with --project, the project's unannotated tasks are the pool, and the picks are put "
    "first there (a Data Manager tab, 'taxospec: label next').",
)
@click.option("--project", type=int, help="The Label Studio project whose unannotated tasks are the pool.")
@click.option("--api-key", help="Label Studio token for --url; default: $LABEL_STUDIO_API_KEY.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of taxospec's state and locks (as for `check --write-back`).",
)
@click.option(
    "--pool-size",
    type=click.IntRange(min=1, max=100_000),
    default=50,
    show_default=True,
    help="How many pool pictures to list.",
)
def todo_command(
    spec_path: Path,
    export: Path,
    config: Path | None,
    split: str | None,
    budget: int | None,
    fmt: str | None,
    output: Path | None,
    embedding: EmbeddingChoices,
    ray: RaySettings | None,
    deployment: tuple[str, ...],
    pool: str | None,
    url: str | None,
    project: int | None,
    api_key: str | None,
    state_dir: Path | None,
    pool_size: int,
) -> None:
    """Write the collection to-do list: which scenarios are missing, and how many more to capture.

    Every class short of its minimum, every axis value and combination cell under its quota, every
    hard-negative shortfall and every condition that training has and validation lacks becomes an item
    with a capture instruction, ranked (missing before thin, larger gaps first). With the media (the same
    options as `taxospec check`) or --embeddings, every scenario no example of a class looks like in
    embedding space (scenario-gap, with the spec's model) is an item too. --budget N says where N captures
    raise coverage most, and what coverage they buy. With the media and a deployment sample (the spec's
    `deployment`, or --deployment FOLDER), each scenario of the deployment no labeled example is like is an
    item, with pictures of it. --pool ranks unlabeled pictures by how much of the list labeling each fills
    ("Label these next"); with --url and --project instead, the project's unannotated tasks are the pool and
    the picks are put first in Label Studio (a `taxospec-label-next` prediction scored by rank, and the Data
    Manager tab "taxospec: label next"). With --ray ADDRESS, what the cache lacks of the labeled data's
    media is embedded on that Ray cluster first (as `taxospec embed --ray` does). Exit 0, or 2 for bad input.
    """
    from taxospec.render.todo import render_todo_csv, render_todo_json, render_todo_markdown
    from taxospec.spec import load_spec

    fmt = fmt or (_BY_SUFFIX.get(output.suffix.lower(), "markdown") if output else "markdown")
    media = embedding.sources(export.parent)
    live = LiveProject.given(url, project, api_key, pool)
    if ray is not None:
        say_how_ray_runs_went()

    listed = functools.partial(
        _listed, load_spec(spec_path), export, config, split, budget, embedding, ray, media, list(deployment), pool_size
    )
    result = live.run(listed, state_dir) if live is not None else listed(pool)
    text = {"markdown": render_todo_markdown, "csv": render_todo_csv, "json": render_todo_json}[fmt](result)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output} ({len(result.items)} items)", err=True)


def _listed(
    spec: Spec,
    export: Path,
    config: Path | None,
    split: str | None,
    budget: int | None,
    embedding: EmbeddingChoices,
    ray: RaySettings | None,
    media: MediaSources,
    deployment: list[str],
    pool_size: int,
    pool: str | None,
) -> TodoList:
    """The to-do list (`taxospec.api.todo`) with the command's options, for the pool at `pool`."""
    import sys

    from taxospec.api import todo as build

    return build(
        embedding.spec_with_model(spec),
        export,
        config=config,
        split=split,
        budget=budget,
        embeddings=embedding.embeddings,
        media=media if media.any else None,
        cache_dir=embedding.cache_dir,
        device=embedding.device,
        batch_size=embedding.batch_size,
        progress=sys.stderr.isatty(),
        deployment=deployment,
        pool=pool,
        pool_size=pool_size,
        cluster=ray,
    )


@dataclass(frozen=True)
class LiveProject:
    """A Label Studio project whose unannotated tasks are the pool, and where the picks are put first."""

    url: str
    project: int
    api_key: str | None

    @classmethod
    def given(cls, url: str | None, project: int | None, api_key: str | None, pool: str | None) -> LiveProject | None:
        """The project named by --url and --project (None without them); a usage error for half of it, or
        with --pool too."""
        if url is None and project is None:
            return None
        if url is None or project is None or pool is not None:
            raise click.UsageError("the live pool takes --url and --project together, and no --pool")
        return cls(url, project, api_key)

    def run(self, listed: Callable[[str | None], TodoList], state: Path | None) -> TodoList:
        """Pull the project, rank its unannotated tasks with `listed`, and put the picks first."""
        from taxospec.plugins.labelstudio.client import connect
        from taxospec.plugins.labelstudio.label_next import pull_pool, put_first
        from taxospec.plugins.labelstudio.locks import project_lock, state_dir

        client = connect(self.url, self.api_key)
        with tempfile.TemporaryDirectory(prefix="taxospec-pool-") as folder:
            result = listed(str(pull_pool(client, self.project, Path(folder))))
        with project_lock(state_dir(state), self.url, self.project):
            written, cleared = put_first(client, self.project, result.label_next or [])
        click.echo(
            f"put {written} task(s) first in project {self.project} (tab 'taxospec: label next'), cleared {cleared}",
            err=True,
        )
        return result


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec todo`, with an option for each media root of the registered resolvers."""
    cli.add_command(with_root_options(todo_command))
