"""The `taxospec check` command (a built-in plugin); check sources (`taxospec_check_sources`) add their
options to it, e.g. the Label Studio plugin's live project."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from taxospec.commands.embedding_options import EmbeddingChoices, embedding_options, with_root_options
from taxospec.commands.ray_options import ray_options, say_how_ray_runs_went
from taxospec.errors import EXIT_OK
from taxospec.findings import Severity
from taxospec.output import write_pieces_atomic
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import CheckInput
from taxospec.terminal import stdout_console

if TYPE_CHECKING:
    from taxospec.embeddings.ray_run import RaySettings
    from taxospec.media import MediaSources
    from taxospec.render.formats import RenderOptions
    from taxospec.report import Report
    from taxospec.spec.model import Spec

FORMATS = ("terminal", "json", "markdown", "junit", "html")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ReportChoices:
    """What the report options said: where the report goes and in which format, what fails the run."""

    fmt: str | None
    output: Path | None
    scores_path: Path | None
    fail_on: str
    per_code: int
    no_thumbnails: bool
    pictures: int
    explore: bool

    def resolved_format(self) -> str:
        """The format to write: the one named, else the output file's, else the terminal."""
        from taxospec.render.formats import format_for

        fmt = self.fmt or (format_for(self.output.suffix) if self.output else "terminal")
        if fmt == "terminal" and self.output is not None:
            raise click.UsageError("the terminal format prints to the screen; use --format json|markdown|junit with -o")
        return fmt


_REPORT_OPTIONS = [
    click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: terminal, or from -o)."),
    click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report to this file."),
    click.option(
        "--scores",
        "scores_path",
        type=click.Path(path_type=Path),
        help="Also write the per-example scores (label quality, outlier, uniqueness, duplicate) to this CSV file.",
    ),
    click.option(
        "--fail-on",
        type=click.Choice([s.value for s in Severity]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding is at or above this severity.",
    ),
    click.option(
        "--per-code",
        type=click.IntRange(min=0),
        default=5,
        show_default=True,
        help="Findings shown per code in the terminal.",
    ),
    click.option(
        "--no-thumbnails", is_flag=True, help="HTML: leave out every picture (of flagged tasks and in the explorer)."
    ),
    click.option(
        "--pictures",
        type=click.IntRange(min=0),
        default=2000,
        show_default=True,
        help="HTML: pictures in the explorer at most (flagged tasks first, the rest spread over the dataset; "
        "about 3 kB each).",
    ),
    click.option(
        "--explore",
        is_flag=True,
        help="Put every example and the embedding map (with each example's neighbours) in the report, as the "
        "HTML report always does (for --format json).",
    ),
]


def report_options(command: F) -> F:
    """Add the report options (--format, -o, --scores, --fail-on, --per-code, --no-thumbnails, --pictures,
    --explore) to a command, which receives them as one `report: ReportChoices` argument."""

    @functools.wraps(command)
    def gathered(*args: Any, **kwargs: Any) -> Any:
        choices = ReportChoices(**{f.name: kwargs.pop(f.name) for f in fields(ReportChoices)})
        return command(*args, report=choices, **kwargs)

    for option in reversed(_REPORT_OPTIONS):
        gathered = option(gathered)
    return gathered  # type: ignore[return-value]


