"""The `taxospec todo` command (a built-in plugin)."""

from __future__ import annotations

from pathlib import Path

import click

from taxospec.commands.embedding_options import EmbeddingChoices, embedding_options, with_root_options
from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl

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
    deployment: tuple[str, ...],
    pool: str | None,
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
    ("Label these next"). Exit 0, or 2 for bad input.
    """
    import sys

    from taxospec.api import todo as build
    from taxospec.render.todo import render_todo_csv, render_todo_json, render_todo_markdown
    from taxospec.spec import load_spec

    fmt = fmt or (_BY_SUFFIX.get(output.suffix.lower(), "markdown") if output else "markdown")
    media = embedding.sources(export.parent)
    result = build(
        embedding.spec_with_model(load_spec(spec_path)),
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
        deployment=list(deployment),
        pool=pool,
        pool_size=pool_size,
    )
    text = {"markdown": render_todo_markdown, "csv": render_todo_csv, "json": render_todo_json}[fmt](result)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output} ({len(result.items)} items)", err=True)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec todo`, with an option for each media root of the registered resolvers."""
    cli.add_command(with_root_options(todo_command))
