"""`taxospec serve` against a real Label Studio 1.23.2 as a labeling team uses it: every defect of issue 15
has its regression test here (findings kept across live checks, one webhook however often it is
registered, no event lost in a burst or while Label Studio is down, no duplicate predictions, no secret in
the log, ids out of range refused, push and its messages), and the ML backend connected through the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from taxospec import check

from ..conftest import EXAMPLES
from .labelstudio_server import TOKEN, free_port, pushed_project
from .proxy import Proxy

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls_token")]
Run = Callable[..., Result]
FOOTBALL = EXAMPLES / "football-signals"
SECRET = "hook-secret-0001"
SECRET_HEADER = "X-Taxospec-Secret"


@dataclass
class Serve:
    url: str
    log: Path
    process: subprocess.Popen[str]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        text = self.log.read_text()
        assert self.process.returncode == 0 and "Traceback" not in text, text[-3000:]
        return text


@contextmanager
def serving(ls_url: str, project: int, state: Path, *more: str, port: int | None = None) -> Iterator[Serve]:
    """`taxospec serve` in a process of its own, started as a shell's background job is (SIGINT ignored)."""
    port = port or free_port()
    log = state / f"serve-{port}-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "taxospec", "serve", str(FOOTBALL / "spec.yaml"), "--ls-url", ls_url]
    command += ["--project", str(project), "--port", str(port), "--state-dir", str(state), *more]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            env={**os.environ, "TAXOSPEC_WEBHOOK_SECRET": SECRET},
            stderr=stderr,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    serve = Serve(f"http://127.0.0.1:{port}/", log, process)
    try:
        assert _wait_for(lambda: _get(serve.url) is not None or process.poll() is not None), log.read_text()
        assert process.poll() is None, log.read_text()
        yield serve
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def _post(url: str, payload: Any, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret else {}
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _wait_for(condition: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.3)
    return None


def _client(server: str) -> Any:
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=server, api_key=TOKEN)


def _findings(client: Any, task_id: int) -> list[dict[str, Any]]:
    """The findings in a task's taxospec meta entry."""
    note = (client.tasks.get(id=str(task_id)).meta or {}).get("taxospec") or {}
    return list(note.get("findings", []))


def _ours(client: Any, task_id: int) -> list[Any]:
    return [p for p in client.tasks.get(id=str(task_id)).predictions if p.model_version == "taxospec"]


