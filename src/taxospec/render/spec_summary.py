"""A readable terminal summary of a spec (`taxospec describe`)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from taxospec.findings import Severity
from taxospec.spec.lint import LintFinding
from taxospec.spec.model import Spec

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render_spec_summary(spec: Spec, findings: list[LintFinding], console: Console) -> None:
    """Print the spec's classes, axes, coverage quotas, tightness rules and lint findings to `console`."""
    console.rule(f"[bold]{spec.name}[/]  ·  {spec.media}, one example = one {spec.unit}")
    if spec.description:
        console.print(spec.description.strip(), highlight=False)
    console.print(_classes_table(spec))
    if spec.axes:
        console.print(_axes_table(spec))
    for line in _rules(spec):
        console.print(f"  • {line}", highlight=False)
    if findings:
        console.print()
        for finding in findings:
            style = _SEVERITY_STYLE[finding.severity]
            console.print(f"[{style}]{finding.severity.value}[/] {finding}", highlight=False)
    else:
        console.print("\n[green]lint: clean[/]")


def _classes_table(spec: Spec) -> Table:
    table = Table(title="Classes", title_justify="left", expand=False)
    for column in ("class", "role", "min examples", "hard negatives", "prompts", "description"):
        table.add_column(column, overflow="fold")
    for name, cls in spec.classes.items():
        table.add_row(
            name,
            cls.role,
            str(spec.min_examples_of(name)),
            ", ".join(cls.hard_negatives) or "—",
            str(len(cls.prompts)),
            cls.description.strip() or "—",
        )
    return table


def _axes_table(spec: Spec) -> Table:
    table = Table(title="Diversity axes", title_justify="left", expand=False)
    for column in ("axis", "values", "scope", "required", "applies to"):
        table.add_column(column, overflow="fold")
    for name, axis in spec.axes.items():
        table.add_row(
            name,
            ", ".join(axis.values),
            axis.scope,
            "yes" if axis.required else "no",
            ", ".join(axis.applies_to) if axis.applies_to is not None else "all classes",
        )
    return table


def _rules(spec: Spec) -> list[str]:
    quota = spec.coverage.per_value
    lines = [
        f"each axis value: at least {quota.min_share:.0%} of a class"
        + (f" and {quota.min_count} examples" if quota.min_count else "")
        + f"; no value above {quota.max_share:.0%}",
    ]
    for combo in spec.coverage.combinations:
        cells = math.prod(len(spec.axes[a].values) for a in combo.axes if a in spec.axes)
        lines.append(f"combination {' × '.join(combo.axes)}: {cells} cells, at least {combo.min} examples each")
    balance = spec.balance
    lines.append(
        f"balance: most/least frequent positive ≤ {balance.max_ratio:g}×; "
        f"≥ {balance.negatives_per_positive:g} hard-negative examples per positive"
    )
    temporal, spatial = spec.tightness.temporal, spec.tightness.spatial
    if spec.media == "video":
        upper = f"{temporal.max_seconds:g} s" if temporal.max_seconds is not None else "no limit"
        lines.append(f"segments: {temporal.min_seconds:g} s to {upper}")
    if spec.unit in ("box", "track"):
        lines.append(f"boxes: {spatial.min_area:.2%} to {spatial.max_area:.0%} of the frame")
    duplicates = spec.duplicates
    absolute = f" or at cosine ≥ {duplicates.max_similarity:g}" if duplicates.max_similarity is not None else ""
    lines.append(
        f"near-duplicates closer than {duplicates.relative_distance:g}× the median nearest-neighbour distance"
        + absolute
        + (f"; segments closer than {spec.duplicates.min_gap_seconds:g} s" if spec.media == "video" else "")
    )
    if spec.splits is not None:
        group = f", grouped by {spec.splits.group_by}" if spec.splits.group_by else ""
        lines.append(f"splits {', '.join(spec.splits.values)} from field {spec.splits.field!r}{group}")
    else:
        lines.append("no split annotated")
    embedding = spec.embedding
    if embedding.enabled:
        lines.append(f"embeddings: open_clip {embedding.model} / {embedding.pretrained}")
    return lines
