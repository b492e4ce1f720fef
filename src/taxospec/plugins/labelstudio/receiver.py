"""The HTTP front of `taxospec serve`: a webhook receiver and a Label Studio ML backend on one port.

Routes:

- `POST /` — taxospec's own webhook (`--register`): the shared secret in the `X-Taxospec-Secret` header.
- `GET /health`, `POST /setup`, `POST /predict`, `POST /webhook`, `GET /metrics` — the protocol Label
  Studio speaks to ML backends (as HumanSignal/label-studio-ml-backend defines it). `/setup` and
  `/predict` take HTTP Basic authentication with the secret as password (Label Studio's "Use Basic
  Authentication" on the model). `/webhook` is the webhook Label Studio makes by itself for an ML backend,
  with no way to add a secret: its events are only hints (the task is read from Label Studio before it is
  checked) and must name this project.
- `GET /` — the receiver's counters.

A webhook is persisted (`state`) before the 2xx answer and checked by a worker later, so the answer comes
well within Label Studio's 1 s webhook timeout. Malformed, unauthenticated, oversized requests, ids out of
range and other projects' events get a 4xx answer in JSON; nothing a request sends can stop the server.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from taxospec.plugins.labelstudio.events import is_id, parse_event
from taxospec.plugins.labelstudio.jsonstream import without_lone_surrogates
from taxospec.plugins.labelstudio.service import Service
from taxospec.plugins.labelstudio.state import QueueFull
from taxospec.plugins.labelstudio.task_findings import MODEL_VERSION, Run
from taxospec.plugins.labelstudio.task_view import prediction_of

SECRET_HEADER = "X-Taxospec-Secret"
MAX_BODY = 8 * 1024 * 1024
log = logging.getLogger("taxospec.serve")


class Refused(Exception):
    """A request answered with a 4xx/5xx status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Server(ThreadingHTTPServer):
    """A threading HTTP server with a listen backlog sized for bursts (the standard library's is 5)."""

    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed outside any route (the client went away mid-answer): one log line, not
        the standard library's traceback."""
        import sys

        kind, value, _ = sys.exc_info()
        log.warning("%s: the connection failed: %s", client_address[0], kind.__name__ if kind else value)


def make_handler(service: Service, secret: str) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to `service` and the shared `secret`."""
    return type("Handler", (_Handler,), {"service": service, "secret": secret})


class _Handler(BaseHTTPRequestHandler):
    service: Service
    secret: str
    server_version = "taxospec"
    timeout = 10  # seconds a client may take to send its request; a stalled one is dropped

    def do_POST(self) -> None:
        routes = {
            "/": self._webhook,
            "/webhook": self._ml_webhook,
            "/setup": self._setup,
            "/predict": self._predict,
        }
        route = routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                raise Refused(404, f"no such endpoint: POST {self.path[:80]}")
            status, body = route()
        except Refused as refused:
            status, body = refused.status, {"status": refused.status, "message": str(refused)}
        except Exception as exc:  # a bug must cost one answer, never the server or a traceback
            log.error("POST %s: internal error: %s: %s", self.path[:80], type(exc).__name__, exc)
            status, body = 500, {"status": 500, "message": f"internal error ({type(exc).__name__}); see the log"}
        self._answer(status, body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._answer(200, {"status": "UP", "model_class": "taxospec", "model_version": MODEL_VERSION})
        elif path in ("/", "/metrics"):
            self._answer(200, {"project": self.service.project, **self.service.store.status()})
        else:
            self._answer(404, {"status": 404, "message": f"no such endpoint: GET {self.path[:80]}"})

    def do_HEAD(self) -> None:
        self._answer(200 if self.path.split("?", 1)[0] in ("/", "/health", "/metrics") else 404, {}, head=True)

    def _refuse_method(self) -> None:
        self._answer(405, {"status": 405, "message": f"{self.command} is not served"}, allow="GET, HEAD, POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    # --- routes -------------------------------------------------------------------------------------

    def _webhook(self) -> tuple[int, dict[str, Any]]:
        sent = self.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.secret.encode()):
            raise Refused(401, "missing or wrong secret")
        return self._queue(self._json(), lenient=False)

    def _ml_webhook(self) -> tuple[int, dict[str, Any]]:
        return self._queue(self._json(), lenient=True)

    def _queue(self, payload: Any, *, lenient: bool) -> tuple[int, dict[str, Any]]:
        try:
            message = self.service.accept(parse_event(payload, self.service.project, lenient=lenient))
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        except QueueFull as exc:
            raise Refused(503, f"busy: {exc}") from None
        return 202, {"status": 202, "message": message}

    def _setup(self) -> tuple[int, dict[str, Any]]:
        self._basic_auth()
        body = self._json()
        _project_of(body.get("project") if isinstance(body, dict) else None, self.service.project)
        return 200, {"model_version": MODEL_VERSION}

    def _predict(self) -> tuple[int, dict[str, Any]]:
        self._basic_auth()
        body = self._json()
        tasks = body.get("tasks") if isinstance(body, dict) else None
        if (
            not isinstance(tasks, list)
            or not tasks
            or not all(isinstance(t, dict) and is_id(t.get("id")) for t in tasks)
        ):
            raise Refused(400, "no tasks to predict")
        _project_of(body.get("project"), self.service.project)
        return 200, {"results": [_prediction(self.service, task) for task in tasks]}

    # --- plumbing -----------------------------------------------------------------------------------

    def _basic_auth(self) -> None:
        given = self.headers.get("Authorization", "")
        password = ""
        if given.startswith("Basic "):
            try:
                password = base64.b64decode(given[6:], validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                password = ""
        if not hmac.compare_digest(password.encode(), self.secret.encode()):
            raise Refused(401, "HTTP Basic authentication with the secret as password is required")

    def _json(self) -> Any:
        text = self.headers.get("Content-Length")
        if text is None:
            raise Refused(411, "a Content-Length is required")
        try:
            length = int(text)
        except ValueError:
            raise Refused(400, "Content-Length is not a number") from None
        if length < 0:
            raise Refused(400, "Content-Length is negative")
        if length > MAX_BODY:
            raise Refused(413, f"payload too large (at most {MAX_BODY // 1024 // 1024} MiB)")
        try:
            return without_lone_surrogates(json.loads(self.rfile.read(length)))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Refused(400, "the body is not JSON") from None

    def _answer(self, status: int, body: dict[str, Any], *, head: bool = False, allow: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests (bad request line, headers) answered in JSON like everything else."""
        self.close_connection = True
        self._answer(code, {"status": code, "message": message or "bad request"})

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s " + format, self.address_string(), *args)


def _project_of(given: Any, project: int) -> None:
    """Refuse an ML backend request for another project (`project` is `"ID.TIMESTAMP"` there)."""
    text = str(given) if given is not None else ""
    if text.split(".", 1)[0] != str(project):
        raise Refused(400, f"a request for project {text[:40]!r}, not {project}")


def _prediction(service: Service, task: dict[str, Any]) -> dict[str, Any]:
    """One task's `taxospec` prediction for `/predict`: what a live run finds, with the last batch run's."""
    findings = service.checker.findings(task)
    result, score = prediction_of(findings, task, service.where.panel)
    if not findings and service.where.panel is not None:
        result[-1]["value"] = {"text": [f"taxospec: no findings ({Run.now('live').label})"]}
    return {"result": result, "score": score, "model_version": MODEL_VERSION}
