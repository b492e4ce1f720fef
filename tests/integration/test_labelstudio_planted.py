"""End to end against a real Label Studio 1.23.2: config → push → import tasks → annotations through the
API → pull → check finds exactly the problems planted by hand; --write-back puts them where annotators see
and filter them (a `taxospec` prediction and task meta) and takes them away when fixed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from taxospec import check

from ..conftest import EXAMPLES
from .labelstudio_server import TOKEN, pushed_project

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls_token")]
Run = Callable[..., Result]
SPEC = EXAMPLES / "football-signals" / "spec.yaml"  # segments at 25 fps, 0.3 to 3 s, gap ≥ 0.5 s


def _segment(
    start: int,
    end: int,
    *,
    label: str = "timeout",
    angle: str | None = "front",
    distance: str | None = "close",
    rid: str = "s1",
) -> list[dict[str, Any]]:
    ranges = [{"start": start, "end": end}]
    out = [
        {
            "id": rid,
            "from_name": "label",
            "to_name": "video",
            "type": "timelinelabels",
            "value": {"ranges": ranges, "timelinelabels": [label]},
        }
    ]
    for control, value in (("angle", angle), ("distance", distance)):
        if value is not None:
            out.append(
                {
                    "id": rid,
                    "from_name": control,
                    "to_name": "video",
                    "type": "choices",
                    "value": {"ranges": ranges, "choices": [value]},
                }
            )
    return out


def _axes(lighting: str | None = "day", bystanders: str = "none") -> list[dict[str, Any]]:
    values = {"lighting": lighting, "bystanders": bystanders}
    return [
        {"from_name": name, "to_name": "video", "type": "choices", "value": {"choices": [value]}}
        for name, value in values.items()
        if value is not None
    ]


# name: (split, annotation result or None for no annotation or "skip", the codes planted in it)
PLANTED: dict[str, tuple[str, Any, set[str]]] = {
    "clean": ("train", _axes() + _segment(10, 40), set()),
    "clean-val": ("val", _axes("night", "crowd") + _segment(5, 60, angle="side", distance="far"), set()),
    "too-long": ("train", _axes() + _segment(1, 100), {"segment-too-long"}),
    "too-short": ("train", _axes() + _segment(10, 14), {"segment-too-short"}),
    "no-distance": ("train", _axes() + _segment(10, 40, distance=None), {"region-attribute-missing"}),
    "typo-label": ("train", _axes() + _segment(10, 40, label="time-out"), {"unknown-label"}),
    "no-lighting": ("train", _axes(lighting=None) + _segment(10, 40), {"axis-value-missing"}),
    "too-close": ("train", _axes() + _segment(10, 40) + _segment(45, 80, rid="s2"), {"segments-too-close"}),
    "bad-split": ("valid", _axes() + _segment(10, 40), {"split-unknown"}),
    "unannotated": ("train", None, {"task-unannotated"}),
    "skipped": ("train", "skip", {"task-only-skipped"}),
}


def _planted_project(server: str, run_cli: Run, title: str) -> tuple[Any, int, dict[str, int]]:
    """A pushed project with one task per planted case, annotated through the API; returns the client, the
    project and the task id of each case."""
    from label_studio_sdk import LabelStudio

    pushed = run_cli("push", SPEC, "--url", server, "--title", title)
    assert pushed.exit_code == 0, pushed.stderr
    project = pushed_project(pushed.stdout)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    names = list(PLANTED)
    tasks = [
        {"video": f"/data/local-files/?d=planted/{name}.mp4", "match": f"m-{name}", "split": PLANTED[name][0]}
        for name in names
    ]
    imported = client.projects.import_tasks(id=project, request=tasks, return_task_ids=True)
    ids = dict(zip(names, imported.task_ids or [], strict=True))
    for name, (_, result, _) in PLANTED.items():
        if result == "skip":
            client.annotations.create(id=ids[name], result=[], was_cancelled=True)
        elif result is not None:
            client.annotations.create(id=ids[name], result=result)
    return client, project, ids


def _per_task(findings: list[dict[str, Any]]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for finding in findings:
        if finding.get("task_id") is not None:
            found.setdefault(finding["task_id"], set()).add(finding["code"])
    return found


def _expected(ids: dict[str, int]) -> dict[int, set[str]]:
    return {ids[name]: codes for name, (_, _, codes) in PLANTED.items() if codes}


def _ours(task: Any) -> list[Any]:
    return [p for p in task.predictions or [] if p.model_version == "taxospec"]


def test_check_finds_exactly_the_planted_problems(server: str, run_cli: Run, tmp_path: Path) -> None:
    _, project, ids = _planted_project(server, run_cli, "planted: check")
    out = tmp_path / "export.json"
    pulled = run_cli("pull", "--url", server, "--project", str(project), "-o", out)
    assert pulled.exit_code == 0, pulled.stderr
    offline = check(SPEC, out)
    assert _per_task([f.model_dump(by_alias=True) for f in offline.findings]) == _expected(ids)
    live = run_cli("check", SPEC, "--url", server, "--project", str(project), "--format", "json")
    assert live.exit_code == 1, live.stderr
    assert _per_task(json.loads(live.stdout)["findings"]) == _expected(ids)


def test_write_back_is_seen_filtered_and_cleared(server: str, run_cli: Run) -> None:
    client, project, ids = _planted_project(server, run_cli, "planted: write-back")
    foreign = client.predictions.create(task=ids["clean"], result=[], model_version="other-model", score=0.9)
    client.tasks.update(id=str(ids["too-long"]), meta={"source": "camera-3"})
    before = {int(t.id): [a["result"] for a in t.annotations] for t in client.tasks.list(project=project)}
    argv = ("check", SPEC, "--url", server, "--project", str(project), "--write-back")
    wrote = run_cli(*argv, "--format", "json")
    expected = _expected(ids)
    assert wrote.exit_code == 1 and f"wrote findings to {len(expected)} task(s), cleared 0" in wrote.stderr
    tasks = {int(t.id): t for t in client.tasks.list(project=project, fields="all")}
    for task_id, task in tasks.items():
        note = (task.meta or {}).get("taxospec")
        ours = _ours(task)
        if task_id not in expected:
            assert note is None and ours == [], task_id
            continue
        assert set(note["codes"]) == expected[task_id]
        [prediction] = ours
        [panel] = [r for r in prediction.result if r["from_name"] == "taxospec"]
        assert (panel["from_name"], panel["to_name"], panel["type"], panel["readonly"]) == (
            "taxospec",
            "video",
            "textarea",
            True,
        )
        assert {line.split("] ")[1].split(":")[0] for line in panel["value"]["text"]} == expected[task_id]
        assert prediction.score is None, "no finding of these checks has a score: no severity passes for one"
    assert (tasks[ids["too-long"]].meta or {})["source"] == "camera-3"  # other meta keys survive
    assert [p.id for p in tasks[ids["clean"]].predictions] == [foreign.id]  # another model's prediction too
    assert {int(t.id): [a["result"] for a in t.annotations] for t in tasks.values()} == before

    # annotators filter on it in the Data Manager: every flagged task, or one check's
    assert _filtered(client, project, "predictions_model_versions", "contains", ["taxospec"], "List") == set(expected)
    code_filter = _filtered(client, project, "predictions_results", "contains", "segment-too-long", "String")
    assert code_filter == {ids["too-long"]}

    # fixed: the segment shortened; the next write-back takes its prediction and meta entry away
    [annotation] = tasks[ids["too-long"]].annotations
    client.annotations.update(id=annotation["id"], result=_axes() + _segment(1, 50))
    again = run_cli(*argv)
    assert again.exit_code == 1 and "cleared 1" in again.stderr, again.stderr
    fixed = client.tasks.get(id=str(ids["too-long"]))
    assert _ours(fixed) == [] and fixed.meta == {"source": "camera-3"}
    # a narrower check clears the rest; meta only leaves the predictions as they were
    narrow = run_cli(*argv, "--select", "segment-too-short", "--write-back-to", "meta")
    assert narrow.exit_code == 1 and f"cleared {len(expected) - 2}" in narrow.stderr, narrow.stderr
    after = {int(t.id): t for t in client.tasks.list(project=project, fields="all")}
    assert {t for t, task in after.items() if "taxospec" in (task.meta or {})} == {ids["too-short"]}
    assert {t for t, task in after.items() if _ours(task)} == set(expected) - {ids["too-long"]}


def _filtered(client: Any, project: int, column: str, operator: str, value: Any, kind: str) -> set[int]:
    """The tasks a Data Manager filter shows (as the UI sends it: a List filter's value is a list)."""
    item = {"filter": f"filter:tasks:{column}", "operator": operator, "type": kind, "value": value}
    query = json.dumps({"filters": {"conjunction": "and", "items": [item]}})
    return {int(t.id) for t in client.tasks.list(project=project, query=query)}
