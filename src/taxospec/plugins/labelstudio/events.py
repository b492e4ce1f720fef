"""What a Label Studio webhook payload asks of the receiver: tasks to check, annotations to remember or
forget, a new labeling config. Anything Label Studio would not send is a `ValueError` (a 400 answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from taxospec.errors import TaxospecError
from taxospec.plugins.labelstudio.config import parse_label_config

MAX_ID = 2**31 - 1
"""Label Studio's ids are 32-bit (Django `AutoField`): anything above names nothing."""
CHECKED = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "TASKS_CREATED")
"""Actions whose tasks are checked."""
DELETED = "ANNOTATIONS_DELETED"
UPDATED = "PROJECT_UPDATED"
ACTIONS = (*CHECKED, DELETED, UPDATED)
"""Every action the receiver takes (and registers its webhook for)."""


@dataclass(frozen=True)
class Event:
    """One webhook, as jobs: the tasks to check, annotations seen (id → task), annotations deleted, and a
    new labeling config (PROJECT_UPDATED)."""

    action: str
    tasks: tuple[int, ...] = ()
    seen: dict[int, int] = field(default_factory=dict)
    deleted: tuple[int, ...] = ()
    config: str | None = None


def parse_event(payload: Any, project: int, *, lenient: bool = False) -> Event:
    """The event in a webhook `payload` for `project`. `lenient` (the ML backend's `/webhook`, to which
    Label Studio sends every action): actions the receiver does not need are an empty event, not an error."""
    action = payload.get("action") if isinstance(payload, dict) else None
    if lenient and isinstance(action, str) and action not in ACTIONS:
        return Event(action)
    if action not in ACTIONS:
        raise ValueError("not an annotation, task or project-update webhook")
    _check_project(payload.get("project"), project)
    if action == UPDATED:
        return Event(action, config=_config(payload.get("project"), project))
    if action == DELETED:
        return Event(action, deleted=tuple(_ids(payload.get("annotations"), "annotation")))
    tasks = _ids(payload.get("tasks") if action == "TASKS_CREATED" else payload.get("task"), "task")
    return Event(action, tuple(sorted(set(tasks))), _seen(payload.get("annotation"), tasks))


def _check_project(given: Any, project: int) -> None:
    project_id = given.get("id") if isinstance(given, dict) else given
    if project_id != project or isinstance(project_id, bool):
        raise ValueError(f"a webhook for project {project_id!r}, not {project}")


def _config(given: Any, project: int) -> str:
    config = given.get("label_config") if isinstance(given, dict) else None
    if not isinstance(config, str) or not config.strip():
        raise ValueError("a project update without its labeling config")
    try:
        parse_label_config(config, f"project {project}")
    except TaxospecError as exc:
        raise ValueError(str(exc)) from None
    return config


def _ids(items: Any, what: str) -> list[int]:
    """The ids of `items` (an object or a list of them); ValueError if any is missing, not an integer, or
    outside Label Studio's id range."""
    items = items if isinstance(items, list) else [items]
    raw = [item.get("id") for item in items if isinstance(item, dict)]
    if not raw or len(raw) != len(items):
        raise ValueError(f"no {what} ids in the payload")
    for value in raw:
        if not is_id(value):
            raise ValueError(f"{what} id {str(value)[:40]} is not a Label Studio id (1 to {MAX_ID})")
    return [int(str(value)) for value in raw]


def is_id(value: Any) -> bool:
    """Whether `value` can be a Label Studio id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _seen(annotations: Any, tasks: list[int]) -> dict[int, int]:
    """Which task each annotation of a created/updated payload belongs to."""
    items = annotations if isinstance(annotations, list) else [annotations]
    seen = {}
    for item in items:
        if not isinstance(item, dict) or not is_id(item.get("id")):
            continue
        task = item.get("task", tasks[0] if len(tasks) == 1 else None)
        if isinstance(task, int) and is_id(task):
            seen[int(item["id"])] = task
    return seen
