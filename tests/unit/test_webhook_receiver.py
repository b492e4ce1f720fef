"""The receiver's front door over real HTTP, with a real state store: what it persists, coalesces and
refuses, the ML backend routes, and that nothing accepted is lost across a restart."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taxospec import load_spec
from taxospec.plugins.labelstudio import state
from taxospec.plugins.labelstudio.receiver import SECRET_HEADER, Server, make_handler
from taxospec.plugins.labelstudio.service import Service
from taxospec.plugins.labelstudio.state import SWEEP, StateStore
from taxospec.plugins.labelstudio.writeback import TARGETS

from ..conftest import EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "label-studio"
SECRET = "s3cret-for-tests"
PANEL = '<View><Image name="img" value="$image"/><TextArea name="taxospec" toName="img"/></View>'


def _payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())["body"]
    return body


PROJECT = int(_payload("webhook_02_ANNOTATION_CREATED.json")["project"]["id"])


def _service(folder: Path, config: str = "<View/>") -> Service:
    spec = load_spec(EXAMPLES / "football-signals" / "spec.yaml")
    store = StateStore(folder / "state.sqlite3")
    return Service(spec, None, "http://ls", PROJECT, store, folder, TARGETS["both"], config)


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return _service(tmp_path)


@pytest.fixture
def url(service: Service) -> Iterator[str]:
    """The receiver's front door only (no worker), so the store shows what was accepted."""
    server = Server(("127.0.0.1", 0), make_handler(service, SECRET))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def _request(
    url: str, body: bytes | None, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={SECRET_HEADER: SECRET} if headers is None else headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read()
        return int(error.code), json.loads(text) if text else None


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    return _request(url, body, headers)[0]


def _pending(service: Service) -> list[int]:
    db = service.store._db()
    return [int(row[0]) for row in db.execute("SELECT task FROM pending ORDER BY task")]


@pytest.mark.parametrize("name", ["webhook_02_ANNOTATION_CREATED.json", "webhook_03_ANNOTATION_UPDATED.json"])
def test_annotation_webhooks_are_persisted(url: str, service: Service, name: str) -> None:
    payload = _payload(name)
    assert _post(url, json.dumps(payload).encode()) == 202
    assert _pending(service) == [payload["task"]["id"]]


def test_tasks_created_are_checked_too(url: str, service: Service) -> None:
    """Tasks imported with annotations fire only TASKS_CREATED."""
    payload = _payload("webhook_01_TASKS_CREATED.json")
    assert _post(url, json.dumps(payload).encode()) == 202
    assert _pending(service) == sorted(t["id"] for t in payload["tasks"])


def test_repeated_events_for_one_task_coalesce(url: str, service: Service) -> None:
    payload = _payload("webhook_02_ANNOTATION_CREATED.json")
    task = payload["task"]
    bulk = {**payload, "action": "ANNOTATIONS_CREATED", "task": [task, {**task, "id": 99}, task]}
    for _ in range(5):
        assert _post(url, json.dumps(payload).encode()) == 202
    assert _post(url, json.dumps(bulk).encode()) == 202
    assert _pending(service) == sorted({task["id"], 99})
    status = service.store.status()
    assert status["events"] == 6 and status["coalesced"] == 5 and status["pending"] == 2


def test_a_deleted_annotation_queues_its_task_when_seen_else_a_sweep(url: str, service: Service) -> None:
    """ANNOTATIONS_DELETED names annotations only: their tasks come from the created/updated payloads seen
    before (kept on disk); the ones never seen become one sweep over the tasks that carry findings."""
    created = _payload("webhook_02_ANNOTATION_CREATED.json")
    annotation, task = created["annotation"], created["task"]
    assert _post(url, json.dumps(created).encode()) == 202
    service.store._db().execute("DELETE FROM pending")
    deleted = _payload("webhook_09_ANNOTATIONS_DELETED.json")
    both = {**deleted, "annotations": [{"id": annotation["id"]}, {"id": 4242}]}
    assert _post(url, json.dumps(both).encode()) == 202
    assert _pending(service) == [SWEEP, task["id"]]
    service.store._db().execute("DELETE FROM pending")
    # forgotten once deleted: a second deletion of the same id is a sweep
    assert _post(url, json.dumps({**deleted, "annotations": [{"id": annotation["id"]}]}).encode()) == 202
    assert _pending(service) == [SWEEP]
    for bad in ([], [{"id": "7"}], [{"id": 7}, 8], {"nope": 1}, None, [{"id": 2**31}]):
        assert _post(url, json.dumps({**deleted, "annotations": bad}).encode()) == 400


def test_bulk_created_annotations_are_remembered_by_their_own_task(url: str, service: Service) -> None:
    payload = _payload("webhook_02_ANNOTATION_CREATED.json")
    task = payload["task"]
    bulk = {
        **payload,
        "action": "ANNOTATIONS_CREATED",
        "task": [task, {**task, "id": 99}],
        "annotation": [{"id": 501, "task": task["id"]}, {"id": 502, "task": 99}],
    }
    assert _post(url, json.dumps(bulk).encode()) == 202
    assert service.store.tasks_of([501, 502, 503]) == {501: task["id"], 502: 99}


def test_accepted_events_survive_a_restart(tmp_path: Path) -> None:
    first = _service(tmp_path)
    first.store.add([7, 8], {70: 7})
    first.store.close()
    again = _service(tmp_path)
    assert _pending(again) == [7, 8] and again.store.tasks_of([70]) == {70: 7}
    job = again.store.claim()
    assert job is not None and job.task == 7
    again.store.add([7])  # an event while the job runs: the task stays pending after it
    again.store.done(job)
    assert _pending(again) == [7, 8]


def test_hostile_requests_are_refused_and_the_server_lives(url: str, service: Service) -> None:
    good = _payload("webhook_02_ANNOTATION_CREATED.json")
    body = json.dumps(good).encode()
    assert _post(url, body, headers={}) == 401
    assert _post(url, body, headers={SECRET_HEADER: "wrong"}) == 401
    assert _post(url, b"{not json") == 400
    assert _post(url, b"\xff\xfe\x00garbage") == 400
    assert _post(url, b"[" * 100_000 + b"]" * 100_000) == 400
    assert _post(url, json.dumps({**good, "project": {"id": 12345}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": {"id": "1; DROP TABLE"}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": {"id": True}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": [{"id": 1}, {"id": -5}]}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": {"id": 10**30}}).encode()) == 400, "an id out of range"
    assert _post(url, json.dumps({**good, "task": {"id": 2**31}}).encode()) == 400
    assert _post(url, b"x", headers={SECRET_HEADER: SECRET, "Content-Length": str(10**9)}) == 413
    assert _pending(service) == []
    status, answer = _request(url, None, method="GET")
    assert status == 200 and answer["project"] == PROJECT
    assert _post(url, body) == 202


def test_odd_lengths_methods_and_request_lines_get_json_answers(url: str) -> None:
    host, port = url.split("//")[1].rstrip("/").split(":")
    answers = {
        "negative length": _raw(
            host, int(port), b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n" + _secret() + b"\r\n"
        ),
        "no length": _raw(
            host,
            int(port),
            b"POST / HTTP/1.1\r\nHost: x\r\n" + SECRET_HEADER.encode() + b": " + SECRET.encode() + b"\r\n\r\n",
        ),
        "PUT": _raw(host, int(port), b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        "DELETE": _raw(host, int(port), b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"),
    }
    assert answers["negative length"][0] == 400 and answers["no length"][0] == 411
    assert answers["PUT"][0] == 405 and "Allow: GET, HEAD, POST" in answers["PUT"][1]
    assert answers["DELETE"][0] == 405
    for status, head, body in answers.values():
        assert "application/json" in head and json.loads(body)["status"] == status, head
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # no version: HTTP/0.9, no headers
        sock.sendall(b"GARBAGE\r\n\r\n")
        assert json.loads(sock.recv(65536))["status"] == 400


def _secret() -> bytes:
    return SECRET_HEADER.encode() + b": " + SECRET.encode() + b"\r\n"


def _raw(host: str, port: int, request: bytes) -> tuple[int, str, str]:
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) >= _length(data):
                break
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), head, body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_a_full_queue_answers_busy(url: str, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "MAX_PENDING", 3)
    payload = {"action": "ANNOTATION_CREATED", "project": {"id": PROJECT}, "task": [{"id": 1}, {"id": 2}]}
    assert _post(url, json.dumps(payload).encode()) == 202
    assert _post(url, json.dumps({**payload, "task": [{"id": 3}, {"id": 4}]}).encode()) == 503
    assert _post(url, json.dumps({**payload, "task": [{"id": 1}]}).encode()) == 202, "a waiting task still coalesces"


def test_a_project_update_refreshes_the_config(url: str, service: Service) -> None:
    payload = _payload("webhook_08_PROJECT_UPDATED.json")
    project = payload["project"]
    assert _post(url, json.dumps(payload).encode()) == 202
    assert service.config_xml == project["label_config"] and _pending(service) == []
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": 5}}).encode()) == 400
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": "<View"}}).encode()) == 400
    assert service.config_xml == project["label_config"]
    assert service.where.panel is None
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": PANEL}}).encode()) == 202
    assert service.where.panel is not None and service.where.panel.to_name == "img"


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"ls:{password}".encode()).decode()


