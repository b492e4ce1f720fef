"""The report as JSON, Markdown and JUnit XML, and its per-example scores as CSV."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from xml.etree import ElementTree as ET

from taxospec.findings import Finding, Severity
from taxospec.report import Report
from taxospec.score_tables import TIGHTNESS_COLUMNS, ScoreTables, tightness_cells


def render_markdown(report: Report, *, per_code: int = 20) -> str:
    """A Markdown report for pull requests and wikis: summary, classes, failed checks, top findings."""
    s = report.summary
    lines = [
        f"# taxospec check: {report.spec_name}",
        "",
        f"`{report.export_path}`: {s.tasks} tasks, {s.annotations} annotations, {s.samples} examples. "
        f"**{s.findings['error']} error(s)**, {s.findings['warning']} warning(s), {s.findings['info']} info.",
        "",
        "## Examples per class",
        "",
        "| class | role | examples | minimum |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {name} | {c.role} | {c.total} | {c.minimum} |" for name, c in report.classes.items()]
    if report.scores is not None and report.scores.tightness:
        lines += ["", "## Class tightness", "", f"In the {report.scores.summary.geometry} geometry.", ""]
        lines += ["| " + " | ".join((*TIGHTNESS_COLUMNS, "hard negatives")) + " |"]
        lines += ["|---|" + "---:|" * 5 + "---|---|"]
        lines += ["| " + " | ".join(tightness_cells(row)) + " |" for row in report.scores.tightness]
    failed = [c for c in report.checks if c.failed]
    if failed:
        lines += ["", "## Checks with findings", "", "| check | severity | failed | evaluated |", "|---|---|---:|---:|"]
        lines += [f"| `{c.code}` | {c.severity.value} | {c.failed} | {c.evaluated} |" for c in failed]
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        grouped[finding.code].append(finding)
    if grouped:
        lines += ["", "## Findings"]
    for code, findings in grouped.items():
        lines += ["", f"### `{code}` ({findings[0].severity.value}, {len(findings)})", ""]
        for finding in findings[:per_code]:
            where = f"task {finding.task_id}" if finding.task_id is not None else ""
            if finding.link:
                where = f"[{where}]({finding.link})"
            lines.append(f"- {where + ': ' if where else ''}{_escape(finding.message)}")
        if len(findings) > per_code:
            lines.append(f"- … and {len(findings) - per_code} more")
    lines += _deployment(report)
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _deployment(report: Report) -> list[str]:
    """The deployment section: per sample, then the uncovered scenarios."""
    found = report.deployment
    if found is None:
        return []
    lines = [
        "",
        "## Deployment",
        "",
        f"{found.uncovered:.0%} of {found.pictures} deployment pictures have no labeled example like them.",
        "",
        "| sample | pictures | not covered | shift AUC |",
        "|---|---:|---:|---:|",
    ]
    for s in found.samples:
        auc = "" if s.shift_auc is None else f"{s.shift_auc:.2f}"
        lines.append(f"| {_escape(s.name)} | {s.pictures} | {s.uncovered:.0%} | {auc} |")
    if found.scenarios:
        lines += ["", "| scenario | pictures | sample | what it shows | e.g. |", "|---:|---:|---|---|---|"]
        for c in found.scenarios:
            example = f"`{_escape(c.examples[0])}`" if c.examples else ""
            lines.append(f"| {c.number} | {c.pictures} | {_escape(c.sample)} | {_escape(c.description)} | {example} |")
    return lines


def render_junit(report: Report, fail_on: Severity = Severity.ERROR) -> str:
    """JUnit XML: one test case per check, failing when it has findings at or above `fail_on`."""
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        grouped[finding.code].append(finding)
    suites = ET.Element("testsuites", name=f"taxospec {report.spec_name}")
    by_family: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for stat in report.checks:
        by_family[stat.family].append(stat)
    for family, stats in by_family.items():
        suite = ET.SubElement(suites, "testsuite", name=family, tests=str(len(stats)))
        failures = skipped = 0
        for stat in stats:
            case = ET.SubElement(suite, "testcase", classname=f"taxospec.{family}", name=stat.code)
            findings = grouped.get(stat.code, [])
            text = "\n".join(f"{f.severity.value}: task {f.task_id}: {f.message}" for f in findings[:200])
            if stat.skipped:
                skipped += 1
                ET.SubElement(case, "skipped", message=stat.skipped)
            elif findings and stat.severity.at_least(fail_on):
                failures += 1
                failure = ET.SubElement(
                    case, "failure", message=f"{len(findings)} finding(s)", type=stat.severity.value
                )
                failure.text = text
            elif findings:
                ET.SubElement(case, "system-out").text = text
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
    return ET.tostring(suites, encoding="unicode") + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


EXAMPLE_COLUMNS = (
    "task_id",
    "annotation_id",
    "region_id",
    "class",
    "split",
    "label_quality",
    "suggested",
    "mislabel",
    "outlier_score",
    "outlier",
    "uniqueness",
    "duplicate_score",
    "duplicate_group",
)
"""The columns of the per-example table `taxospec check --scores FILE.csv` writes."""


ROWS_PER_PIECE = 65_536
"""CSV rows made at a time: the table of millions of examples is written as it is made."""


def examples_csv(tables: ScoreTables) -> Iterator[bytes]:
    """The per-example scores as CSV (one row per embedded example, `EXAMPLE_COLUMNS`), in pieces of
    `ROWS_PER_PIECE` rows."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXAMPLE_COLUMNS)
    for start in range(0, max(1, len(tables.examples)), ROWS_PER_PIECE):
        for example in tables.examples[start : start + ROWS_PER_PIECE]:
            values = [getattr(example, "class_name" if c == "class" else c) for c in EXAMPLE_COLUMNS]
            writer.writerow(["" if value is None else value for value in values])
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()
