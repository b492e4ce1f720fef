"""Run every registered check over a dataset and turn what they find into ranked findings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taxospec.checks.base import Check, CheckContext, SkipCheck
from taxospec.checks.params import params_of
from taxospec.dataset import Dataset
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.findings import CheckStat, Finding, Flag, Severity
from taxospec.plugins.registry import checks

TaskLink = Callable[[int, int, "int | None"], "str | None"]
"""The URL that opens a task in the labeling tool, from its project, task id and annotation id."""


def run_checks(
    dataset: Dataset,
    *,
    link: TaskLink | None = None,
    select: set[str] | None = None,
    embeddings: EmbeddingSpace | None = None,
    context: CheckContext | None = None,
) -> tuple[list[Finding], list[CheckStat]]:
    """Run the registered checks (only those in `select`, when given) and rank the findings.

    The spec's `checks:` section turns checks off, changes their severity or sets their parameters. Pass
    `context` to keep what the checks computed (the example scores) for the report, and `link` to give
    each finding a link to its task.
    """
    if context is None:
        context = CheckContext(dataset, embeddings)
    findings: list[Finding] = []
    stats: list[CheckStat] = []
    order: dict[str, int] = {}
    for position, item in enumerate(checks()):
        if select is not None and item.name not in select:
            continue
        order[item.name] = position
        stat, issues = _run_one(item, context)
        stats.append(stat)
        findings.extend(_finding(item, stat.severity, issue, dataset, link) for issue in issues)
    # within a check, the strongest first (its 0..1 score: the examples to look at first), then by task
    findings.sort(
        key=lambda f: (-f.severity.rank, order.get(f.code, 0), -(f.score or 0.0), f.task_id or 0, f.region_id or "")
    )
    return findings, stats


def _run_one(item: Check[Any], context: CheckContext) -> tuple[CheckStat, list[Flag]]:
    """One check's statistics and issues, at the severity the spec gives it (none when skipped)."""
    spec = context.spec
    setting = spec.checks.get(item.name)
    severity = Severity(setting.severity) if setting and setting.severity else item.severity
    reason = "turned off in the spec" if setting and not setting.enabled else item.skip(spec)
    evaluated, issues = 0, list[Flag]()
    if reason is None:
        try:
            evaluated, issues = item.run(context, params_of(item, spec))
        except SkipCheck as skip:
            reason = str(skip)
    if reason is not None:
        return CheckStat(
            code=item.name, family=item.family, severity=severity, evaluated=0, failed=0, passed=0, skipped=reason
        ), []
    stat = CheckStat(
        code=item.name,
        family=item.family,
        severity=severity,
        evaluated=evaluated,
        failed=len(issues),
        passed=max(0, evaluated - len(issues)),
    )
    return stat, issues


def _finding(check: Check[Any], severity: Severity, issue: Flag, dataset: Dataset, link: TaskLink | None) -> Finding:
    task_id = project = None
    if issue.task is not None and 0 <= issue.task < len(dataset.items):
        task_id = int(dataset.items.task_id[issue.task])
        project = int(dataset.items.project_id[issue.task])
    annotation_id = issue.annotation_id if issue.annotation_id is not None and issue.annotation_id >= 0 else None
    return Finding(
        code=check.name,
        severity=severity,
        message=issue.message,
        family=check.family,
        class_name=issue.class_name,
        axis=issue.axis,
        value=issue.value,
        split=issue.split if issue.split is not None else _split_of(dataset, issue.task),
        task_id=task_id,
        annotation_id=annotation_id,
        region_id=issue.region_id,
        count=issue.count if issue.count != 1 else None,
        score=issue.score,
        link=link(project, task_id, annotation_id) if link and project is not None and task_id is not None else None,
        related_tasks=[t for t in issue.related if t != task_id],
        at_seconds=issue.at_seconds,
        suggested_seconds=list(issue.suggested_seconds) if issue.suggested_seconds is not None else None,
    )


def _split_of(dataset: Dataset, task: int | None) -> str | None:
    if task is None or not 0 <= task < len(dataset.items):
        return None
    return dataset.items.split[task]
