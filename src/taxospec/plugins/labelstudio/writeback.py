"""Write findings back into a live project, where annotators see and filter them.

Two places, either or both (`--write-back-to`):

- the task's `meta`, under the key `taxospec` (read by scripts, exports and the API, and by taxospec itself
  when a live run merges its findings with the last batch run's);
- one prediction with model version `taxospec`, which the editor draws (`task_view`), and which the
  Data Manager views taxospec keeps filter on (`views`).

Only those two are written; other meta keys, the task data, annotations and other models' predictions are
never touched. A task whose findings are gone loses its `taxospec` meta key and prediction. Writers never
leave a task with two taxospec predictions: writers on one machine take the project's lock (`locks`), and
a writer that finds more than one keeps the oldest and deletes the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from taxospec.errors import LabelStudioError
from taxospec.plugins.labelstudio.client import explain, requests_about
from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.mapping import FINDINGS_CONTROL
from taxospec.plugins.labelstudio.task_findings import META_KEY, MODEL_VERSION, TaskFinding, ours
from taxospec.plugins.labelstudio.task_view import Panel, note_of, prediction_of

Target = Literal["meta", "prediction"]
TARGETS: dict[str, frozenset[Target]] = {
    "meta": frozenset({"meta"}),
    "prediction": frozenset({"prediction"}),
    "both": frozenset({"meta", "prediction"}),
}
"""The choices of `--write-back-to`, and where each writes."""


@dataclass(frozen=True)
class WriteBackResult:
    """How many tasks got findings, and how many had old findings removed."""

    written: int
    cleared: int


@dataclass(frozen=True)
class Destination:
    """Where findings go: the targets, and the findings panel of the project's config (None: the config has
    no `taxospec` TextArea, so findings about no region are in the meta only)."""

    targets: frozenset[Target]
    panel: Panel | None = None


def destination(targets: Iterable[Target], config: LabelConfig | None) -> Destination:
    """The destination for `targets` in a project with this labeling config."""
    found = config.controls.get(FINDINGS_CONTROL) if config is not None else None
    panel = Panel(found.to_name[0]) if found is not None and found.tag == "textarea" and found.to_name else None
    return Destination(frozenset(targets), panel)


def write_back(
    client: Any, project: int, findings: dict[int, list[TaskFinding]], where: Destination
) -> WriteBackResult:
    """Put each task's findings (by task id) where `where` says, and remove them where none are left.

    A failure part way is a `LabelStudioError` that says how far it got: the project is then partly
    updated, and running the same write-back again finishes it (unchanged tasks are not written again).
    """
    written = cleared = seen = 0
    with requests_about(project):
        total = getattr(client.projects.get(id=project), "task_number", None)
    try:
        for task in client.tasks.list(project=project, fields="all"):
            change = update_task(client, task, findings.get(int(task.id)), where)
            written += change == "written"
            cleared += change == "cleared"
            seen += 1
    except Exception as exc:  # the SDK and httpx raise many kinds
        cause = exc if isinstance(exc, LabelStudioError) else explain(exc, "", project)
        of = f" of {total}" if isinstance(total, int) else ""
        raise LabelStudioError(
            f"{cause} — the write-back stopped after {seen}{of} task(s): project {project} is partly updated "
            f"({written} written, {cleared} cleared so far); run the same command again to finish"
        ) from None
    return WriteBackResult(written, cleared)


def has_findings(task: Any) -> bool:
    """Whether a task (as the SDK returns it) carries taxospec findings in its meta or a prediction."""
    return META_KEY in (getattr(task, "meta", None) or {}) or bool(ours(task))


def update_task(client: Any, task: Any, findings: list[TaskFinding] | None, where: Destination) -> str | None:
    """Set (or, with no findings, remove) one task's findings in its meta and/or its `taxospec` prediction;
    says what changed: "written", "cleared" or None."""
    findings = findings or None
    changes = []
    try:
        if "meta" in where.targets:
            changes.append(_update_meta(client, task, findings))
        if "prediction" in where.targets:
            changes.append(_update_prediction(client, task, findings, where.panel))
    except Exception as exc:  # the SDK raises ApiError
        if getattr(exc, "status_code", None) == 404 and not _exists(client, int(task.id)):
            return None  # the task was deleted while it was being written: nothing to write into
        raise
    if any(changes):
        return "written" if findings is not None else "cleared"
    return None


def _update_meta(client: Any, task: Any, findings: list[TaskFinding] | None) -> bool:
    meta = dict(getattr(task, "meta", None) or {})
    note = note_of(findings) if findings is not None else None
    if note is not None and meta.get(META_KEY) != note:
        client.tasks.update(id=str(task.id), meta={**meta, META_KEY: note})
        return True
    if note is None and META_KEY in meta:
        del meta[META_KEY]
        client.tasks.update(id=str(task.id), meta=meta)
        return True
    return False


def _update_prediction(client: Any, task: Any, findings: list[TaskFinding] | None, panel: Panel | None) -> bool:
    existing = ours(task)
    if findings is None:
        for prediction in existing:
            _delete(client, int(_field(prediction, "id")))
        return bool(existing)
    result, score = prediction_of(findings, task, panel)
    for extra in existing[1:]:
        _delete(client, int(_field(extra, "id")))
    if existing:
        keep = existing[0]
        if _field(keep, "result") == result and _field(keep, "score") == score and len(existing) == 1:
            return False
        if _update(client, int(_field(keep, "id")), result, score):
            return True
    created = client.predictions.create(task=int(task.id), result=result, score=score, model_version=MODEL_VERSION)
    _keep_one(client, int(task.id), int(created.id), result, score)
    return True


def _exists(client: Any, task_id: int) -> bool:
    try:
        client.tasks.get(id=str(task_id))
    except Exception as exc:  # the SDK raises ApiError
        if getattr(exc, "status_code", None) == 404:
            return False
        raise
    return True


def _delete(client: Any, prediction: int) -> None:
    """Delete a prediction; one another writer deleted meanwhile is gone all the same."""
    try:
        client.predictions.delete(id=prediction)
    except Exception as exc:  # the SDK raises ApiError
        if getattr(exc, "status_code", None) != 404:
            raise


def _update(client: Any, prediction: int, result: list[Any], score: float | None) -> bool:
    """Update a prediction; False when another writer deleted it meanwhile."""
    try:
        client.predictions.update(id=prediction, result=result, score=score)
    except Exception as exc:  # the SDK raises ApiError
        if getattr(exc, "status_code", None) != 404:
            raise
        return False
    return True


def _keep_one(client: Any, task_id: int, mine: int, result: list[Any], score: float | None) -> None:
    """After creating a prediction: when another writer created one for the same task meanwhile (on another
    machine, beyond the lock), keep the oldest, with this writer's findings, and delete the rest."""
    found = sorted(
        int(_field(p, "id"))
        for p in client.predictions.list(task=task_id)
        if _field(p, "model_version") == MODEL_VERSION
    )
    if len(found) <= 1:
        return
    for extra in found[1:]:
        _delete(client, extra)
    if found[0] != mine:
        _update(client, found[0], result, score)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
