"""The terminal report of `taxospec check`: a summary, then the top findings per code, never thousands of lines."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from taxospec.findings import Finding, Severity
from taxospec.report import Report
from taxospec.score_tables import TIGHTNESS_COLUMNS, tightness_cells

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render_terminal(report: Report, console: Console, *, per_code: int = 5) -> None:
    """Print the report: what was read, examples per class, checks that failed, and the top findings."""
    s = report.summary
    console.rule(f"[bold]taxospec check[/] · {report.spec_name} · {report.export_path}")
    console.print(
        f"{s.tasks} tasks, {s.annotations} annotations, {s.samples} examples ({report.export_format})", highlight=False
    )
    console.print(_class_table(report))
    if report.scores is not None and report.scores.tightness:
        tightness = Table(title=f"Class tightness ({report.scores.summary.geometry})", title_justify="left")
        for column in (*TIGHTNESS_COLUMNS, "hard negatives"):
            tightness.add_column(column, justify="right" if column in TIGHTNESS_COLUMNS[1:6] else "left")
        for row in report.scores.tightness:
            tightness.add_row(*tightness_cells(row))
        console.print(tightness)
    failed = [c for c in report.checks if c.failed]
    if failed:
        table = Table(title="Checks with findings", title_justify="left")
        for column in ("check", "family", "severity", "failed", "evaluated"):
            table.add_column(column, justify="right" if column in ("failed", "evaluated") else "left")
        for stat in sorted(failed, key=lambda c: (-c.severity.rank, -c.failed)):
            table.add_row(
                stat.code,
                stat.family,
                f"[{STYLE[stat.severity]}]{stat.severity.value}[/]",
                str(stat.failed),
                str(stat.evaluated),
            )
        console.print(table)
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_code[finding.code].append(finding)
    for code, findings in by_code.items():
        first = findings[0]
        console.print(f"\n[{STYLE[first.severity]}]{first.severity.value}[/] [bold]{code}[/] ({len(findings)})")
        for finding in findings[:per_code]:
            console.print(f"  • {_where(finding)}{finding.message}", highlight=False)
        if len(findings) > per_code:
            console.print(f"  … and {len(findings) - per_code} more (--format json lists them all)", highlight=False)
    _coverage_and_todo(report, console)
    for note in report.notes:
        console.print(f"\n[cyan]note[/] {note}", highlight=False)
    counts = s.findings
    verdict = (
        "[green]no findings[/]"
        if not report.findings
        else (
            f"[bold red]{counts['error']} error(s)[/], [yellow]{counts['warning']} warning(s)[/], {counts['info']} info"
        )
    )
    console.print(f"\n{verdict}")


def _deployment(report: Report, console: Console) -> None:
    found = report.deployment
    if found is None:
        return
    samples = ", ".join(
        f"{s.name} {s.uncovered:.0%}" + (f" (shift AUC {s.shift_auc:.2f})" if s.shift_auc is not None else "")
        for s in found.samples
    )
    console.print(
        f"\n[bold]Deployment[/]: {found.uncovered:.0%} of {found.pictures} pictures have no labeled example like "
        f"them ({samples}); {len(found.scenarios)} uncovered scenario(s)",
        highlight=False,
    )
    for s in found.scenarios[:5]:
        console.print(f"  scenario {s.number}: {s.pictures} pictures in {s.sample}, {s.description}", highlight=False)


def _coverage_and_todo(report: Report, console: Console, top: int = 5) -> None:
    _deployment(report, console)
    c = report.coverage
    splits = ", ".join(f"{split} {share:.0%}" for split, share in c.by_split.items())
    console.print(
        f"\n[bold]Coverage[/]: {c.quota_fill:.1%} of all quotas filled, {c.cells_covered:.1%} of the cells at quota"
        + (f" (within the splits: {splits})" if splits else ""),
        highlight=False,
    )
    if not report.todo:
        console.print("Nothing to collect: every class meets its quotas.")
        return
    total = sum(item.missing for item in report.todo)
    console.print(f"[bold]To collect[/] ({len(report.todo)} items, {total} captures; `taxospec todo` lists them all):")
    for item in report.todo[:top]:
        console.print(f"  {item.rank}. {item.instruction}", highlight=False)
    if len(report.todo) > top:
        console.print(f"  … and {len(report.todo) - top} more", highlight=False)


def _where(finding: Finding) -> str:
    parts = []
    if finding.task_id is not None:
        parts.append(f"task {finding.task_id}")
    if finding.region_id:
        parts.append(f"region {finding.region_id}")
    where = ", ".join(parts)
    if finding.link:
        where = f"[link={finding.link}]{where}[/link]"
    return f"{where}: " if where else ""


def _class_table(report: Report) -> Table:
    splits = sorted({split for c in report.classes.values() for split in c.by_split})
    table = Table(title="Examples per class", title_justify="left")
    table.add_column("class")
    table.add_column("role")
    table.add_column("examples", justify="right")
    table.add_column("minimum", justify="right")
    for split in splits:
        table.add_column(split, justify="right")
    for name, count in report.classes.items():
        short = count.total < count.minimum
        total = f"[bold red]{count.total}[/]" if short else str(count.total)
        table.add_row(name, count.role, total, str(count.minimum), *(str(count.by_split.get(s, 0)) for s in splits))
    return table
