"""What `taxospec serve` runs behind its HTTP front: accepted events go into the state store; worker threads
take due jobs, re-check each task (`live_check`) and write its findings back; while Label Studio cannot be
reached, jobs wait and are retried with a growing delay; at start, tasks changed since the last one
checked are queued (events sent while the receiver was down are not lost)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taxospec.plugins.labelstudio.client import explain, unreachable
from taxospec.plugins.labelstudio.config import LabelConfig, parse_label_config
from taxospec.plugins.labelstudio.events import Event
from taxospec.plugins.labelstudio.live_check import TaskChecker
from taxospec.plugins.labelstudio.locks import project_lock
from taxospec.plugins.labelstudio.state import SWEEP, Job, StateStore
from taxospec.plugins.labelstudio.task_findings import TaskFinding
from taxospec.plugins.labelstudio.views import sync_views
from taxospec.plugins.labelstudio.writeback import Destination, Target, destination, has_findings, update_task
from taxospec.spec.model import Spec

log = logging.getLogger("taxospec.serve")
MAX_DELAY = 60.0
"""The longest wait between two tries of a job."""
MAX_FAILURES = 5
"""Tries of a job that fails for a reason other than Label Studio being unreachable."""
LS_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How Label Studio's Data Manager filters spell a time."""


def ls_time(value: Any) -> str | None:
    """A task's `updated_at` (the SDK gives a datetime or, from some endpoints, a string) as Label Studio's
    filters spell times, in UTC; None when it is neither."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return str(value.strftime(LS_TIME))


@dataclass
class Service:
    """The receiver's shared state: the project, its config, the client, the store and the workers."""

    spec: Spec
    client: Any
    url: str
    project: int
    store: StateStore
    state_dir: Path
    targets: frozenset[Target]
    config_xml: str
    stopping: threading.Event = field(default_factory=threading.Event)
    resume_at: float = 0.0
    """While Label Studio is unreachable: when the workers try again."""
    outage: int = 0
    """Failures in a row that said Label Studio is unreachable (the wait doubles with each)."""
    _config: LabelConfig | None = field(default=None, init=False, repr=False)
    _checker: TaskChecker | None = field(default=None, init=False, repr=False)
    _tabs: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    @property
    def config(self) -> LabelConfig:
        """The project's labeling config, parsed once per version of it."""
        if self._config is None:
            self._config = parse_label_config(self.config_xml, f"project {self.project}")
        return self._config

    @property
    def checker(self) -> TaskChecker:
        """What re-checks single tasks, for the current config."""
        if self._checker is None:
            self._checker = TaskChecker(self.spec, self.config)
        return self._checker

    @property
    def where(self) -> Destination:
        """Where findings go: the targets, with the findings panel of the current config."""
        return destination(self.targets, self.config)

    def accept(self, event: Event) -> str:
        """Persist what `event` asks for (before the caller answers 2xx); says what was queued."""
        if event.config is not None:
            self.config_xml, self._config, self._checker = event.config, None, None
        tasks = list(event.tasks)
        if event.deleted:
            known = self.store.tasks_of(event.deleted)
            tasks.extend(known.values())
            if len(known) < len(set(event.deleted)):
                tasks.append(SWEEP)
        if not tasks and not event.seen:
            return "nothing to check" if event.config is None else "labeling config updated"
        coalesced = self.store.add(tasks, event.seen)
        return f"queued {len(set(tasks))} task(s)" + (f", {coalesced} already waiting" if coalesced else "")

    # --- workers --------------------------------------------------------------------------------------

    def work(self) -> None:
        """A worker: take due jobs until the service stops; no job's failure stops it."""
        while not self.stopping.is_set():
            wait = self.resume_at - time.time()
            job = self.store.claim() if wait <= 0 else None
            if job is None:
                self._idle(wait)
                continue
            try:
                self._run(job)
            except Exception as exc:  # one bad job must not stop the worker
                self._failed(job, exc)

    def _idle(self, paused: float) -> None:
        due = self.store.next_due()
        wait = max(paused, (due - time.time()) if due is not None else 5.0)
        with self.store.changed:
            self.store.changed.wait(timeout=min(5.0, max(0.05, wait)))

    def _run(self, job: Job) -> None:
        if job.task == SWEEP:
            self.sweep()
        else:
            self.check_task(job.task)
        self.store.done(job)
        if self.outage:
            log.warning("Label Studio answers again; %s job(s) wait", self.store.status()["pending"])
            self.resume_at, self.outage = 0.0, 0

    def _failed(self, job: Job, exc: Exception) -> None:
        status = getattr(exc, "status_code", None)
        what = "the sweep" if job.task == SWEEP else f"task {job.task}"
        from_server = status is not None or unreachable(exc)
        reason = str(explain(exc, self.url, self.project)) if from_server else f"{type(exc).__name__}: {exc}"
        if status == 404 and job.task != SWEEP:
            log.warning("%s: not in Label Studio (deleted?); dropped", what)
            self.store.drop(job)
            return
        delay = min(MAX_DELAY, 2.0 ** min(job.attempts, 6))
        if unreachable(exc) or (status is not None and (status >= 500 or status in (401, 403))):
            if not self.outage:
                log.warning("%s: %s; jobs wait and are tried again", what, reason)
            self.outage += 1
            delay = min(MAX_DELAY, 2.0 ** min(self.outage - 1, 6))
            self.resume_at = time.time() + delay
        elif job.attempts + 1 >= MAX_FAILURES:
            log.error("%s: %s; dropped after %s tries", what, reason, job.attempts + 1)
            self.store.drop(job)
            return
        else:
            log.warning("%s: %s; tried again in %gs", what, reason, delay)
        self.store.retry(job, delay, reason)

    # --- the jobs ---------------------------------------------------------------------------------------

    def check_task(self, task_id: int, task: Any = None) -> list[TaskFinding]:
        """Fetch one task (unless given), re-check it and write its findings back; returns them."""
        task = task if task is not None else self.client.tasks.get(id=str(task_id))
        if int(getattr(task, "project", self.project) or self.project) != self.project:
            log.warning("task %s belongs to another project; skipped", task_id)
            return []
        findings = self.checker.findings(task)
        with project_lock(self.state_dir, self.url, self.project):
            change = update_task(self.client, task, findings, self.where)
        kept = sum(f.run != "live" for f in findings)
        log.info(
            "task %s: %s finding(s), %s of them kept from earlier runs; %s",
            task_id,
            len(findings),
            kept,
            change or "nothing to change",
        )
        self._note_change(getattr(task, "updated_at", None))
        self._tabs_for({(f.code, f.severity) for f in findings})
        return findings

    def sweep(self) -> None:
        """Re-check every task of the project that carries taxospec findings (after deletions of
        annotations the receiver never saw: one of them may have caused the findings)."""
        for task in self.client.tasks.list(project=self.project, fields="all"):
            if has_findings(task):
                self.check_task(int(task.id), task)

    def catch_up(self) -> int:
        """Queue the tasks changed since the newest change checked (events sent while the receiver was down
        are not retried by Label Studio); returns how many."""
        since = self.store.fact("last_change")
        if since is None:
            return 0
        import json

        item = {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}
        query = json.dumps({"filters": {"conjunction": "and", "items": [item]}})
        ids = [int(task.id) for task in self.client.tasks.list(project=self.project, query=query, fields="all")]
        if ids:
            self.store.add(ids)
        return len(ids)

    def _note_change(self, updated_at: Any) -> None:
        stamp = ls_time(updated_at)
        if stamp is not None and stamp > (self.store.fact("last_change") or ""):
            self.store.set_fact("last_change", stamp)

    def _tabs_for(self, found: set[tuple[str, str]]) -> None:
        """Add the Data Manager tabs of (code, severity) pairs seen for the first time (never deleting any:
        only a batch run sees every finding)."""
        new = found - self._tabs
        if new and "prediction" in self.targets:
            sync_views(self.client, self.project, self._tabs | new, prune=False)
            self._tabs |= new
