"""A webhook receiver that checks each annotated task as it is saved and writes its findings back.

Label Studio gives a webhook 1 s and never retries, so the handler only authenticates, parses and queues;
a worker thread behind a bounded queue fetches the task, runs the per-task checks on it and writes the
findings back (task meta and/or the `taxospec` prediction). Anything malformed, unauthenticated, too large
or for another project is refused with a 4xx answer; a full queue answers 503; nothing a request sends can
stop the server.

ANNOTATIONS_DELETED names only the deleted annotations, so the receiver remembers which task each
annotation it has seen belongs to; annotations it has not seen (made before it started) are found by
re-checking every task that still carries taxospec findings.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from taxospec.errors import TaxospecError
from taxospec.plugins.labelstudio.config import LabelConfig, parse_label_config
from taxospec.plugins.labelstudio.jsonstream import without_lone_surrogates
from taxospec.plugins.labelstudio.writeback import (
    TARGETS,
    Destination,
    Target,
    destination,
    has_findings,
    task_notes,
    update_task,
)
from taxospec.spec.model import Spec

SECRET_HEADER = "X-Taxospec-Secret"
ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED")
"""The actions whose task is checked; PROJECT_UPDATED is also taken, to follow config changes."""
MAX_BODY = 8 * 1024 * 1024
MAX_REMEMBERED = 200_000
"""Annotation → task pairs kept for ANNOTATIONS_DELETED (the oldest are forgotten first)."""


@dataclass(frozen=True)
class Deleted:
    """A job: annotations deleted that the receiver has not seen; their tasks are found by a sweep."""

    annotation_ids: tuple[int, ...]


Job = int | Deleted
"""What the worker queue holds: a task id to check, or deleted annotations to find."""
log = logging.getLogger("taxospec.serve")


@dataclass
class Receiver:
    """What the webhook needs: the spec, the project and its config, a client, the secret and the queue."""

    spec: Spec
    client: Any
    project: int
    config_xml: str
    secret: str
    ls_url: str | None = None
    targets: frozenset[Target] = TARGETS["both"]
    tasks: queue.Queue[Job] = field(default_factory=lambda: queue.Queue(maxsize=1000))
    checked: int = 0
    task_of_annotation: OrderedDict[int, int] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _config: LabelConfig | None = field(default=None, init=False, repr=False)

    @property
    def config(self) -> LabelConfig:
        """The project's labeling config, parsed once per version of it."""
        if self._config is None:
            self._config = parse_label_config(self.config_xml, f"project {self.project}")
        return self._config

    @property
    def where(self) -> Destination:
        """Where findings go: the targets, with the findings panel of the current config."""
        return destination(self.targets, self.config)

    def jobs(self, payload: Any) -> list[Job]:
        """What a webhook payload asks for: the tasks to check (none for PROJECT_UPDATED, which refreshes the
        labeling config); raises ValueError for anything Label Studio would not send."""
        if not isinstance(payload, dict) or payload.get("action") not in (*ACTIONS, "PROJECT_UPDATED"):
            raise ValueError("not an annotation or project-update webhook")
        project = payload.get("project")
        project_id = project.get("id") if isinstance(project, dict) else project
        if project_id != self.project:
            raise ValueError(f"a webhook for project {project_id!r}, not {self.project}")
        if payload["action"] == "PROJECT_UPDATED":
            config = project.get("label_config") if isinstance(project, dict) else None
            if not isinstance(config, str) or not config.strip():
                raise ValueError("a project update without its labeling config")
            try:
                parsed = parse_label_config(config, f"project {self.project}")
            except TaxospecError as exc:
                raise ValueError(str(exc)) from None
            self.config_xml, self._config = config, parsed
            return []
        if payload["action"] == "ANNOTATIONS_DELETED":
            return self._deleted(_ids(payload.get("annotations"), "annotation"))
        ids = _ids(payload.get("task"), "task")
        self._remember(payload.get("annotation"), ids)
        return list[Job](sorted(set(ids)))

    def _remember(self, annotations: Any, task_ids: list[int]) -> None:
        """Note which task each annotation of a created/updated payload belongs to."""
        items = annotations if isinstance(annotations, list) else [annotations]
        with self.lock:
            for item in items:
                if not isinstance(item, dict) or type(item.get("id")) is not int:
                    continue
                task = item.get("task", task_ids[0] if len(task_ids) == 1 else None)
                if isinstance(task, int) and not isinstance(task, bool):
                    self.task_of_annotation[item["id"]] = task
                    self.task_of_annotation.move_to_end(item["id"])
            while len(self.task_of_annotation) > MAX_REMEMBERED:
                self.task_of_annotation.popitem(last=False)

    def _deleted(self, annotation_ids: list[int]) -> list[Job]:
        """Jobs for deleted annotations: their tasks where known, else one sweep."""
        with self.lock:
            known = {a: self.task_of_annotation.pop(a) for a in annotation_ids if a in self.task_of_annotation}
        unknown = tuple(a for a in annotation_ids if a not in known)
        jobs = list[Job](sorted(set(known.values())))
        return [*jobs, Deleted(unknown)] if unknown else jobs

    def sweep(self, job: Deleted) -> None:
        """Re-check every task of the project that carries taxospec findings (after deletions of
        annotations this receiver never saw: one of them may have caused the findings)."""
        for task in self.client.tasks.list(project=self.project, fields="all"):
            if has_findings(task):
                self.check_task(int(task.id), task)

    def check_task(self, task_id: int, task: Any = None) -> None:
        """Fetch one task (unless given), run the per-task checks on it and write its findings back."""
        from taxospec.api import check

        task = task if task is not None else self.client.tasks.get(id=str(task_id))
        with tempfile.TemporaryDirectory(prefix="taxospec-serve-") as folder:
            export = Path(folder) / "task.json"
            export.write_text(json.dumps([task.model_dump(mode="json")]), encoding="utf-8")
            report = check(self.spec, export, config=self.config, ls_url=self.ls_url, embed=False)
        update_task(self.client, task, task_notes(report.findings).get(task_id), self.where)
        self.checked += 1

    def work(self) -> None:
        """The worker loop: run queued jobs one at a time; a failure is logged, never fatal."""
        while True:
            job = self.tasks.get()
            try:
                if isinstance(job, Deleted):
                    self.sweep(job)
                else:
                    self.check_task(job)
            except Exception as exc:  # one bad task must not stop the receiver
                log.warning("%s: %s", f"task {job}" if isinstance(job, int) else "deleted annotations", exc)
            finally:
                self.tasks.task_done()


