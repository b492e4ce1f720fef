"""What an annotator and the Data Manager see of a task's findings: the meta entry, and the `taxospec`
prediction that draws each finding on the region it is about.

The prediction copies the offending region from the task's counted annotation (its box, polygon, segment
or track, with its label) into a read-only region whose meta text says what is wrong and which run found
it, so the editor draws it where the annotator looks; findings about no region go in the read-only
`taxospec` TextArea when the config has one. Each finding is carried once, in the `taxospec` key of its
result's meta, which is what the Data Manager views filter on (`"code": "box-too-small"`).

The prediction's score is the strongest score among the task's findings that have one (the probability
behind a likely mislabel, the closeness of a near-duplicate), and none when no finding has a score: it is
never a severity dressed up as a confidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from taxospec.plugins.labelstudio.mapping import FINDINGS_CONTROL
from taxospec.plugins.labelstudio.results import REGION_TYPES, counted_annotation, region_key
from taxospec.plugins.labelstudio.task_findings import MAX_PER_TASK, META_KEY, TaskFinding

REGION_PREFIX = "taxospec-"
"""Ids of the regions the prediction draws: the prefix and the annotated region's id."""


@dataclass(frozen=True)
class Panel:
    """The read-only TextArea named `taxospec` in the project's config, by the object it belongs to."""

    to_name: str


def note_of(findings: list[TaskFinding]) -> dict[str, Any]:
    """The task meta entry: counts by severity, the codes, the findings (at most `MAX_PER_TASK`) and the
    runs they came from."""
    severities = [f.severity for f in findings]
    return {
        "errors": severities.count("error"),
        "warnings": severities.count("warning"),
        "infos": severities.count("info"),
        "codes": sorted({f.code for f in findings}),
        "findings": [f.as_json() for f in findings[:MAX_PER_TASK]],
        "count": len(findings),
        "runs": sorted({f.origin for f in findings}),
    }


def line_of(finding: TaskFinding) -> str:
    """A finding in one line: `[error] box-too-small: … (region r1, batch run 2026-12-06 21:40 UTC)`."""
    where = f"region {finding.region_id}, " if finding.region_id else ""
    return f"[{finding.severity}] {finding.code}: {finding.message} ({where}{finding.origin})"


def prediction_of(
    findings: list[TaskFinding], task: Any, panel: Panel | None
) -> tuple[list[dict[str, Any]], float | None]:
    """The result and score of the `taxospec` prediction of `task` for `findings`."""
    shown = findings[:MAX_PER_TASK]
    regions = _annotated_regions(task)
    on_region: dict[str, list[TaskFinding]] = defaultdict(list)
    elsewhere: list[TaskFinding] = []
    for finding in shown:
        if finding.region_id is not None and finding.region_id in regions:
            on_region[finding.region_id].append(finding)
        else:
            elsewhere.append(finding)
    result = [drawn for region_id, items in on_region.items() for drawn in _drawn(regions[region_id], items)]
    if panel is not None:
        lines = [line_of(f) for f in shown]
        if len(findings) > len(shown):
            lines.append(f"… and {len(findings) - len(shown)} more (see the taxospec report)")
        panel_result: dict[str, Any] = {
            "from_name": FINDINGS_CONTROL,
            "to_name": panel.to_name,
            "type": "textarea",
            "value": {"text": lines},
            "readonly": True,
        }
        if elsewhere:
            panel_result["meta"] = {META_KEY: [f.as_json() for f in elsewhere]}
        result.append(panel_result)
    scores = [f.score for f in findings if f.score is not None]
    return result, max(scores) if scores else None


def region_ids(task: Any) -> set[str]:
    """The ids of the regions in the task's counted annotation."""
    return set(_annotated_regions(task))


def _annotated_regions(task: Any) -> dict[str, list[dict[str, Any]]]:
    """The geometry and label results of each region of the task's counted annotation, by region id."""
    annotations = task.get("annotations") if isinstance(task, dict) else getattr(task, "annotations", None)
    submitted = [a for a in annotations or [] if isinstance(a, dict) and a.get("was_cancelled") is not True]
    counted = counted_annotation(submitted)
    results = counted.get("result") if counted is not None else None
    regions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict) or result.get("type") not in REGION_TYPES:
            continue
        key = region_key(result.get("id"))
        if key is not None and isinstance(result.get("value"), dict):
            regions[key].append(result)
    return dict(regions)


def _drawn(results: list[dict[str, Any]], findings: list[TaskFinding]) -> list[dict[str, Any]]:
    """Read-only copies of one region's results, saying its findings; the first carries them."""
    drawn = []
    for i, result in enumerate(results):
        copy = {key: value for key, value in result.items() if key not in ("meta", "readonly", "score", "origin")}
        copy["id"] = f"{REGION_PREFIX}{result['id']}"
        copy["readonly"] = True
        copy["meta"] = {"text": [line_of(f) for f in findings]}
        if i == 0:
            copy["meta"][META_KEY] = [f.as_json() for f in findings]
        drawn.append(copy)
    return drawn