def test_the_ml_backend_routes(url: str, service: Service) -> None:
    status, health = _request(url + "health", None, headers={}, method="GET")
    assert status == 200 and health["status"] == "UP"
    setup = json.dumps({"project": f"{PROJECT}.1700000000", "schema": "<View/>", "access_token": "x"}).encode()
    assert _request(url + "setup", setup, headers={})[0] == 401
    assert _request(url + "setup", setup, headers={"Authorization": _basic("wrong")})[0] == 401
    assert _request(url + "setup", setup, headers={"Authorization": "Basic %%%"})[0] == 401
    status, answer = _request(url + "setup", setup, headers={"Authorization": _basic(SECRET)})
    assert status == 200 and answer == {"model_version": "taxospec"}
    other = json.dumps({"project": "999.1700000000", "schema": "<View/>"}).encode()
    assert _request(url + "setup", other, headers={"Authorization": _basic(SECRET)})[0] == 400
    # the ML webhook takes every action Label Studio sends, checks the ones about annotations, no secret
    training = {"action": "START_TRAINING", "project": {"id": PROJECT}}
    assert _request(url + "webhook", json.dumps(training).encode(), headers={})[0] == 202
    created = _payload("webhook_02_ANNOTATION_CREATED.json")
    assert _request(url + "webhook", json.dumps(created).encode(), headers={})[0] == 202
    assert _pending(service) == [created["task"]["id"]]
    assert _request(url + "webhook", json.dumps({**created, "project": {"id": 5}}).encode(), headers={})[0] == 400
    assert _request(url + "nowhere", b"{}", headers={})[0] == 404


