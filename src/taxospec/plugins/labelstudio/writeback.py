"""Write a check's findings back into a live project, where annotators see them: each task's `meta`.

Only the `taxospec` key of a task's meta is written; other meta keys, the task data, annotations and
predictions are never touched. A task whose findings are gone has its `taxospec` key removed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from taxospec.findings import Finding
from taxospec.plugins.labelstudio.client import requests_about

META_KEY = "taxospec"
MAX_PER_TASK = 50
"""Findings kept per task (the count says how many there were)."""


@dataclass(frozen=True)
class WriteBackResult:
    """How many tasks got findings, and how many had old findings removed."""

    written: int
    cleared: int


def task_notes(findings: list[Finding]) -> dict[int, dict[str, Any]]:
    """The meta entry for every task that has findings: counts by severity and the findings themselves."""
    by_task: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.task_id is not None and finding.task_id >= 0:
            by_task[finding.task_id].append(finding)
    notes: dict[int, dict[str, Any]] = {}
    for task_id, items in by_task.items():
        severities = [f.severity.value for f in items]
        notes[task_id] = {
            "errors": severities.count("error"),
            "warnings": severities.count("warning"),
            "codes": sorted({f.code for f in items}),
            "findings": [
                {"code": f.code, "severity": f.severity.value, "message": f.message, "region_id": f.region_id}
                for f in items[:MAX_PER_TASK]
            ],
            "count": len(items),
        }
    return notes


def write_back(client: Any, project: int, findings: list[Finding]) -> WriteBackResult:
    """Put each task's findings into its meta under `taxospec`, and remove the key where none are left."""
    notes = task_notes(findings)
    written = cleared = 0
    with requests_about(project):
        for task in client.tasks.list(project=project, fields="all"):
            change = update_task(client, task, notes.get(int(task.id)))
            written += change == "written"
            cleared += change == "cleared"
    return WriteBackResult(written, cleared)


def update_task(client: Any, task: Any, note: dict[str, Any] | None) -> str | None:
    """Set (or, with no note, remove) the `taxospec` meta entry of one task; says what changed."""
    task_id = str(task.id)
    meta = dict(getattr(task, "meta", None) or {})
    if note is not None and meta.get(META_KEY) != note:
        client.tasks.update(id=task_id, meta={**meta, META_KEY: note})
        return "written"
    if note is None and META_KEY in meta:
        del meta[META_KEY]
        client.tasks.update(id=task_id, meta=meta)
        return "cleared"
    return None
