"""Write a check's findings back into a live project, where annotators see and filter them.

Two places, either or both:

- the task's `meta`, under the key `taxospec` (read by scripts, exports and the API);
- a prediction with model version `taxospec`: the Data Manager filters on it ("Prediction model versions
  contains taxospec", "Prediction results contains CODE"), its score orders tasks by severity, and where the
  project's config has the read-only `taxospec` TextArea that `taxospec config` adds, the editor shows the
  findings in it.

Only those two are written; other meta keys, the task data, annotations and other models' predictions are
never touched. A task whose findings are gone loses its `taxospec` meta key and prediction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from taxospec.findings import Finding
from taxospec.plugins.labelstudio.client import requests_about
from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.mapping import FINDINGS_CONTROL

META_KEY = "taxospec"
MODEL_VERSION = "taxospec"
"""The model version of the prediction that carries a task's findings."""
MAX_PER_TASK = 50
"""Findings kept per task (the count says how many there were)."""
SEVERITY_SCORE = {"error": 1.0, "warning": 0.5, "info": 0.1}
"""The prediction score of a task: that of its worst finding."""
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
    """Where findings go: the targets, and the object the findings panel belongs to (None: the project's
    config has no `taxospec` TextArea, so the prediction carries the score and no text)."""

    targets: frozenset[Target]
    panel_to_name: str | None = None


def destination(targets: Iterable[Target], config: LabelConfig | None) -> Destination:
    """The destination for `targets` in a project with this labeling config."""
    panel = config.controls.get(FINDINGS_CONTROL) if config is not None else None
    to_name = panel.to_name[0] if panel is not None and panel.tag == "textarea" and panel.to_name else None
    return Destination(frozenset(targets), to_name)


def task_notes(findings: list[Finding]) -> dict[int, dict[str, Any]]:
    """The meta entry for every task that has findings: counts by severity and the findings themselves."""
    by_task: dict[int, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.task_id is not None and finding.task_id >= 0:
            by_task[finding.task_id].append(finding)
    notes: dict[int, dict[str, Any]] = {}
    for task_id, items in by_task.items():
        severities = [f.severity.value for f in items]
        notes[task_id] = {
            "errors": severities.count("error"),
            "warnings": severities.count("warning"),
            "codes": sorted({f.code for f in items}),
            "findings": [
                {"code": f.code, "severity": f.severity.value, "message": f.message, "region_id": f.region_id}
                for f in items[:MAX_PER_TASK]
            ],
            "count": len(items),
        }
    return notes


def prediction_of(note: dict[str, Any], panel_to_name: str | None) -> tuple[list[dict[str, Any]], float]:
    """The result and score of the `taxospec` prediction for a task's note: one line per finding in the
    findings panel (when the config has one), scored by the worst severity."""
    findings = note["findings"]
    score = max((SEVERITY_SCORE.get(f["severity"], 0.0) for f in findings), default=0.0)
    if panel_to_name is None:
        return [], score
    lines = [
        f"[{f['severity']}] {f['code']}: {f['message']}" + (f" (region {f['region_id']})" if f["region_id"] else "")
        for f in findings
    ]
    if note["count"] > len(findings):
        lines.append(f"… and {note['count'] - len(findings)} more (see the taxospec report)")
    result = {
        "from_name": FINDINGS_CONTROL,
        "to_name": panel_to_name,
        "type": "textarea",
        "value": {"text": lines},
        "readonly": True,
    }
    return [result], score


def write_back(client: Any, project: int, findings: list[Finding], where: Destination) -> WriteBackResult:
    """Put each task's findings where `where` says, and remove them where none are left."""
    notes = task_notes(findings)
    written = cleared = 0
    with requests_about(project):
        for task in client.tasks.list(project=project, fields="all"):
            change = update_task(client, task, notes.get(int(task.id)), where)
            written += change == "written"
            cleared += change == "cleared"
    return WriteBackResult(written, cleared)


def has_findings(task: Any) -> bool:
    """Whether a task (as the SDK returns it) carries taxospec findings in its meta or a prediction."""
    return META_KEY in (getattr(task, "meta", None) or {}) or bool(_our_predictions(task))


def update_task(client: Any, task: Any, note: dict[str, Any] | None, where: Destination) -> str | None:
    """Set (or, with no note, remove) one task's findings in its meta and/or its `taxospec` prediction;
    says what changed: "written", "cleared" or None."""
    changes = []
    if "meta" in where.targets:
        changes.append(_update_meta(client, task, note))
    if "prediction" in where.targets:
        changes.append(_update_prediction(client, task, note, where.panel_to_name))
    if any(changes):
        return "written" if note is not None else "cleared"
    return None


def _update_meta(client: Any, task: Any, note: dict[str, Any] | None) -> bool:
    meta = dict(getattr(task, "meta", None) or {})
    if note is not None and meta.get(META_KEY) != note:
        client.tasks.update(id=str(task.id), meta={**meta, META_KEY: note})
        return True
    if note is None and META_KEY in meta:
        del meta[META_KEY]
        client.tasks.update(id=str(task.id), meta=meta)
        return True
    return False


def _update_prediction(client: Any, task: Any, note: dict[str, Any] | None, panel_to_name: str | None) -> bool:
    ours = _our_predictions(task)
    if note is None:
        for prediction in ours:
            client.predictions.delete(id=int(_field(prediction, "id")))
        return bool(ours)
    result, score = prediction_of(note, panel_to_name)
    if len(ours) == 1 and _field(ours[0], "result") == result and _field(ours[0], "score") == score:
        return False
    for extra in ours[1:]:
        client.predictions.delete(id=int(_field(extra, "id")))
    if ours:
        client.predictions.update(id=int(_field(ours[0], "id")), result=result, score=score)
    else:
        client.predictions.create(task=int(task.id), result=result, score=score, model_version=MODEL_VERSION)
    return True


def _our_predictions(task: Any) -> list[Any]:
    """The task's predictions by taxospec (expanded prediction objects; bare ids are not ours to judge)."""
    items = getattr(task, "predictions", None) or []
    return [p for p in items if not isinstance(p, int) and _field(p, "model_version") == MODEL_VERSION]


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
