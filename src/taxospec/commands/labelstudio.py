"""The Label Studio commands (a built-in plugin): `taxospec config`."""

from __future__ import annotations

from pathlib import Path

import click

from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl


@click.command(name="config")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the labeling config (XML) here.")
@click.option("--instructions", type=click.Path(path_type=Path), help="Also write the labeling instructions (HTML).")
@click.option("--no-validate", is_flag=True, help="Skip Label Studio's own validation of the config.")
def config_command(spec_path: Path, output: Path | None, instructions: Path | None, no_validate: bool) -> None:
    """Write the Label Studio labeling config for a spec (and, with --instructions, the labeling instructions).

    The class control fits the spec's unit (Choices for whole images, RectangleLabels for boxes,
    TimelineLabels for segments, VideoRectangle with Labels for tracks) and lists every class with its
    description as a hint; every axis is one required single Choices (per region where its scope is region).
    The config is validated with label-studio-sdk, and `taxospec check` reads every result it can produce.
    """
    from taxospec.plugins.labelstudio.generate import instructions as make_instructions
    from taxospec.plugins.labelstudio.generate import label_config, validate_config
    from taxospec.spec import load_spec

    spec = load_spec(spec_path)
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


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register the Label Studio commands."""
    cli.add_command(config_command)
