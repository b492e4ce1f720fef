"""The Label Studio commands (a built-in plugin): `taxospec config`, `push`, `pull` and `serve`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.labelstudio.live import TARGET_CHOICES, TARGETS_HELP
from taxospec.plugins.labelstudio.serve import SECRET_HEADER


@click.command(name="config")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the labeling config (XML) here.")
@click.option("--instructions", type=click.Path(path_type=Path), help="Also write the labeling instructions (HTML).")
@click.option(
    "--plugin",
    type=click.Path(path_type=Path),
    help="Also write the Label Studio Enterprise plugin (JavaScript) that blocks Submit on spec violations.",
)
@click.option("--no-validate", is_flag=True, help="Skip Label Studio's own validation of the config.")
def config_command(
    spec_path: Path, output: Path | None, instructions: Path | None, plugin: Path | None, no_validate: bool
) -> None:
    """Write the Label Studio labeling config for a spec (and, with --instructions, the labeling instructions).

    The class control fits the spec's unit (Choices for whole images, RectangleLabels for boxes,
    TimelineLabels for segments, VideoRectangle with Labels for tracks) and lists every class with its
    description as a hint; every axis is one required single Choices (per region where its scope is region).
    The config is validated with label-studio-sdk, and `taxospec check` reads every result it can produce.
    --plugin writes a script for Label Studio Enterprise's plugins (Community editions cannot load it) that
    blocks Submit when a required axis is missing or a segment breaks the temporal bounds.
    """
    from taxospec.plugins.labelstudio.generate import instructions as make_instructions
    from taxospec.plugins.labelstudio.generate import label_config, validate_config
    from taxospec.spec import load_spec
    from taxospec.spec.lint import refuse_lint_errors

    spec = refuse_lint_errors(load_spec(spec_path))
    xml = label_config(spec)
    if not no_validate:
        validate_config(xml)
    if output is None:
        click.echo(xml, nl=False)
    else:
        write_text_atomic(output, xml)
        click.echo(f"wrote {output}", err=True)
    if instructions is not None:
        write_text_atomic(instructions, make_instructions(spec))
        click.echo(f"wrote {instructions}", err=True)
    if plugin is not None:
        from taxospec.plugins.labelstudio.generate import plugin_script

        write_text_atomic(plugin, plugin_script(spec))
        click.echo(f"wrote {plugin} (Label Studio Enterprise only)", err=True)


URL = click.option("--url", required=True, help="Label Studio URL, e.g. http://localhost:8080.")
API_KEY = click.option(
    "--api-key", help="Label Studio token (legacy or personal access token); default: $LABEL_STUDIO_API_KEY."
)


def write_targets_option(flag: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The option that says where findings are written back (`--write-back-to`, `--write-to`)."""
    return click.option(flag, type=click.Choice(TARGET_CHOICES), default="both", show_default=True, help=TARGETS_HELP)


@click.command(name="push")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@URL
@API_KEY
@click.option("--project", type=int, help="Update this project.")
@click.option("--title", help="Update the project with this title, or create it (default title: the spec's name).")
@click.option("--force", is_flag=True, help="Push even when existing annotations use controls or labels it drops.")
def push_command(
    spec_path: Path, url: str, api_key: str | None, project: int | None, title: str | None, force: bool
) -> None:
    """Create or update a Label Studio project's labeling config and instructions from a spec.

    With --project (or --title of an existing project) the project is updated; a change that would orphan
    existing annotations (a control or label they use is gone) is refused, naming them, unless --force.
    Without either, a project is created. Exit 0, or 2 when Label Studio cannot be reached, refuses the
    token, has no such project, or the change is refused.
    """
    from taxospec.plugins.labelstudio.client import connect, push
    from taxospec.spec import load_spec
    from taxospec.spec.lint import refuse_lint_errors

    spec = refuse_lint_errors(load_spec(spec_path))
    result = push(connect(url, api_key), spec, project=project, title=title, force=force)
    verb = "created" if result.created else "updated"
    click.echo(f"{verb} project {result.project}: {url.rstrip('/')}/projects/{result.project}/data")


