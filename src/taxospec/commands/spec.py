"""The spec commands: `lint`, `schema`, `init` and `describe` (a built-in plugin)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from taxospec.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, SpecError
from taxospec.findings import Severity
from taxospec.output import write_text_atomic
from taxospec.plugins.hookspecs import hookimpl
from taxospec.terminal import stdout_console

SEVERITY_CHOICE = click.Choice([s.value for s in Severity])


@click.command()
@click.argument("specs", nargs=-1, required=False, type=click.Path(path_type=Path))
@click.option(
    "--fail-on",
    type=SEVERITY_CHOICE,
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--list-rules", is_flag=True, help="List every lint rule with its severity, and exit.")
@click.pass_context
def lint(ctx: click.Context, specs: tuple[Path, ...], fail_on: str, fmt: str, list_rules: bool) -> None:
    """Check spec files: that they load, and that they make sense.

    Prints every problem as `path:line:col: severity[code]: message`. Exit 0 when clean, 1 when a finding
    reaches --fail-on (default: error), 2 when a spec does not load (bad YAML, unknown key, wrong type).
    """
    from taxospec.plugins.registry import lint_rules
    from taxospec.spec import load_spec
    from taxospec.spec.lint import lint_spec

    if list_rules:
        for rule in lint_rules():
            click.echo(f"{rule.name:32} {rule.severity.value:8} {rule.summary}")
        ctx.exit(EXIT_OK)
    if not specs:
        raise click.UsageError("give at least one spec file (or --list-rules)")
    threshold = Severity(fail_on)
    exit_code = EXIT_OK
    report: list[dict[str, object]] = []
    for path in specs:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            exit_code = EXIT_BAD_INPUT
            for problem in exc.problems:
                report.append({**problem.__dict__, "severity": "error", "code": "spec-invalid"})
                if fmt == "text":
                    click.echo(
                        f"{problem.path}:{problem.line}:{problem.column}: error[spec-invalid]: {problem.message}"
                    )
            continue
        findings = lint_spec(spec)
        for finding in findings:
            report.append(
                {
                    "path": finding.file,
                    "line": finding.line,
                    "column": finding.column,
                    "message": finding.message,
                    "severity": finding.severity.value,
                    "code": finding.code,
                }
            )
            if fmt == "text":
                click.echo(str(finding))
        if exit_code == EXIT_OK and any(f.severity.at_least(threshold) for f in findings):
            exit_code = EXIT_FINDINGS
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _echo_lint_summary(len(specs), report)
    ctx.exit(exit_code)


def _echo_lint_summary(n_specs: int, report: list[dict[str, object]]) -> None:
    counts = {s.value: sum(1 for r in report if r["severity"] == s.value) for s in Severity}
    noun = "spec" if n_specs == 1 else "specs"
    if not report:
        click.echo(f"{n_specs} {noun} checked: clean.", err=True)
        return
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in ("error", "warning", "info") if counts[s]]
    click.echo(f"{n_specs} {noun} checked: {', '.join(parts)}.", err=True)


@click.command()
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the schema to this file instead of stdout."
)
@click.option(
    "--for",
    "kind",
    type=click.Choice(["spec", "report", "todo"]),
    default="spec",
    show_default=True,
    help="Which document: the spec, the JSON report of `taxospec check`, or the to-do list of `taxospec todo`.",
)
def schema(output: Path | None, kind: str) -> None:
    """Print the JSON Schema of the spec language (or, with --for, of the check report or the to-do list).

    The files committed as schemas/taxospec.schema.json, report.schema.json and todo.schema.json are
    exactly this output.
    """
    from taxospec.schemas import SCHEMAS, schema_text

    text = schema_text(SCHEMAS[kind]())
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("path", required=False, default="spec.yaml", type=click.Path(path_type=Path))
@click.option("-t", "--template", default="image-detection", show_default=True, help="Starter to write (see --list).")
@click.option("--list", "list_templates", is_flag=True, help="List the starter templates and exit.")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option(
    "--schema-ref",
    default="taxospec.schema.json",
    show_default=True,
    help="Where the yaml-language-server line points for completion (a path relative to the spec, or a URL).",
)
@click.pass_context
def init(ctx: click.Context, path: Path, template: str, list_templates: bool, force: bool, schema_ref: str) -> None:
    """Write a commented starter spec to PATH (default: spec.yaml).

    The starter lints clean and begins with a `# yaml-language-server: $schema=` line; write the schema
    beside it with `taxospec schema -o taxospec.schema.json` for completion in your editor. An existing
    file is never overwritten without --force.
    """
    from taxospec.plugins.registry import spec_templates

    templates = spec_templates()
    if list_templates:
        for item in templates:
            click.echo(f"{item.name:24} {item.summary}")
        ctx.exit(EXIT_OK)
    starter = templates.get(template)
    write_text_atomic(path, starter.render(schema_ref), overwrite=force)
    click.echo(f"wrote {path} (template {starter.name}); next: taxospec lint {path}", err=True)


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
def describe(spec_path: Path) -> None:
    """Print a readable summary of a spec: classes, hard negatives, axes, quotas and rules."""
    from rich.console import Console

    from taxospec.render.spec_summary import render_spec_summary
    from taxospec.spec import load_spec
    from taxospec.spec.lint import lint_spec

    spec = load_spec(spec_path)
    console = stdout_console(width=max(100, Console().width))
    render_spec_summary(spec, lint_spec(spec), console)


@hookimpl
def taxospec_register_commands(cli: click.Group) -> None:
    """Register the spec commands."""
    for command in (init, lint, describe, schema):
        cli.add_command(command)