def _tasks_with(code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A football task whose annotation has a `code` finding, and the export."""
    export = json.loads((FOOTBALL / "export.json").read_text())
    report = check(FOOTBALL / "spec.yaml", FOOTBALL / "export.json")
    finding = next(f for f in report.findings if f.code == code)
    return next(t for t in export if t["id"] == finding.task_id), export


def _project(run_cli: Run, server: str, title: str, tasks: list[dict[str, Any]]) -> tuple[int, list[int]]:
    """A pushed project with `tasks` (data and annotations) imported; its id and the new task ids."""
    project = pushed_project(run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", title).stdout)
    if not tasks:
        return project, []
    request = [{"data": t["data"], "annotations": [{"result": t["annotations"][0]["result"]}]} for t in tasks]
    imported = _client(server).projects.import_tasks(id=project, request=request, return_task_ids=True)
    return project, list(imported.task_ids or [])


def _leaking_pair() -> list[dict[str, Any]]:
    """Two tasks of one match, one in train and one in val, the first with a too-long segment."""
    source, _ = _tasks_with("segment-too-long")
    first = {**source, "data": {**source["data"], "match": "m99", "split": "train"}}
    second = {**source, "data": {**source["data"], "match": "m99", "split": "val"}}
    return [first, second]


def test_live_checks_keep_the_batch_findings_and_draw_them(server: str, run_cli: Run, tmp_path: Path) -> None:
    """Issue 15, point 1: re-saving an annotation unchanged, or deleting it, keeps the leak the batch run
    found (the live run cannot see other tasks), says which run found what, and keeps one prediction."""
    client = _client(server)
    project, (first, _) = _project(run_cli, server, "keep batch findings", _leaking_pair())
    wrote = run_cli(
        "check",
        FOOTBALL / "spec.yaml",
        "--url",
        server,
        "--project",
        str(project),
        "--write-back",
        "--state-dir",
        str(tmp_path),
    )
    assert wrote.exit_code == 1, wrote.stderr
    batch = {f["code"]: f for f in _findings(client, first)}
    assert batch["split-group-leakage"]["run"] == "batch" and "segment-too-long" in batch
    titles = {v.data["title"]: v for v in client.views.list(project=project)}
    assert {"taxospec: errors", "taxospec: split-group-leakage", "taxospec: segment-too-long"} <= set(titles)
    shown = client.tasks.list(project=project, view=titles["taxospec: split-group-leakage"].id)
    assert [int(t.id) for t in shown] == [first], "the tab filters the Data Manager by check"
    [prediction] = _ours(client, first)
    drawn = [r for r in prediction.result if r["type"] == "timelinelabels"]
    assert drawn and drawn[0]["readonly"] and any("segment-too-long" in t for t in drawn[0]["meta"]["text"])

    with serving(server, project, tmp_path, "--register") as serve:
        [annotation] = client.tasks.get(id=str(first)).annotations
        client.annotations.update(id=annotation["id"], result=annotation["result"])  # saved again, unchanged
        live = _wait_for(lambda: {f["code"]: f for f in _findings(client, first) if f["run"] == "live"} or None)
        assert live and "segment-too-long" in live, serve.log.read_text()
        now = {f["code"]: f for f in _findings(client, first)}
        assert now["split-group-leakage"]["run"] == "batch", "the batch finding survives a live check"
        assert len(_ours(client, first)) == 1
        client.annotations.delete(id=annotation["id"])
        gone = _wait_for(lambda: "task-unannotated" in {f["code"] for f in _findings(client, first)})
        assert gone, serve.log.read_text()
        after = {f["code"]: f["run"] for f in _findings(client, first)}
        # the two tasks share one video (duplicate-media) and one match across splits: both kept
        assert after == {"task-unannotated": "live", "split-group-leakage": "batch", "duplicate-media": "batch"}
        serve.stop()


def test_register_is_idempotent_and_unregister_removes_it(server: str, run_cli: Run, tmp_path: Path) -> None:
    """Issue 15, point 2: a restarted `serve --register` updates its webhook instead of adding one."""
    client = _client(server)
    project, _ = _project(run_cli, server, "register twice", [])
    port = free_port()
    for _ in range(2):
        with serving(server, project, tmp_path, "--register", port=port) as serve:
            hooks = [h for h in client.webhooks.list(project=str(project)) if h.url == serve.url]
            assert len(hooks) == 1 and hooks[0].headers == {SECRET_HEADER: SECRET}
            serve.stop()
    removed = subprocess.run(
        [
            sys.executable,
            "-m",
            "taxospec",
            "serve",
            str(FOOTBALL / "spec.yaml"),
            "--ls-url",
            server,
            "--project",
            str(project),
            "--port",
            str(port),
            "--unregister",
        ],
        env={**os.environ, "TAXOSPEC_WEBHOOK_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert removed.returncode == 0 and "removed 1 webhook" in removed.stderr, removed.stderr
    assert client.webhooks.list(project=str(project)) == []


def test_a_burst_loses_nothing_and_writers_never_duplicate(server: str, run_cli: Run, tmp_path: Path) -> None:
    """Issue 15, points 3 and 4: 20 concurrent senders, 500 events, every one accepted and every task
    checked; a batch write-back running at the same time (with its own lock folder, so only the
    one-prediction rule stands between them) leaves one taxospec prediction per task."""
    client = _client(server)
    source, _ = _tasks_with("segment-too-long")
    project, tasks = _project(run_cli, server, "burst", [source] * 12)
    statuses: list[int] = []
    with serving(server, project, tmp_path) as serve:

        def send(sender: int) -> None:
            for n in range(25):
                task = tasks[(sender + n) % len(tasks)]
                payload = {"action": "ANNOTATION_UPDATED", "project": {"id": project}, "task": {"id": task}}
                statuses.append(_post(serve.url, payload))

        senders = [threading.Thread(target=send, args=(i,)) for i in range(20)]
        batch = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taxospec",
                "check",
                str(FOOTBALL / "spec.yaml"),
                "--url",
                server,
                "--project",
                str(project),
                "--write-back",
                "--state-dir",
                str(tmp_path / "elsewhere"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        _, batch_err = batch.communicate(timeout=300)
        assert batch.returncode == 1, batch_err
        assert statuses.count(202) == 500, sorted(set(statuses))
        assert _wait_for(lambda: _get(serve.url)["pending"] == 0, seconds=180), _get(serve.url)
        status = _get(serve.url)
        assert status["events"] == 500 and status["checked"] >= len(tasks) and status.get("dropped", 0) == 0
        assert status["coalesced"] > 0, "repeated events for one task are checked once"
        serve.stop()
    for task in tasks:
        assert len(_ours(client, task)) == 1, f"task {task} has {len(_ours(client, task))} taxospec predictions"
        assert any(f["run"] == "live" for f in _findings(client, task)) or _findings(client, task)


def test_events_wait_while_label_studio_is_down_and_restarts_catch_up(
    server: str, run_cli: Run, tmp_path: Path
) -> None:
    """Issue 15, point 5: with Label Studio unreachable (connection refused) jobs wait and are done when
    it is back; changes made while the receiver was stopped are checked when it starts again."""
    client = _client(server)
    source, _ = _tasks_with("segment-too-long")
    project, (down_task, stopped_task) = _project(run_cli, server, "down and back", [source, source])
    result = source["annotations"][0]["result"]
    with Proxy(server) as proxy:
        with serving(proxy.url, project, tmp_path) as serve:
            proxy.down()
            payload = {"action": "ANNOTATION_UPDATED", "project": {"id": project}, "task": {"id": down_task}}
            assert _post(serve.url, payload) == 202
            assert _wait_for(lambda: _get(serve.url)["waiting_to_retry"] >= 1, seconds=30), _get(serve.url)
            assert _findings(client, down_task) == []
            proxy.up()
            assert _wait_for(lambda: _findings(client, down_task), seconds=120), serve.log.read_text()
            assert _wait_for(lambda: _get(serve.url)["pending"] == 0), _get(serve.url)
            log = serve.stop()
        assert "jobs wait and are tried again" in log and "Label Studio answers again" in log, log[-4000:]
        client.annotations.create(id=stopped_task, result=result)  # nobody listens: no webhook, no event
        with serving(proxy.url, project, tmp_path) as serve:
            assert _wait_for(lambda: _findings(client, stopped_task), seconds=60), serve.log.read_text()
            assert "catching up" in serve.stop()


def test_the_log_carries_no_secret_and_odd_ids_are_refused(server: str, run_cli: Run, tmp_path: Path) -> None:
    """Issue 15, point 6: an event for a task that does not exist is dropped with a plain line (the SDK's
    error quotes response headers, session cookie included); an id beyond Label Studio's range is a 400."""
    project, _ = _project(run_cli, server, "secrets", [])
    with serving(server, project, tmp_path) as serve:
        missing = {"action": "ANNOTATION_CREATED", "project": {"id": project}, "task": {"id": 99999}}
        assert _post(serve.url, missing) == 202
        assert _post(serve.url, {**missing, "task": {"id": 10**30}}) == 400
        assert _wait_for(lambda: "task 99999: not in Label Studio" in serve.log.read_text())
        log = serve.stop()
    for secret in (TOKEN, SECRET, "sessionid=", "csrftoken=", "set-cookie"):
        assert secret.lower() not in log.lower(), f"{secret!r} reached the log"


def test_push_finds_its_project_by_title_and_refuses_an_ambiguous_one(server: str, run_cli: Run) -> None:
    """Issue 15, point 7."""
    spec = FOOTBALL / "spec.yaml"
    first = run_cli("push", spec, "--url", server, "--title", "pushed twice")
    again = run_cli("push", spec, "--url", server, "--title", "pushed twice")
    assert first.exit_code == 0 and again.exit_code == 0, again.stderr
    assert "created project" in first.stdout and "updated project" in again.stdout
    assert pushed_project(first.stdout) == pushed_project(again.stdout)
    _client(server).projects.create(title="pushed twice")
    ambiguous = run_cli("push", spec, "--url", server, "--title", "pushed twice")
    assert ambiguous.exit_code == 2 and "2 projects are titled 'pushed twice'" in ambiguous.stderr


def test_messages_name_what_the_url_is(server: str, run_cli: Run, tmp_path: Path) -> None:
    """Issue 15, point 8: a URL that is not Label Studio, taxospec's own serve port, a write-back cut off."""

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: Any) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        wrong = run_cli(
            "pull", "--url", f"http://127.0.0.1:{other.server_port}", "--project", "1", "-o", tmp_path / "x"
        )
    finally:
        other.shutdown()
        other.server_close()
    assert wrong.exit_code == 2 and "does not look like Label Studio" in wrong.stderr, wrong.stderr
    source, _ = _tasks_with("segment-too-long")
    project, _ = _project(run_cli, server, "messages", [source] * 8)
    with serving(server, project, tmp_path) as serve:
        ours = run_cli("pull", "--url", serve.url, "--project", str(project), "-o", tmp_path / "y")
        serve.stop()
    assert ours.exit_code == 2 and "is a taxospec server" in ours.stderr, ours.stderr
    with Proxy(server, cut_after=(b"POST /api/predictions", 6)) as cut:  # gone after a few tasks are written
        partial = run_cli(
            "check",
            FOOTBALL / "spec.yaml",
            "--url",
            cut.url,
            "--project",
            str(project),
            "--write-back",
            "--state-dir",
            str(tmp_path),
        )
    assert partial.exit_code == 2 and "partly updated" in partial.stderr, partial.stderr
    assert "run the same command again" in partial.stderr


