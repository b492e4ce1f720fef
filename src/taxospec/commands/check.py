"""The `taxospec check` command (a built-in plugin)."""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from taxospec.commands.embedding_options import EmbeddingChoices, embedding_options
from taxospec.commands.labelstudio import write_targets_option
from taxospec.errors import EXIT_OK
from taxospec.findings import Severity
from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.labelstudio.config import LabelConfig, parse_label_config
from taxospec.terminal import stdout_console

if TYPE_CHECKING:
    pass

FORMATS = ("terminal", "json", "markdown", "junit", "html")
_BY_SUFFIX = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".xml": "junit",
    ".html": "html",
    ".htm": "html",
}


@click.command(name="check")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path), required=False)
@click.argument("export", metavar="EXPORT", type=click.Path(path_type=Path), required=False)
@click.option("--config", "config", type=click.Path(path_type=Path), help="The project's labeling config (XML).")
@click.option("--ls-url", help="Label Studio URL (e.g. http://localhost:8080), for links to tasks.")
@click.option("--url", help="Check a live project on this Label Studio (with --project) instead of an EXPORT.")
@click.option("--project", type=int, help="The live project to check (with --url).")
@click.option("--api-key", help="Label Studio token for --url; default: $LABEL_STUDIO_API_KEY.")
@click.option(
    "--write-back", is_flag=True, help="With --url: put each task's findings into the project (see --write-back-to)."
)
@write_targets_option("--write-back-to")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: terminal, or from -o).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report to this file.")
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(path_type=Path),
    help="Also write the per-example scores (label quality, outlier, uniqueness, duplicate) to this CSV file.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option(
    "--per-code",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Findings shown per code in the terminal.",
)
@click.option("--select", multiple=True, metavar="CODE", help="Run only these checks (repeatable).")
@click.option("--list-checks", is_flag=True, help="List every check with its family and severity, and exit.")
@embedding_options
@click.option("--no-embeddings", is_flag=True, help="Skip the embedding checks.")
@click.option(
    "--no-thumbnails", is_flag=True, help="HTML: leave out the pictures of flagged tasks (read from the media)."
)
@click.pass_context
def check_command(
    ctx: click.Context,
    spec_path: Path | None,
    export: Path | None,
    config: Path | None,
    ls_url: str | None,
    url: str | None,
    project: int | None,
    api_key: str | None,
    write_back: bool,
    write_back_to: str,
    fmt: str | None,
    output: Path | None,
    scores_path: Path | None,
    fail_on: str,
    per_code: int,
    select: tuple[str, ...],
    list_checks: bool,
    embedding: EmbeddingChoices,
    no_embeddings: bool,
    no_thumbnails: bool,
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
    Exit 0 when no finding reaches --fail-on (default: error), 1 when one does, 2 for bad input.
    """
    from taxospec.api import check as run_check
    from taxospec.plugins.registry import checks
    from taxospec.render.html import HTML_PER_CODE, render_html
    from taxospec.render.report_files import render_json, render_junit, render_markdown
    from taxospec.render.report_terminal import render_terminal
    from taxospec.spec import load_spec
    from taxospec.spec.lint import refuse_lint_errors

    if list_checks:
        from taxospec.checks.params import describe_params

        defaults = load_spec(spec_path) if spec_path is not None else None
        for item in checks():
            click.echo(f"{item.name:34} {item.family:11} {item.severity.value:8} {item.summary}")
            shown = describe_params(item, defaults)
            if shown:
                click.echo(f"{'':34} params: {shown}")
        ctx.exit(EXIT_OK)
    live = url is not None or project is not None
    if live and (url is None or project is None or export is not None):
        raise click.UsageError("a live check takes SPEC, --url and --project, and no EXPORT")
    if write_back and not live:
        raise click.UsageError("--write-back needs a live project (--url and --project)")
    if scores_path is not None and no_embeddings:
        raise click.UsageError("--scores needs the embedding checks (it cannot go with --no-embeddings)")
    if spec_path is None or (export is None and not live):
        raise click.UsageError("give a SPEC and an EXPORT, or SPEC --url URL --project ID (or --list-checks)")
    for code in select:
        checks().get(code)
    spec = refuse_lint_errors(embedding.spec_with_model(load_spec(spec_path)))
    fmt = fmt or (_BY_SUFFIX.get(output.suffix.lower(), "markdown") if output else "terminal")
    client: Any = None
    labels: LabelConfig | Path | None = config
    project_labels: LabelConfig | None = None  # the live project's own config, parsed once for both uses
    with ExitStack() as stack:
        if url is not None and project is not None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="taxospec-live-")))
            client, export, project_xml = _pull_live(url, project, api_key, folder)
            if config is None or write_back:
                project_labels = parse_label_config(project_xml, f"project {project}")
            labels = config if config is not None else project_labels
            ls_url = ls_url or url
        assert export is not None
        media = embedding.sources(export.parent)
        report = run_check(
            spec,
            export,
            config=labels,
            ls_url=ls_url,
            select=set(select) or None,
            embeddings=embedding.embeddings,
            media=media,
            embed=not no_embeddings,
            cache_dir=embedding.cache_dir,
            device=embedding.device,
            batch_size=embedding.batch_size,
            progress=sys.stderr.isatty(),
        )
    if write_back and url is not None and project is not None:
        from taxospec.plugins.labelstudio.writeback import TARGETS, destination
        from taxospec.plugins.labelstudio.writeback import write_back as put_findings

        where = destination(TARGETS[write_back_to], project_labels)
        done = put_findings(client, project, report.findings, where)
        click.echo(f"wrote findings to {done.written} task(s), cleared {done.cleared} in project {project}", err=True)
    if scores_path is not None:
        _write_scores(report, scores_path)
    threshold = Severity(fail_on)
    if fmt == "terminal":
        if output is not None:
            raise click.UsageError("the terminal format prints to the screen; use --format json|markdown|junit with -o")
        console = stdout_console(width=None if sys.stdout.isatty() else 120)
        render_terminal(report, console, per_code=per_code)
    else:
        renderers = {"json": render_json, "markdown": render_markdown}
        if fmt == "html":
            pictures = None
            if not no_thumbnails and (media.any or report.has_inline_media):
                from taxospec.render.thumbnails import thumbnails

                pictures = thumbnails(report, media, per_code=HTML_PER_CODE, video=spec.media == "video")
            text = render_html(report, per_code=HTML_PER_CODE, thumbnails=pictures)
        else:
            text = renderers.get(fmt, lambda r: render_junit(r, threshold))(report)
        if output is None:
            click.echo(text, nl=False)
        else:
            write_text_atomic(output, text)
            click.echo(f"wrote {output}", err=True)
    ctx.exit(report.exit_code(threshold))


def _write_scores(report: Any, path: Path) -> None:
    """The per-example table, or a line saying why there is none (no embeddings: nothing is written)."""
    from taxospec.score_tables import examples_csv

    if report.scores is None:
        click.echo(f"no example scores, so {path} was not written: the run had no embeddings", err=True)
        return
    write_text_atomic(path, examples_csv(report.scores))
    click.echo(f"wrote {path} ({len(report.scores.examples)} examples)", err=True)


def _pull_live(url: str, project: int, api_key: str | None, folder: Path) -> tuple[Any, Path, str]:
    """Export a live project into `folder`; returns the client, the export and the project's labeling config."""
    from taxospec.plugins.labelstudio.client import connect, project_config, pull

    client = connect(url, api_key)
    export = folder / f"project-{project}.json"
    pull(client, project, export)
    return client, export, project_config(client, project)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register `taxospec check`."""
    cli.add_command(check_command)
