"""End to end against a real Label Studio 1.23.2 on 127.0.0.1: config → push → import → pull → check;
push refusing to orphan annotations; a bad token and a server that is down."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from taxospec import check

from ..conftest import EXAMPLES
from .labelstudio_server import TOKEN, free_port, pushed_project

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls_token")]
Run = Callable[..., Result]
FOOTBALL = EXAMPLES / "football-signals"


def _subset(count: int) -> list[dict[str, object]]:
    """The first tasks of the football example, as an import: data plus annotation results."""
    tasks = json.loads((FOOTBALL / "export.json").read_text())[:count]
    return [
        {
            "data": t["data"],
            "annotations": [{"result": a["result"], "was_cancelled": a["was_cancelled"]} for a in t["annotations"]],
        }
        for t in tasks
    ]


def test_push_import_pull_check(server: str, run_cli: Run, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    pushed = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", "football e2e")
    assert pushed.exit_code == 0, pushed.stderr
    project = pushed_project(pushed.stdout)
    assert TOKEN not in pushed.stdout + pushed.stderr
    client = LabelStudio(base_url=server, api_key=TOKEN)
    assert '<TimelineLabels name="label"' in client.projects.get(id=project).label_config
    client.projects.import_tasks(id=project, request=_subset(40))
    out = tmp_path / "export.json"
    pulled = run_cli("pull", "--url", server, "--project", str(project), "-o", out)
    assert pulled.exit_code == 0, pulled.stderr
    live = check(FOOTBALL / "spec.yaml", out)
    offline_export = tmp_path / "offline.json"
    offline_export.write_text(json.dumps(json.loads((FOOTBALL / "export.json").read_text())[:40]))
    offline = check(FOOTBALL / "spec.yaml", offline_export)
    per_task = {
        "segment-too-long",
        "segment-too-short",
        "region-attribute-missing",
        "unknown-label",
        "segments-too-close",
    }
    assert Counter(f.code for f in live.findings if f.code in per_task) == Counter(
        f.code for f in offline.findings if f.code in per_task
    )
    assert live.summary.samples == offline.summary.samples
    checked = run_cli("check", FOOTBALL / "spec.yaml", "--url", server, "--project", str(project), "--format", "json")
    assert checked.exit_code in (0, 1), checked.stderr
    report = json.loads(checked.stdout)
    assert Counter(f["code"] for f in report["findings"] if f["code"] in per_task) == Counter(
        f.code for f in offline.findings if f.code in per_task
    )
    linked = [f for f in report["findings"] if f.get("task_id") is not None]
    assert linked and all(f["link"].startswith(f"{server}/projects/{project}/data?task={f['task_id']}") for f in linked)
    again = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--project", str(project))
    assert again.exit_code == 0 and f"updated project {project}" in again.stdout, again.stderr


def test_push_refuses_to_orphan_annotations(server: str, run_cli: Run, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    created = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", "orphans")
    project = pushed_project(created.stdout)
    LabelStudio(base_url=server, api_key=TOKEN).projects.import_tasks(id=project, request=_subset(5))
    narrower = tmp_path / "spec.yaml"
    text = (FOOTBALL / "spec.yaml").read_text()
    narrower.write_text(
        text.replace(
            """  distance:
    description: How far the signaller is from the camera.
    values: [close, medium, far]
    scope: region
