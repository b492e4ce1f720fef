"""Label these next, in Label Studio: the project's unannotated tasks are the pool (`taxospec todo
--url --project`), and the picks are put first where annotators work — each picked task gets a
`taxospec-label-next` prediction scored by its rank (1.0 for the first, less for each after; no regions,
so nothing is drawn), and the Data Manager tab "taxospec: label next" shows exactly those tasks.

Label Studio 1.23 computes a task's prediction score (the column the tab sorts by) only for the project's
own model version, so the tab lists the picks in task order unless the project's model version
(Settings → Model, or `model_version` through the API) is `taxospec-label-next`; then it lists them best
first. taxospec does not set it: it also chooses which predictions pre-label the tasks.

A re-run replaces the picks: tasks no longer picked (labeled meanwhile, or ranked out) lose their
prediction. Annotations, task data and other models' predictions are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taxospec.plugins.labelstudio.client import requests_about
from taxospec.todo import PoolPick

MODEL_VERSION = "taxospec-label-next"
TAB = "taxospec: label next"
BY_ID_UP_TO = 500
"""Picks the tab names one by one (by task id); beyond, it shows every task with a label-next prediction."""


def tab_filters(tasks: list[int]) -> dict[str, Any]:
    """The tab's filter: the picked tasks (by id, up to `BY_ID_UP_TO`; else every task with a label-next
    prediction)."""
    if len(tasks) <= BY_ID_UP_TO:
        items = [{"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": t} for t in tasks]
        return {"conjunction": "or", "items": items or [_by_version()]}
    return {"conjunction": "and", "items": [_by_version()]}


def _by_version() -> dict[str, Any]:
    return {
        "filter": "filter:tasks:predictions_model_versions",
        "operator": "contains",
        "type": "List",
        "value": [MODEL_VERSION],
    }


def pull_pool(client: Any, project: int, folder: Path) -> Path:
    """The project exported into `folder` (its unannotated tasks are the pool)."""
    from taxospec.plugins.labelstudio.client import pull

    export = folder / f"project-{project}.json"
    pull(client, project, export)
    return export


def rank_score(pick: PoolPick, count: int) -> float:
    """The prediction score of the `pick` among `count`: 1.0 for the first, evenly less for each after."""
    return round(1.0 - (pick.rank - 1) / max(1, count), 4)


def put_first(client: Any, project: int, picks: list[PoolPick]) -> tuple[int, int]:
    """Give each picked task of `project` its label-next prediction, take it from every other task, and keep
    the tab; (tasks written, tasks cleared)."""
    picked = {int(p.task_id): rank_score(p, len(picks)) for p in picks if p.task_id is not None}
    with requests_about(project):
        existing: dict[int, list[int]] = {}
        for prediction in client.predictions.list(project=project):
            if _field(prediction, "model_version") == MODEL_VERSION:
                existing.setdefault(int(_field(prediction, "task")), []).append(int(_field(prediction, "id")))
        cleared = 0
        for task, ids in existing.items():
            keep = ids[:1] if task in picked else []
            for prediction in ids[len(keep) :]:
                client.predictions.delete(id=prediction)
            cleared += task not in picked
        for task, score in picked.items():
            if task in existing:
                client.predictions.update(id=existing[task][0], result=[], score=score)
            else:
                client.predictions.create(task=task, result=[], score=score, model_version=MODEL_VERSION)
        _keep_tab(client, project, list(picked))
    return len(picked), cleared


def _keep_tab(client: Any, project: int, tasks: list[int]) -> None:
    data = {"title": TAB, "filters": tab_filters(tasks), "ordering": ["-tasks:predictions_score"]}
    for view in client.views.list(project=project):
        view_data = getattr(view, "data", None) or {}
        if isinstance(view_data, dict) and view_data.get("title") == TAB:
            client.views.update(id=str(view.id), project=project, data=data)
            return
    client.views.create(project=project, data=data)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
