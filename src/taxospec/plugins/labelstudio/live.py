"""`taxospec check` on a live Label Studio project (a check source): the project is exported, read with its
own labeling config and checked, with links to its tasks; with `--write-back`, each task's findings go
back into the project. `--ls-url` alone gives links to the tasks of an export file."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import CheckInput, CheckSource

if TYPE_CHECKING:
    from taxospec.report import Report

TARGET_CHOICES = ("both", "meta", "prediction")
TARGETS_HELP = "Where findings go: task meta (key taxospec), a prediction named taxospec, or both."


@dataclass(frozen=True)
class LiveProject:
    """A live project as a source of `taxospec check` (`--url`, `--project`, `--api-key`, `--write-back`,
    `--write-back-to`), and `--ls-url` for links."""

    name: str = "label-studio-live"

    def options(self) -> list[click.Option]:
        """The options it adds to `taxospec check`."""
        return [
            click.Option(["--ls-url"], help="Label Studio URL (e.g. http://localhost:8080), for links to tasks."),
            click.Option(
                ["--url"], help="Check a live project on this Label Studio (with --project) instead of an EXPORT."
            ),
            click.Option(["--project"], type=int, help="The live project to check (with --url)."),
            click.Option(["--api-key"], help="Label Studio token for --url; default: $LABEL_STUDIO_API_KEY."),
            click.Option(
                ["--write-back"],
                is_flag=True,
                help="With --url: put each task's findings into the project (see --write-back-to).",
            ),
            click.Option(
                ["--write-back-to"],
                type=click.Choice(TARGET_CHOICES),
                default="both",
                show_default=True,
                help=TARGETS_HELP,
            ),
            click.Option(
                ["--no-views"],
                is_flag=True,
                help="With --write-back: leave the Data Manager tabs alone (default: keep a tab per severity "
                "and per check with findings).",
            ),
            click.Option(
                ["--state-dir"],
                type=click.Path(file_okay=False, path_type=Path),
                help="Folder of taxospec's state and locks (default: $TAXOSPEC_STATE_DIR, else "
                "~/.local/state/taxospec); writers sharing it never write one task at once.",
            ),
        ]

    def prepare(self, values: Mapping[str, Any], given: CheckInput, stack: ExitStack) -> CheckInput:
        """The live project's export and config when `--url` and `--project` are given; links with
        `--ls-url`; else `given`."""
        url, project = values.get("url"), values.get("project")
        ls_url = values.get("ls_url")
        write_back = bool(values.get("write_back"))
        live = url is not None or project is not None
        if live and (url is None or project is None or given.export is not None):
            raise click.UsageError("a live check takes SPEC, --url and --project, and no EXPORT")
        if write_back and not live:
            raise click.UsageError("--write-back needs a live project (--url and --project)")
        if not live:
            return replace(given, link_base=ls_url) if ls_url else given
        assert url is not None and project is not None
        from taxospec.plugins.labelstudio.client import connect, project_config, pull
        from taxospec.plugins.labelstudio.config import parse_label_config

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="taxospec-live-")))
        client = connect(url, values.get("api_key"))
        export = folder / f"project-{project}.json"
        pull(client, project, export)
        project_xml = project_config(client, project)
        own = parse_label_config(project_xml, f"project {project}") if given.config is None or write_back else None
        after = given.after
        if write_back:
            writer = Writer(
                client,
                url,
                project,
                own,
                str(values.get("write_back_to") or "both"),
                views=not values.get("no_views"),
                state=values.get("state_dir"),
            )
            after = (*after, writer)
        config = given.config if given.config is not None else own
        return replace(given, export=export, config=config, link_base=ls_url or url, after=after)


@dataclass(frozen=True)
class Writer:
    """What puts a batch run's findings into the project (under the project's lock) and keeps its Data
    Manager tabs."""

    client: Any
    url: str
    project: int
    labels: Any
    target: str
    views: bool
    state: Path | None

    def __call__(self, report: Report) -> None:
        """Write `report`'s findings back."""
        from taxospec.plugins.labelstudio.locks import project_lock, state_dir
        from taxospec.plugins.labelstudio.task_findings import Run, by_task
        from taxospec.plugins.labelstudio.views import sync_views
        from taxospec.plugins.labelstudio.writeback import TARGETS, destination, write_back

        findings = by_task(report.findings, Run.now("batch"))
        where = destination(TARGETS[self.target], self.labels)
        with project_lock(state_dir(self.state), self.url, self.project):
            done = write_back(self.client, self.project, findings, where)
        click.echo(
            f"wrote findings to {done.written} task(s), cleared {done.cleared} in project {self.project}", err=True
        )
        if self.views and "prediction" in where.targets:
            found = {(f.code, f.severity) for items in findings.values() for f in items}
            created = sync_views(self.client, self.project, found, prune=True)
            if created:
                click.echo(f"added Data Manager tabs: {', '.join(created)}", err=True)


@hookimpl
def taxospec_check_sources() -> list[CheckSource]:
    """The live Label Studio project."""
    return [LiveProject()]
