"""A webhook receiver that checks each annotated task as it is saved and writes its findings back.

Label Studio gives a webhook 1 s and never retries, so the handler only authenticates, parses and queues;
a worker thread behind a bounded queue fetches the task, runs the per-task checks on it and writes the
findings into the task's meta. Anything malformed, unauthenticated, too large or for another project is
refused with a 4xx answer; a full queue answers 503; nothing a request sends can stop the server.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from taxospec.errors import TaxospecError
from taxospec.plugins.labelstudio.writeback import task_notes, update_task
from taxospec.spec.model import Spec

SECRET_HEADER = "X-Taxospec-Secret"
ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED")
"""The actions whose task is checked; PROJECT_UPDATED is also taken, to follow config changes."""
MAX_BODY = 8 * 1024 * 1024
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
    tasks: queue.Queue[int] = field(default_factory=lambda: queue.Queue(maxsize=1000))
    checked: int = 0

    def task_ids(self, payload: Any) -> list[int]:
        """The task ids a webhook payload is about (none for PROJECT_UPDATED, which refreshes the labeling
        config); raises ValueError for anything Label Studio would not send."""
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
            self.config_xml = config
            return []
        tasks = payload.get("task")
        tasks = tasks if isinstance(tasks, list) else [tasks]
        raw = [t.get("id") for t in tasks if isinstance(t, dict)]
        ids = [i for i in raw if isinstance(i, int) and not isinstance(i, bool) and i >= 0]
        if not ids or len(ids) != len(raw):
            raise ValueError("no task ids in the payload")
        return sorted(set(ids))

    def check_task(self, task_id: int) -> None:
        """Fetch one task, run the per-task checks on it and write its findings into its meta."""
        from taxospec.api import check
        from taxospec.plugins.labelstudio.config import parse_label_config

        task = self.client.tasks.get(id=str(task_id))
        config = parse_label_config(self.config_xml, f"project {self.project}")
        with tempfile.TemporaryDirectory(prefix="taxospec-serve-") as folder:
            export = Path(folder) / "task.json"
            export.write_text(json.dumps([task.model_dump(mode="json")]), encoding="utf-8")
            report = check(self.spec, export, config=config, ls_url=self.ls_url, embed=False)
        update_task(self.client, task, task_notes(report.findings).get(task_id))
        self.checked += 1

    def work(self) -> None:
        """The worker loop: check queued tasks one at a time; a failure is logged, never fatal."""
        while True:
            task_id = self.tasks.get()
            try:
                self.check_task(task_id)
            except Exception as exc:  # one bad task must not stop the receiver
                log.warning("task %s: %s", task_id, exc)
            finally:
                self.tasks.task_done()


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
                ids = receiver.task_ids(json.loads(self.rfile.read(length)))
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                return self._answer(400, str(exc))
            try:
                for task_id in ids:
                    receiver.tasks.put_nowait(task_id)
            except queue.Full:
                return self._answer(503, "busy: the check queue is full")
            self._answer(202, f"queued {len(ids)} task(s)")

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
