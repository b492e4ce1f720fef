"""The Label Studio commands (a built-in plugin): `taxospec config`, `push`, `pull` and `serve`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.labelstudio.client import TOKEN_VARIABLE
from taxospec.plugins.labelstudio.live import TARGET_CHOICES, TARGETS_HELP
from taxospec.plugins.labelstudio.receiver import SECRET_HEADER


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
    help=f"Shared secret: Label Studio sends it in the {SECRET_HEADER} header of taxospec's webhook, and as the "
    "Basic authentication password of the ML backend; default: $TAXOSPEC_WEBHOOK_SECRET.",
)
@click.option("--register", is_flag=True, help="Point the project's webhook here first (updated if it is there).")
@click.option("--unregister", is_flag=True, help="Remove the project's webhook pointing here, and exit.")
@click.option("--public-url", help="The URL Label Studio reaches this server at (default: http://HOST:PORT/).")
@write_targets_option("--write-to")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the queue of events, the catch-up mark and the write locks (default: $TAXOSPEC_STATE_DIR, "
    "else ~/.local/state/taxospec).",
)
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True, help="Tasks checked at once.")
def serve_command(
    spec_path: Path,
    ls_url: str,
    api_key: str | None,
    project: int,
    host: str,
    port: int,
    secret: str,
    register: bool,
    unregister: bool,
    public_url: str | None,
    write_to: str,
    state_dir: Path | None,
    workers: int,
) -> None:
    """Check each annotation as it is saved: a webhook receiver and a Label Studio ML backend in one.

    Connect it either way (or both): --register points a project webhook here (with the secret in its
    header), or add it in the project's Settings → Model as an ML backend at this URL with Basic
    authentication (any user, the secret as password); then opening a task asks it for the task's
    findings, and saving an annotation re-checks the task. Events are stored on disk before they are
    answered, coalesced per task, and checked by --workers threads; while Label Studio is unreachable they
    wait, and at start the tasks changed while the server was stopped are checked. Each task's findings
    (its own, merged with what the last `check --write-back` found across the dataset) go into its meta
    under `taxospec` and into a prediction named taxospec that draws them on the regions (--write-to).
    Requests without the secret, malformed or oversized ones, ids out of range and other projects' events
    are refused (4xx). --unregister removes the webhook and exits. Stop with Ctrl-C.
    """
    from taxospec.plugins.labelstudio.client import connect
    from taxospec.plugins.labelstudio.locks import state_dir as state_folder
    from taxospec.plugins.labelstudio.serve import unregister as unregister_webhook

    if len(secret.strip()) < 8:
        raise click.BadParameter("use a secret of at least 8 characters", param_hint="--secret")
    if register and unregister:
        raise click.UsageError("--register and --unregister do not go together")
    client = connect(ls_url, api_key)
    if unregister:
        hook_url = public_url or f"http://{host}:{port}/"
        removed = unregister_webhook(client, project, hook_url)
        click.echo(f"removed {removed} webhook(s) pointing at {hook_url} from project {project}", err=True)
        return
    folder = state_folder(state_dir)
    service = _service(spec_path, client, ls_url, project, folder, write_to)
    _log_to_stderr([secret, api_key or os.environ.get(TOKEN_VARIABLE, "")])
    _serve(service, secret, (host, port), workers, public_url, register)


def _serve(
    service: Any, secret: str, address: tuple[str, int], workers: int, public_url: str | None, register: bool
) -> None:
    """Listen (registering the webhook first when asked) until Ctrl-C or SIGTERM."""
    from taxospec.plugins.labelstudio.locks import only_one, project_key
    from taxospec.plugins.labelstudio.serve import register as register_webhook
    from taxospec.plugins.labelstudio.serve import start, stop

    host, port = address
    state = service.state_dir / f"{project_key(service.url, service.project)}.sqlite3"
    held = only_one(state.with_suffix(".serve.lock"))
    server, threads = start(service, secret, host, port, workers)
    here = f"http://{host}:{server.server_port}/"
    if register:
        hook, created = register_webhook(service.client, service.project, public_url or here, secret)
        click.echo(f"{'registered' if created else 'updated'} webhook {hook} on project {service.project}", err=True)
    click.echo(f"listening on {here} for project {service.project} (state: {state})", err=True)
    _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop(service, server, threads)
        del held


def _service(spec_path: Path, client: Any, ls_url: str, project: int, folder: Path, write_to: str) -> Any:
    """The receiver's service for `project`, its config parsed (a config that does not parse stops serve
    here, before it listens)."""
    from taxospec.plugins.labelstudio.client import project_config
    from taxospec.plugins.labelstudio.locks import project_key
    from taxospec.plugins.labelstudio.service import Service
    from taxospec.plugins.labelstudio.state import StateStore
    from taxospec.plugins.labelstudio.writeback import TARGETS
    from taxospec.spec import load_spec

    spec = load_spec(spec_path)
    store = StateStore(folder / f"{project_key(ls_url, project)}.sqlite3")
    service = Service(spec, client, ls_url, project, store, folder, TARGETS[write_to], project_config(client, project))
    service.config  # noqa: B018
    return service


def _log_to_stderr(secrets: list[str]) -> None:
    """The receiver's log on stderr, every secret blanked."""
    import logging

    from taxospec.plugins.labelstudio.serve import Redacting

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(Redacting(secrets))
    logger = logging.getLogger("taxospec")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


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