def test_predict_draws_the_findings_of_each_task(tmp_path: Path) -> None:
    """`/predict` answers one prediction per task, as Label Studio stores them: the offending segment drawn
    from the annotation, the task-level findings in the panel, a batch finding kept."""
    export = json.loads((EXAMPLES / "football-signals" / "export.json").read_text())
    xml = (EXAMPLES / "football-signals" / "project.xml").read_text()
    service = _service(tmp_path, xml.replace("</View>", '<TextArea name="taxospec" toName="video"/></View>', 1))
    from taxospec import check

    offline = tmp_path / "export.json"
    offline.write_text(json.dumps(export))
    report = check(EXAMPLES / "football-signals" / "spec.yaml", offline)
    long = next(f for f in report.findings if f.code == "segment-too-long")
    task = next(t for t in export if t["id"] == long.task_id)
    task["meta"] = {
        "taxospec": {
            "findings": [
                {
                    "code": "split-group-leakage",
                    "severity": "error",
                    "message": "leak",
                    "region_id": None,
                    "run": "batch",
                    "at": "2026-12-01T10:00:00Z",
                }
            ]
        }
    }
    server = Server(("127.0.0.1", 0), make_handler(service, SECRET))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = json.dumps({"tasks": [task], "project": f"{PROJECT}.1", "label_config": xml}).encode()
        status, answer = _request(
            f"http://127.0.0.1:{server.server_port}/predict", body, {"Authorization": _basic(SECRET)}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    [prediction] = answer["results"]
    assert prediction["model_version"] == "taxospec" and prediction["score"] is None
    drawn = [r for r in prediction["result"] if r["type"] == "timelinelabels"]
    assert drawn and drawn[0]["id"] == f"taxospec-{long.region_id}" and drawn[0]["readonly"] is True
    assert any("segment-too-long" in line and "live run" in line for line in drawn[0]["meta"]["text"])
    [panel] = [r for r in prediction["result"] if r["from_name"] == "taxospec"]
    assert any(
        line.startswith("[error] split-group-leakage: leak (batch run 2026-12-01 10:00 UTC)")
        for line in panel["value"]["text"]
    )


def test_a_bug_behind_a_route_costs_one_answer(url: str, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error boundary of the front door: an exception in a route is a JSON 500, logged in one line, and
    the next request is served."""

    def broken(event: Any) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "accept", broken)
    payload = json.dumps(_payload("webhook_02_ANNOTATION_CREATED.json")).encode()
    status, answer = _request(url, payload)
    assert status == 500 and "RuntimeError" in answer["message"]
    monkeypatch.undo()
    assert _post(url, payload) == 202