@click.command(name="check")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path), required=False)
@click.argument("export", metavar="EXPORT", type=click.Path(path_type=Path), required=False)
@click.option("--config", "config", type=click.Path(path_type=Path), help="The project's labeling config (XML).")
@report_options
@click.option("--select", multiple=True, metavar="CODE", help="Run only these checks (repeatable).")
@click.option("--list-checks", is_flag=True, help="List every check with its family and severity, and exit.")
@embedding_options
@ray_options
@click.option("--no-embeddings", is_flag=True, help="Skip the embedding checks.")
@click.option(
    "--deployment",
    multiple=True,
    metavar="FOLDER",
    help="A folder or glob of deployment pictures to measure the data against (repeatable; beside the "
    "spec's `deployment` samples).",
)
@click.pass_context
def check_command(
    ctx: click.Context,
    /,
    spec_path: Path | None,
    export: Path | None,
    config: Path | None,
    report: ReportChoices,
    select: tuple[str, ...],
    list_checks: bool,
    embedding: EmbeddingChoices,
    ray: RaySettings | None,
    no_embeddings: bool,
    deployment: tuple[str, ...],
    **source_values: Any,
) -> None:
    """Check a Label Studio export against the spec and report everything that breaks it.

    EXPORT is a Label Studio JSON or JSON_MIN export (optionally .gz); or, with --url and --project, a live
    project is exported, read with its own labeling config and checked, with links to its tasks.
    Prints a summary and the top findings per check, a coverage summary and the top to-do items;
    --format json|markdown|junit|html (or -o FILE.json|.md|.xml|.html) writes the full report (HTML: one
    self-contained page with charts, coverage heatmaps, the to-do list, and a picture of each flagged
    task when the media can be read).
    The embedding checks (CLIP with the spec's model) run when media can be read (--media-root,
    --ls-document-root, --ls-media-root, --allow-http, --media-map) or embeddings are given (--embeddings).
    With --ray ADDRESS, what the cache lacks is embedded on that Ray cluster first (as `taxospec embed
    --ray` does), and the check reads every vector from the cache.
    With a deployment sample (the spec's `deployment` section, or --deployment FOLDER), the deployment
    checks say how much of it the data covers, which scenarios it lacks, and how its pictures differ.
    Exit 0 when no finding reaches --fail-on (default: error), 1 when one does, 2 for bad input.
    """
    from taxospec.plugins.registry import checks
    from taxospec.spec import load_spec
    from taxospec.spec.lint import refuse_lint_errors

    if list_checks:
        _list_checks(spec_path)
        ctx.exit(EXIT_OK)
    if spec_path is None:
        raise click.UsageError(NO_INPUT)
    _refuse_mixes(report, embedding, ray, no_embeddings)
    for code in select:
        checks().get(code)
    spec = refuse_lint_errors(embedding.spec_with_model(load_spec(spec_path)))
    fmt = report.resolved_format()
    given = CheckInput(export, config)
    explore = fmt == "html" or report.explore
    embed = EmbedRun(embedding, not no_embeddings, list(deployment), ray)
    result, media, after = _run(spec, given, source_values, embed, select, explore)
    for step in after:
        step(result)
    if report.scores_path is not None:
        _write_scores(result, report.scores_path)
    threshold = Severity(report.fail_on)
    options = _render_options(result, fmt, media, spec, report, threshold)
    _emit(result, fmt, report.output, per_code=report.per_code, options=options)
    ctx.exit(result.exit_code(threshold))


@dataclass(frozen=True)
class EmbedRun:
    """What the embedding stage is asked: the embedding options, whether to embed, deployment folders."""

    choices: EmbeddingChoices
    enabled: bool
    deployment: list[str]
    cluster: RaySettings | None = None
    """The Ray cluster to embed on first (--ray), or None to embed here."""


def _refuse_mixes(
    report: ReportChoices, embedding: EmbeddingChoices, ray: RaySettings | None, no_embeddings: bool
) -> None:
    """Refuse options that cannot go together; with --ray, print how the cluster's run went."""
    if report.scores_path is not None and no_embeddings:
        raise click.UsageError("--scores needs the embedding checks (it cannot go with --no-embeddings)")
    if ray is not None and (no_embeddings or embedding.embeddings is not None):
        raise click.UsageError("--ray embeds the media: it cannot go with --no-embeddings or --embeddings")
    if ray is not None:
        say_how_ray_runs_went()


NO_INPUT = "give a SPEC and an EXPORT, or SPEC --url URL --project ID (or --list-checks)"


