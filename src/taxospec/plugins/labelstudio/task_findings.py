"""A task's findings as taxospec keeps them in Label Studio: which run found each, how they are merged when
one task is re-checked, and how they read back from what was written.

Two kinds of run write findings: a **batch** run (`taxospec check --write-back`) checks the whole dataset;
a **live** run (`taxospec serve`, the ML backend) re-checks one task as it is saved, with the checks whose
findings depend on that task alone (`Check.local`). A live run replaces the local findings of its task and
keeps the rest as the last batch run left them (a leak across splits is still a leak when one of its tasks
is saved again), each finding saying which run it came from; a kept finding about a region that is no
longer in the task's counted annotation is dropped (what it was about is gone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from taxospec.findings import Finding

META_KEY = "taxospec"
"""The key of the task meta entry that holds a task's findings."""
MODEL_VERSION = "taxospec"
"""The model version of the prediction that shows a task's findings in the editor."""
MAX_PER_TASK = 50
"""Findings kept per task (the note's count says how many there were)."""

RunKind = Literal["batch", "live"]


@dataclass(frozen=True)
class Run:
    """A run that wrote findings: batch (the whole dataset) or live (one task as it was saved), and when."""

    kind: RunKind
    at: str
    """UTC time, ISO 8601 to the second (`2026-12-06T21:40:05Z`)."""

    @classmethod
    def now(cls, kind: RunKind) -> Run:
        """A run of `kind` starting now."""
        return cls(kind, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def label(self) -> str:
        """How messages name it: `batch run 2026-12-06 21:40 UTC`."""
        return run_label(self.kind, self.at)


def run_label(kind: str, at: str) -> str:
    """`batch run 2026-12-06 21:40 UTC` (the time left out when unknown)."""
    return f"{kind} run {at[:10]} {at[11:16]} UTC" if len(at) >= 16 else f"{kind} run"


@dataclass(frozen=True)
class TaskFinding:
    """One finding as it is kept with its task."""

    code: str
    severity: str
    message: str
    region_id: str | None
    run: str
    """The kind of run that found it (`batch` or `live`)."""
    at: str
    """When that run started (UTC, ISO 8601)."""
    score: float | None = None
    at_seconds: float | None = None

    @property
    def origin(self) -> str:
        """Which run it came from, in words."""
        return run_label(self.run, self.at)

    def as_json(self) -> dict[str, Any]:
        """The form kept in task meta and prediction results."""
        return {key: value for key, value in asdict(self).items() if value is not None or key == "region_id"}


def by_task(findings: Iterable[Finding], run: Run) -> dict[int, list[TaskFinding]]:
    """The findings of a run grouped by Label Studio task id (findings about no task are left out)."""
    out: dict[int, list[TaskFinding]] = {}
    for f in findings:
        if f.task_id is None or f.task_id < 0:
            continue
        item = TaskFinding(f.code, f.severity.value, f.message, f.region_id, run.kind, run.at, f.score, f.at_seconds)
        out.setdefault(f.task_id, []).append(item)
    return out


def stored(task: Any) -> list[TaskFinding]:
    """The findings taxospec last wrote into `task` (an SDK task or a dict): from its meta entry, else from
    its taxospec prediction; malformed entries are skipped."""
    meta = _field(task, "meta") or {}
    entry = meta.get(META_KEY) if isinstance(meta, dict) else None
    items: list[Any] = entry.get("findings", []) if isinstance(entry, dict) else []
    if not items:
        for prediction in ours(task):
            for result in _field(prediction, "result") or []:
                kept = (result.get("meta") or {}).get(META_KEY) if isinstance(result, dict) else None
                items.extend(kept if isinstance(kept, list) else [kept] if isinstance(kept, dict) else [])
    return [found for found in (_parsed(item) for item in items) if found is not None]


def _parsed(item: Any) -> TaskFinding | None:
    if not isinstance(item, dict):
        return None
    code, severity, message = item.get("code"), item.get("severity"), item.get("message")
    if not (isinstance(code, str) and isinstance(severity, str) and isinstance(message, str)):
        return None
    region = item.get("region_id")
    score, seconds = item.get("score"), item.get("at_seconds")
    return TaskFinding(
        code,
        severity,
        message,
        region if isinstance(region, str) else None,
        str(item.get("run") or "batch"),
        str(item.get("at") or ""),
        float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
        float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None,
    )


def merged(
    live: list[TaskFinding], kept: Iterable[TaskFinding], local_codes: Collection[str], regions: Collection[str]
) -> list[TaskFinding]:
    """A live run's findings of one task, with the findings of earlier runs it cannot recompute (codes not in
    `local_codes`) kept, except those about a region no longer in the task (`regions`: its region ids)."""
    carried = [f for f in kept if f.code not in local_codes and (f.region_id is None or f.region_id in regions)]
    return [*live, *(f for f in carried if f not in live)]


def ours(task: Any) -> list[Any]:
    """The task's predictions written by taxospec (expanded prediction objects; bare ids are not ours to
    judge), lowest id first."""
    items = _field(task, "predictions") or []
    found = [p for p in items if not isinstance(p, int) and _field(p, "model_version") == MODEL_VERSION]
    return sorted(found, key=lambda p: _field(p, "id") or 0)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
