"""The webhook receiver's front door over real HTTP: what it queues, and every request it must refuse."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from taxospec import load_spec
from taxospec.plugins.labelstudio.serve import SECRET_HEADER, Deleted, Receiver, make_handler

from ..conftest import EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "label-studio"
SECRET = "s3cret-for-tests"


def _payload(name: str) -> dict[str, object]:
    body: dict[str, object] = json.loads((FIXTURES / name).read_text())["body"]
    return body


@pytest.fixture
def receiver() -> Receiver:
    project = _payload("webhook_02_ANNOTATION_CREATED.json")["project"]
    assert isinstance(project, dict)
    spec = load_spec(EXAMPLES / "football-signals" / "spec.yaml")
    return Receiver(spec, None, int(project["id"]), "<View/>", SECRET)


@pytest.fixture
def url(receiver: Receiver) -> Iterator[str]:
    """The receiver's front door only (no worker), so the queue shows what was accepted."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(receiver))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={SECRET_HEADER: SECRET} if headers is None else headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _queued(receiver: Receiver) -> list[int | Deleted]:
    items = []
    while not receiver.tasks.empty():
        items.append(receiver.tasks.get_nowait())
    return items


@pytest.mark.parametrize("name", ["webhook_02_ANNOTATION_CREATED.json", "webhook_03_ANNOTATION_UPDATED.json"])
def test_annotation_webhooks_are_queued(url: str, receiver: Receiver, name: str) -> None:
    payload = _payload(name)
    assert _post(url, json.dumps(payload).encode()) == 202
    task = payload["task"]
    assert isinstance(task, dict)
    assert _queued(receiver) == [task["id"]]


def test_bulk_annotations_are_queued_once_per_task(url: str, receiver: Receiver) -> None:
    payload = _payload("webhook_02_ANNOTATION_CREATED.json")
    task = payload["task"]
    assert isinstance(task, dict)
    bulk = {**payload, "action": "ANNOTATIONS_CREATED", "task": [task, {**task, "id": 99}, task]}
    assert _post(url, json.dumps(bulk).encode()) == 202
    assert _queued(receiver) == sorted({task["id"], 99})


def test_other_actions_are_refused(url: str, receiver: Receiver) -> None:
    assert _post(url, json.dumps(_payload("webhook_01_TASKS_CREATED.json")).encode()) == 400
    assert _queued(receiver) == []


def test_a_deleted_annotation_queues_its_task_when_seen_else_a_sweep(url: str, receiver: Receiver) -> None:
    """ANNOTATIONS_DELETED names annotations only: their tasks come from the created/updated payloads seen
    before; the ones never seen become one sweep over the tasks that carry findings."""
    created = _payload("webhook_02_ANNOTATION_CREATED.json")
    annotation, task = created["annotation"], created["task"]
    assert isinstance(annotation, dict) and isinstance(task, dict)
    assert _post(url, json.dumps(created).encode()) == 202
    assert _queued(receiver) == [task["id"]]
    deleted = _payload("webhook_09_ANNOTATIONS_DELETED.json")
    both = {**deleted, "annotations": [{"id": annotation["id"]}, {"id": 4242}]}
    assert _post(url, json.dumps(both).encode()) == 202
    assert _queued(receiver) == [task["id"], Deleted((4242,))]
    # forgotten once deleted: a second deletion of the same id is a sweep
    assert _post(url, json.dumps({**deleted, "annotations": [{"id": annotation["id"]}]}).encode()) == 202
    assert _queued(receiver) == [Deleted((annotation["id"],))]
    for bad in ([], [{"id": "7"}], [{"id": 7}, 8], {"nope": 1}, None):
        assert _post(url, json.dumps({**deleted, "annotations": bad}).encode()) == 400
    assert _queued(receiver) == []


def test_bulk_created_annotations_are_remembered_by_their_own_task(url: str, receiver: Receiver) -> None:
    payload = _payload("webhook_02_ANNOTATION_CREATED.json")
    task = payload["task"]
    assert isinstance(task, dict)
    bulk = {
        **payload,
        "action": "ANNOTATIONS_CREATED",
        "task": [task, {**task, "id": 99}],
        "annotation": [{"id": 501, "task": task["id"]}, {"id": 502, "task": 99}],
    }
    assert _post(url, json.dumps(bulk).encode()) == 202
    _queued(receiver)
    assert dict(receiver.task_of_annotation) == {501: task["id"], 502: 99}


def test_hostile_requests_are_refused_and_the_server_lives(url: str, receiver: Receiver) -> None:
    good = _payload("webhook_02_ANNOTATION_CREATED.json")
    body = json.dumps(good).encode()
    assert _post(url, body, headers={}) == 401
    assert _post(url, body, headers={SECRET_HEADER: "wrong"}) == 401
    assert (
        _post(
            url,
            b"{not json",
        )
        == 400
    )
    assert _post(url, b"\xff\xfe\x00garbage") == 400
    assert _post(url, b"[" * 100_000 + b"]" * 100_000) == 400
    assert _post(url, json.dumps({**good, "project": {"id": 12345}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": {"id": "1; DROP TABLE"}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": {"id": True}}).encode()) == 400
    assert _post(url, json.dumps({**good, "task": [{"id": 1}, {"id": -5}]}).encode()) == 400
    assert _post(url, b"x", headers={SECRET_HEADER: SECRET, "Content-Length": str(10**9)}) == 413
    assert _queued(receiver) == []
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.status == 200
    assert _post(url, body) == 202


def test_a_full_queue_answers_busy(url: str, receiver: Receiver) -> None:
    payload = {"action": "ANNOTATION_CREATED", "project": {"id": receiver.project}, "task": {"id": 1}}
    for _ in range(receiver.tasks.maxsize):
        receiver.tasks.put_nowait(0)
    assert _post(url, json.dumps(payload).encode()) == 503


def test_a_project_update_refreshes_the_config(url: str, receiver: Receiver) -> None:
    payload = _payload("webhook_08_PROJECT_UPDATED.json")
    project = payload["project"]
    assert isinstance(project, dict)
    assert _post(url, json.dumps(payload).encode()) == 202
    assert receiver.config_xml == project["label_config"] and _queued(receiver) == []
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": 5}}).encode()) == 400
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": "<View"}}).encode()) == 400
    assert receiver.config_xml == project["label_config"]
    assert receiver.where.panel_to_name is None
    panel = '<View><Image name="img" value="$image"/><TextArea name="taxospec" toName="img"/></View>'
    assert _post(url, json.dumps({**payload, "project": {**project, "label_config": panel}}).encode()) == 202
    assert receiver.where.panel_to_name == "img"  # findings now also go into the editor's panel