def _run(
    spec: Spec,
    given: CheckInput,
    source_values: dict[str, Any],
    embed: EmbedRun,
    select: tuple[str, ...],
    explore: bool,
) -> tuple[Report, MediaSources, list[Callable[[Report], None]]]:
    """Let each check source amend the input (a live project pulled into a temporary folder), then check
    it (with what the HTML explorer shows, when `explore`): the report, the media sources it read from, and
    the steps to run on the report (write-back)."""
    from taxospec.api import check as run_check
    from taxospec.plugins.registry import check_sources

    with ExitStack() as stack:
        for source in check_sources():
            given = source.prepare(source_values, given, stack)
        if given.export is None:
            raise click.UsageError(NO_INPUT)
        embedding = embed.choices
        media = embedding.sources(given.export.parent)
        report = run_check(
            spec,
            given.export,
            config=given.config,
            ls_url=given.link_base,
            select=set(select) or None,
            embeddings=embedding.embeddings,
            media=media,
            embed=embed.enabled,
            cache_dir=embedding.cache_dir,
            device=embedding.device,
            batch_size=embedding.batch_size,
            progress=sys.stderr.isatty(),
            explore=explore,
            deployment=embed.deployment,
            cluster=embed.cluster,
        )
    return report, media, list(given.after)


def _list_checks(spec_path: Path | None) -> None:
    """Print every check with its family, severity, whether it is local (`taxospec serve` re-checks a saved
    task with it) and parameters (the spec's, when given)."""
    from taxospec.checks.params import describe_params
    from taxospec.plugins.registry import checks
    from taxospec.spec import load_spec

    defaults = load_spec(spec_path) if spec_path is not None else None
    for item in checks():
        scope = "local" if item.local else "dataset"
        click.echo(f"{item.name:34} {item.family:11} {item.severity.value:8} {scope:8} {item.summary}")
        shown = describe_params(item, defaults)
        if shown:
            click.echo(f"{'':34} params: {shown}")


def _render_options(
    report: Report, fmt: str, media: MediaSources, spec: Spec, choices: ReportChoices, fail_on: Severity
) -> RenderOptions:
    """What the format needs beside the report: for HTML, the pictures of flagged tasks and the explorer's,
    when the media can be read (none with --no-thumbnails)."""
    from taxospec.render.formats import RenderOptions

    if fmt != "html" or choices.no_thumbnails or not (media.any or report.has_inline_media):
        return RenderOptions(fail_on=fail_on)
    from taxospec.render.explorer_media import explorer_media
    from taxospec.render.html import HTML_PER_CODE
    from taxospec.render.thumbnails import deployment_pictures, thumbnails

    video = spec.media == "video"
    return RenderOptions(
        fail_on=fail_on,
        thumbnails=thumbnails(report, media, per_code=HTML_PER_CODE, video=video),
        explorer=explorer_media(report, media, video=video, limit=choices.pictures),
        deployment=deployment_pictures(report, media),
    )


def _emit(
    report: Report,
    fmt: str,
    output: Path | None,
    *,
    per_code: int,
    options: RenderOptions,
) -> None:
    """Print the report to the terminal, or render it in `fmt` to `output` (stdout when None)."""
    if fmt == "terminal":
        from taxospec.render.report_terminal import render_terminal

        render_terminal(report, stdout_console(width=None if sys.stdout.isatty() else 120), per_code=per_code)
        return
    from taxospec.render.formats import REPORT_FORMATS

    pieces = REPORT_FORMATS[fmt](report, options)
    if output is None:
        sys.stdout.flush()
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
    else:
        write_pieces_atomic(output, pieces)
        click.echo(f"wrote {output}", err=True)


def _write_scores(report: Any, path: Path) -> None:
    """The per-example table, or a line saying why there is none (no embeddings: nothing is written)."""
    from taxospec.render.report_files import examples_csv

    if report.scores is None:
        click.echo(f"no example scores, so {path} was not written: the run had no embeddings", err=True)
        return
    write_pieces_atomic(path, examples_csv(report.scores))
    click.echo(f"wrote {path} ({len(report.scores.examples)} examples)", err=True)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec check`, with the options of every check source and an option for each media root
    of the registered resolvers."""
    from taxospec.plugins.registry import check_sources

    command = with_root_options(check_command)
    command.params = [*command.params, *(option for source in check_sources() for option in source.options())]
    cli.add_command(command)
