"""Label these next in a real Label Studio 1.23.2: the project's unannotated tasks are the pool, the picks
get a `taxospec-label-next` prediction scored by rank, and the Data Manager tab "taxospec: label next"
lists exactly them (best first once the project's model version is taxospec's); a re-run with fewer picks
clears the rest; annotated tasks are never picked and keep their annotations."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from ..conftest import EXAMPLES
from .labelstudio_server import TOKEN, pushed_project

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls_token")]
Run = Callable[..., Result]
DEMO = EXAMPLES / "synthetic-signals"
SPEC = DEMO / "spec-deployment.yaml"


def _tab_tasks(client: Any, project: int) -> list[int]:
    """The tasks the tab shows, in its order (as the Data Manager asks for them: by the view)."""
    [view] = [v for v in client.views.list(project=project) if (v.data or {}).get("title") == "taxospec: label next"]
    return [int(t.id) for t in client.tasks.list(project=project, view=view.id)]


def test_the_picks_are_put_first_in_the_data_manager(server: str, run_cli: Run, tmp_path: Any) -> None:
    from label_studio_sdk import LabelStudio

    pushed = run_cli("push", SPEC, "--url", server, "--title", "label next")
    assert pushed.exit_code == 0, pushed.stderr
    project = pushed_project(pushed.stdout)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    pictures = sorted(p.name for p in (DEMO / "pool").glob("*.png"))
    tasks = [{"image": f"/data/local-files/?d=pool/{name}"} for name in pictures]
    ids = client.projects.import_tasks(id=project, request=tasks, return_task_ids=True).task_ids or []
    by_name = dict(zip(pictures, ids, strict=True))
    done = [by_name["unlabeled_0004.png"], by_name["unlabeled_0010.png"]]  # useful ones, but labeled already
    choice = {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["timeout"]}}
    for task in done:
        client.annotations.create(id=task, result=[choice])
    args = ["todo", SPEC, DEMO / "export.json", "--ls-document-root", DEMO, "--cache-dir", tmp_path / "cache"]
    live = ["--url", server, "--project", str(project), "--state-dir", tmp_path / "state"]
    first = run_cli(*args, *live, "--pool-size", "10", "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert "put 10 task(s) first" in first.stderr and "cleared 0" in first.stderr
    picks = json.loads(first.stdout)["label_next"]
    ranked = [p["task_id"] for p in picks]
    assert len(ranked) == 10 and not set(ranked) & set(done), "annotated tasks are not the pool"
    assert sorted(_tab_tasks(client, project)) == sorted(ranked), "the tab lists the picks"
    client.projects.update(id=project, model_version="taxospec-label-next")
    assert _tab_tasks(client, project) == ranked, "best first, with taxospec's model version"
    scores = {
        int(p.task): p.score
        for p in client.predictions.list(project=project)
        if p.model_version == "taxospec-label-next"
    }
    assert [scores[t] for t in ranked] == sorted(scores.values(), reverse=True) and scores[ranked[0]] == 1.0
    useful = {i % 6 in (2, 4) for i in range(150)}
    assert useful  # the plant: pool pictures i % 6 == 2 or 4 are far or night-crowd timeouts
    names = {task: name for name, task in by_name.items()}
    hits = sum(int(names[t].split("_")[1].split(".")[0]) % 6 in (2, 4) for t in ranked)
    assert hits >= 8, [names[t] for t in ranked]

    again = run_cli(*args, *live, "--pool-size", "4")
    assert again.exit_code == 0 and "put 4 task(s) first" in again.stderr and "cleared 6" in again.stderr
    assert _tab_tasks(client, project) == ranked[:4]
    kept = [a for t in done for a in client.tasks.get(id=str(t)).annotations]
    assert len(kept) == 2, "annotations are left alone"

    both = run_cli(*args, *live, "--pool", DEMO / "pool")
    assert both.exit_code == 2 and "no --pool" in both.stderr


def test_a_live_project_is_a_deployment_sample(server: str, run_cli: Run, tmp_path: Any) -> None:
    """A `deployment` sample `{project, url}`: the project's tasks are exported on each run and their
    pictures read through the media options, as an export's would be."""
    from label_studio_sdk import LabelStudio

    client = LabelStudio(base_url=server, api_key=TOKEN)
    project = client.projects.create(title="production frames", label_config=_IMAGE_CONFIG).id
    frames = sorted(p.name for p in (DEMO / "deploy" / "gate-1").glob("*.png"))
    client.projects.import_tasks(
        id=project, request=[{"image": f"/data/local-files/?d=deploy/gate-1/{n}"} for n in frames]
    )
    text = SPEC.read_text(encoding="utf-8").replace("model/", f"{(DEMO / 'model').as_posix()}/")
    head, _, tail = text.partition("deployment:\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        head
        + f"deployment:\n  samples:\n    - {{name: live, project: {project}, url: '{server}'}}\n\n"
        + tail[tail.index("checks:") :],
        encoding="utf-8",
    )
    args = ["check", spec, DEMO / "export.json", "--ls-document-root", DEMO, "--cache-dir", tmp_path / "cache"]
    result = run_cli(*args, "--format", "json")
    assert result.exit_code == 1, result.stderr
    [sample] = json.loads(result.stdout)["deployment"]["samples"]
    assert (sample["name"], sample["pictures"], sample["unreadable"]) == ("live", len(frames), 0)
    assert sample["uncovered"] > 0.1, "its far figures are not covered"


_IMAGE_CONFIG = (
    '<View><Image name="image" value="$image"/><Choices name="label" toName="image">'
    '<Choice value="timeout"/></Choices></View>'
)