def test_the_ml_backend_answers_when_a_task_opens_and_rechecks_saved_annotations(
    server: str, run_cli: Run, tmp_path: Path
) -> None:
    """Connected the way a team does it (Settings → Model, here through the API, with Basic
    authentication): opening a task gets its findings from `/predict`, drawn on the region; saving an
    annotation reaches `/webhook` (the webhook Label Studio makes for its ML backends) and re-checks it."""
    client = _client(server)
    source, _ = _tasks_with("segment-too-long")
    project, (task_id,) = _project(run_cli, server, "ml backend", [source])
    with serving(server, project, tmp_path) as serve:
        client.ml.create(
            url=serve.url.rstrip("/"),
            project=project,
            title="taxospec",
            auth_method="BASIC_AUTH",
            basic_auth_user="label-studio",
            basic_auth_pass=SECRET,
        )
        client.projects.update(id=project, evaluate_predictions_automatically=True)
        hooks = [h.url for h in client.webhooks.list(project=str(project))]
        assert serve.url + "webhook" in hooks, hooks
        client.tasks.get(id=str(task_id))  # what the editor does when the task opens
        [prediction] = _wait_for(lambda: _ours(client, task_id))
        drawn = [r for r in prediction.result if r["type"] == "timelinelabels"]
        assert drawn and any("segment-too-long" in t and "live run" in t for t in drawn[0]["meta"]["text"])
        [annotation] = client.tasks.get(id=str(task_id)).annotations
        client.annotations.update(id=annotation["id"], result=annotation["result"])
        assert _wait_for(lambda: any(f["run"] == "live" for f in _findings(client, task_id))), (
            _get(serve.url),
            client.tasks.get(id=str(task_id)).meta,
            [line for line in serve.log.read_text().splitlines() if "HTTP/1.1" not in line],
        )
        assert len(_ours(client, task_id)) == 1
        serve.stop()