def _ids(items: Any, what: str) -> list[int]:
    """The ids of a payload's `task` or `annotations` (an object or a list of them); ValueError if any is
    missing or not a non-negative integer."""
    items = items if isinstance(items, list) else [items]
    raw = [item.get("id") for item in items if isinstance(item, dict)]
    ids = [i for i in raw if isinstance(i, int) and not isinstance(i, bool) and i >= 0]
    if not ids or len(ids) != len(raw) or len(raw) != len(items):
        raise ValueError(f"no {what} ids in the payload")
    return ids


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to `receiver`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "taxospec"
        timeout = 10  # seconds a client may take to send its request; a stalled one is dropped

        def do_POST(self) -> None:
            sent = self.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(sent.encode(), receiver.secret.encode()):
                return self._answer(401, "missing or wrong secret")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._answer(411, "a Content-Length is required")
            if length < 0 or length > MAX_BODY:
                return self._answer(413, "payload too large")
            try:
                jobs = receiver.jobs(without_lone_surrogates(json.loads(self.rfile.read(length))))
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                return self._answer(400, str(exc))
            try:
                for job in jobs:
                    receiver.tasks.put_nowait(job)
            except queue.Full:
                return self._answer(503, "busy: the check queue is full")
            self._answer(202, f"queued {len(jobs)} job(s)")

        def do_GET(self) -> None:
            self._answer(200, f"taxospec webhook for project {receiver.project}; {receiver.checked} checked")

        def _answer(self, status: int, message: str) -> None:
            body = json.dumps({"status": status, "message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s " + format, self.address_string(), *args)

    return Handler


def start(receiver: Receiver, host: str, port: int) -> ThreadingHTTPServer:
    """Bind the server and start the worker thread; the caller runs `serve_forever`."""
    try:
        server = ThreadingHTTPServer((host, port), make_handler(receiver))
    except OSError as exc:
        raise TaxospecError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    threading.Thread(target=receiver.work, name="taxospec-checks", daemon=True).start()
    return server


def register(client: Any, project: int, url: str, secret: str) -> int:
    """Create the project's webhook pointing at `url` with the secret header; returns its id."""
    from taxospec.plugins.labelstudio.client import requests_about

    with requests_about(project):
        hook = client.webhooks.create(
            url=url,
            project=project,
            actions=[*ACTIONS, "PROJECT_UPDATED"],
            send_for_all_actions=False,
            send_payload=True,
            headers={SECRET_HEADER: secret},
        )
    return int(hook.id)