@click.command(name="pull")
@URL
@API_KEY
@click.option("--project", type=int, required=True, help="The project to export.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Where to write the export.")
@click.option("--interpolate", is_flag=True, help="Interpolate video keyframes into every frame.")
def pull_command(url: str, api_key: str | None, project: int, output: Path, interpolate: bool) -> None:
    """Take a snapshot JSON export of a Label Studio project and write it (atomically) to a file.

    Predictions, drafts and annotators come expanded; --interpolate turns video keyframes into frames.
    Exit 0, or 2 when Label Studio cannot be reached, refuses the token or has no such project.
    """
    from taxospec.plugins.labelstudio.client import connect, pull

    size = pull(connect(url, api_key), project, output, interpolate=interpolate)
    click.echo(f"wrote {output} ({size:,} bytes)", err=True)


@click.command(name="serve")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--ls-url", required=True, help="Label Studio URL, e.g. http://localhost:8080.")
@API_KEY
@click.option("--project", type=int, required=True, help="The project whose annotations are checked.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), required=True, help="Port to listen on.")
@click.option(
    "--secret",
    envvar="TAXOSPEC_WEBHOOK_SECRET",
    required=True,
    help=f"Shared secret Label Studio sends in the {SECRET_HEADER} header; default: $TAXOSPEC_WEBHOOK_SECRET.",
)
@click.option("--register", is_flag=True, help="Create the project's webhook pointing here first.")
@click.option("--public-url", help="The URL Label Studio reaches this server at (default: http://HOST:PORT/).")
@write_targets_option("--write-to")
def serve_command(
    spec_path: Path,
    ls_url: str,
    api_key: str | None,
    project: int,
    host: str,
    port: int,
    secret: str,
    register: bool,
    public_url: str | None,
    write_to: str,
) -> None:
    """Check each annotation as it is saved: a webhook receiver that writes findings back into the task.

    On ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_CREATED and ANNOTATIONS_DELETED it answers at
    once (202) and checks the task behind a bounded queue, then puts the task's findings in its meta under
    `taxospec` and in a prediction named taxospec (--write-to), or removes them when fixed. PROJECT_UPDATED
    refreshes the labeling config. Requests without the shared secret, malformed or oversized ones and ones
    for another project are refused (4xx). --register creates the webhook on the project. Stop with Ctrl-C.
    """
    from taxospec.plugins.labelstudio.client import connect, project_config
    from taxospec.plugins.labelstudio.serve import Receiver, start
    from taxospec.plugins.labelstudio.serve import register as register_webhook
    from taxospec.plugins.labelstudio.writeback import TARGETS
    from taxospec.spec import load_spec

    if len(secret.strip()) < 8:
        raise click.BadParameter("use a secret of at least 8 characters", param_hint="--secret")
    spec = load_spec(spec_path)
    client = connect(ls_url, api_key)
    xml = project_config(client, project)
    receiver = Receiver(spec, client, project, xml, secret, ls_url=ls_url, targets=TARGETS[write_to])
    receiver.config  # noqa: B018 - a config that does not parse stops serve here, before it listens
    server = start(receiver, host, port)
    if register:
        hook = register_webhook(client, project, public_url or f"http://{host}:{server.server_port}/", secret)
        click.echo(f"registered webhook {hook} on project {project}", err=True)
    click.echo(f"listening on http://{host}:{server.server_port}/ for project {project}", err=True)
    _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (docker stop, systemd) stop the server cleanly, even where the parent process left
    SIGINT ignored (a shell's background job), which would otherwise leave it deaf to Ctrl-C."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register the Label Studio commands."""
    for command in (config_command, push_command, pull_command, serve_command):
        cli.add_command(command)