""",
            "",
        )
    )
    refused = run_cli("push", narrower, "--url", server, "--project", str(project))
    assert refused.exit_code == 2
    assert "would orphan existing annotations" in refused.stderr and "control 'distance'" in refused.stderr


def test_bad_token_and_missing_project(server: str, run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("pull", "--url", server, "--project", "1", "-o", tmp_path / "x.json", "--api-key", "wrong-token")
    assert result.exit_code == 2 and "refused the token" in result.stderr and "wrong-token" not in result.stderr
    missing = run_cli("pull", "--url", server, "--project", "999", "-o", tmp_path / "x.json")
    assert missing.exit_code == 2 and "no project 999" in missing.stderr
    assert not (tmp_path / "x.json").exists()


def test_server_down(run_cli: Run, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("pull", "--url", url, "--project", "1", "-o", tmp_path / "x.json")
    assert result.exit_code == 2 and "cannot reach Label Studio" in result.stderr
    assert not (tmp_path / "x.json").exists()
    live = run_cli("check", FOOTBALL / "spec.yaml", "--url", url, "--project", "1")
    assert live.exit_code == 2 and "cannot reach Label Studio" in live.stderr
    argv = ("serve", FOOTBALL / "spec.yaml", "--ls-url", url, "--project", "1", "--port", str(free_port()))
    serve = run_cli(*argv, "--secret", "long-enough")
    assert serve.exit_code == 2 and "cannot reach Label Studio" in serve.stderr
    weak = run_cli(*argv, "--secret", "x")
    assert weak.exit_code == 2 and "at least 8 characters" in weak.stderr


def test_live_check_usage(run_cli: Run, tmp_path: Path) -> None:
    both = run_cli("check", FOOTBALL / "spec.yaml", FOOTBALL / "export.json", "--url", "http://x", "--project", "1")
    assert both.exit_code == 2 and "no EXPORT" in both.stderr
    half = run_cli("check", FOOTBALL / "spec.yaml", "--project", "1")
    offline = run_cli("check", FOOTBALL / "spec.yaml", FOOTBALL / "export.json", "--write-back")
    assert offline.exit_code == 2 and "--write-back needs a live project" in offline.stderr
    assert half.exit_code == 2 and "--url" in half.stderr


def test_webhook_writes_findings_into_the_task(server: str, run_cli: Run, tmp_path: Path) -> None:
    """A saved annotation gets its findings (prediction and meta) within seconds; deleting annotations
    re-checks their tasks, both one the receiver saw created and one made before it started."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    from label_studio_sdk import LabelStudio

    export = json.loads((FOOTBALL / "export.json").read_text())[:40]
    offline_export = tmp_path / "offline.json"
    offline_export.write_text(json.dumps(export))
    planted = next(f for f in check(FOOTBALL / "spec.yaml", offline_export).findings if f.code == "segment-too-long")
    source = next(t for t in export if t["id"] == planted.task_id)
    created = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", "webhook")
    project = pushed_project(created.stdout)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    client.projects.import_tasks(id=project, request=[{"data": source["data"]}, {"data": source["data"]}])
    task_id, older_task = sorted(int(t.id) for t in client.tasks.list(project=project))
    older = client.annotations.create(id=older_task, result=source["annotations"][0]["result"])
    backfill = run_cli("check", FOOTBALL / "spec.yaml", "--url", server, "--project", str(project), "--write-back")
    assert "segment-too-long" in _codes(client, older_task), backfill.stderr
    port = free_port()
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taxospec",
            "serve",
            FOOTBALL / "spec.yaml",
            "--ls-url",
            server,
            "--project",
            str(project),
            "--port",
            str(port),
            "--register",
        ],
        env={**os.environ, "TAXOSPEC_WEBHOOK_SECRET": "hook-secret"},
        stderr=subprocess.PIPE,
        text=True,
        # started with SIGINT ignored, as a shell's background job is: Ctrl-C must stop it all the same
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        _wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close() is None)
        [hook] = [h for h in client.webhooks.list(project=str(project))]
        assert hook.url == f"http://127.0.0.1:{port}/" and hook.headers == {"X-Taxospec-Secret": "hook-secret"}
        annotation = client.annotations.create(id=task_id, result=source["annotations"][0]["result"])
        assert _wait_for(lambda: "segment-too-long" in _codes(client, task_id)), "no findings reached the task"
        task = client.tasks.get(id=str(task_id))
        [prediction] = [p for p in task.predictions if p.model_version == "taxospec"]
        [panel] = [r for r in prediction.result if r["from_name"] == "taxospec"]
        assert any("segment-too-long" in line for line in panel["value"]["text"])
        assert len(task.annotations) == 1  # the annotation itself is untouched
        # deleted: the task is checked again and now says it has no annotation
        # the local findings go; what the batch run found across tasks (the shared video) stays
        client.annotations.delete(id=annotation.id)
        assert _wait_for(lambda: _codes(client, task_id) - {"duplicate-media"} == {"task-unannotated"})
        client.annotations.delete(id=older.id)  # one the receiver never saw: found by its findings
        assert _wait_for(lambda: _codes(client, older_task) - {"duplicate-media"} == {"task-unannotated"})
    finally:
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=20)
    assert serve.returncode == 0 and "Traceback" not in err, err


def _codes(client: Any, task_id: int) -> set[str]:
    """The codes in a task's taxospec meta entry, and in its prediction's panel: they must agree."""
    task = client.tasks.get(id=str(task_id))
    note = (task.meta or {}).get("taxospec") or {"codes": []}
    lines = [
        line
        for p in task.predictions
        if p.model_version == "taxospec"
        for r in p.result
        if r["from_name"] == "taxospec"
        for line in r["value"]["text"]
    ]
    in_panel = {line.split("] ")[1].split(":")[0] for line in lines}
    return set(note["codes"]) if set(note["codes"]) == in_panel else {"meta and prediction disagree"}


def _wait_for(condition: Callable[[], bool], seconds: float = 20) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False
