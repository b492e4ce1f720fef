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
from .labelstudio_server import TOKEN, free_port

pytestmark = pytest.mark.integration
Run = Callable[..., Result]
FOOTBALL = EXAMPLES / "football-signals"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)


def _pushed_project(result: Result) -> int:
    """The project id that `taxospec push` reports."""
    return int(result.stdout.split("project ")[1].split(":")[0])


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
    project = _pushed_project(pushed)
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
    _check_write_back(server, run_cli, client, project)
    again = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--project", str(project))
    assert again.exit_code == 0 and f"updated project {project}" in again.stdout, again.stderr


def _task_state(client: Any, project: int) -> dict[int, tuple[Any, list[Any]]]:
    return {
        int(t.id): (dict(t.meta or {}), [(a["id"], a["result"]) for a in t.annotations or []])
        for t in client.tasks.list(project=project, fields="all")
    }


def _assert_meta_matches(state: dict[int, tuple[Any, list[Any]]], report: dict[str, Any]) -> set[int]:
    expected: dict[int, Counter[str]] = {}
    for finding in report["findings"]:
        if finding.get("task_id") is not None:
            expected.setdefault(finding["task_id"], Counter())[finding["code"]] += 1
    for task_id, (meta, _) in state.items():
        note = meta.get("taxospec")
        if task_id in expected:
            assert note["count"] == sum(expected[task_id].values())
            assert Counter(f["code"] for f in note["findings"]) == expected[task_id]
        else:
            assert note is None, task_id
    return set(expected)


def _check_write_back(server: str, run_cli: Run, client: Any, project: int) -> None:
    before = _task_state(client, project)
    first_task = next(iter(before))
    client.tasks.update(id=str(first_task), meta={"source": "camera-3"})
    argv = ("check", FOOTBALL / "spec.yaml", "--url", server, "--project", str(project), "--write-back")
    wrote = run_cli(*argv, "--format", "json")
    assert wrote.exit_code in (0, 1), wrote.stderr
    after = _task_state(client, project)
    flagged = _assert_meta_matches(after, json.loads(wrote.stdout))
    assert flagged and f"wrote findings to {len(flagged)} task(s)" in wrote.stderr
    assert all(after[t][1] == before[t][1] for t in before)  # annotations are never touched
    assert after[first_task][0]["source"] == "camera-3"  # other meta keys survive
    # the meta holds the latest check's findings: a narrower check clears the rest
    narrow = run_cli(*argv, "--select", "segment-too-long", "--format", "json")
    narrowed = _assert_meta_matches(_task_state(client, project), json.loads(narrow.stdout))
    assert narrowed < flagged and f"cleared {len(flagged - narrowed)}" in narrow.stderr, narrow.stderr
    # a fixed task (here: its annotation deleted) loses its old findings
    fixed = next(iter(narrowed))
    for annotation_id, _ in after[fixed][1]:
        client.annotations.delete(id=annotation_id)
    again = run_cli(*argv, "--select", "segment-too-long")
    assert again.exit_code in (0, 1) and "cleared 1" in again.stderr, again.stderr
    assert "taxospec" not in _task_state(client, project)[fixed][0]


def test_push_refuses_to_orphan_annotations(server: str, run_cli: Run, tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    created = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", "orphans")
    project = _pushed_project(created)
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
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from label_studio_sdk import LabelStudio

    export = json.loads((FOOTBALL / "export.json").read_text())[:40]
    offline_export = tmp_path / "offline.json"
    offline_export.write_text(json.dumps(export))
    planted = next(f for f in check(FOOTBALL / "spec.yaml", offline_export).findings if f.code == "segment-too-long")
    source = next(t for t in export if t["id"] == planted.task_id)
    created = run_cli("push", FOOTBALL / "spec.yaml", "--url", server, "--title", "webhook")
    project = _pushed_project(created)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    client.projects.import_tasks(id=project, request=[{"data": source["data"]}])
    task_id = int(next(iter(client.tasks.list(project=project))).id)
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
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        [hook] = [h for h in client.webhooks.list(project=str(project))]
        assert hook.url == f"http://127.0.0.1:{port}/" and hook.headers == {"X-Taxospec-Secret": "hook-secret"}
        client.annotations.create(id=task_id, result=source["annotations"][0]["result"])
        note = None
        for _ in range(100):
            note = (client.tasks.get(id=str(task_id)).meta or {}).get("taxospec")
            if note:
                break
            time.sleep(0.2)
        assert note is not None, "no findings reached the task"
        assert "segment-too-long" in note["codes"]
        assert len(client.tasks.get(id=str(task_id)).annotations) == 1  # the annotation itself is untouched
    finally:
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=20)
    assert serve.returncode == 0 and "Traceback" not in err, err
