"""Turn JSON_MIN records (one flat object per annotation) back into task objects the reader understands.

JSON_MIN drops region ids, relations and per-region linkage, skips cancelled annotations, and
"prettifies" values: a single choice becomes a bare string, a multiple choice `{"choices": [...]}`,
regions a list of value objects with `original_width/height` copied in. Those shapes are undone here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from taxospec.plugins.labelstudio.mapping import ControlMapping
from taxospec.spec.model import Spec

META_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time"})
_REGION_KEYS = (
    ("videorectangle", "sequence"),
    ("timelinelabels", "timelinelabels"),
    ("rectanglelabels", "rectanglelabels"),
    ("polygonlabels", "polygonlabels"),
    ("ellipselabels", "ellipselabels"),
    ("keypointlabels", "keypointlabels"),
    ("brushlabels", "brushlabels"),
    ("labels", "labels"),
)


def group_json_min(records: Iterable[Any], mapping: ControlMapping, spec: Spec) -> Iterator[Any]:
    """Yield one task object per run of JSON_MIN records that share a task id."""
    data_keys = {mapping.data_key} | {k for k in (mapping.split_field, mapping.group_field) if k}
    if mapping.split_control:
        data_keys.discard(mapping.split_control)
    current: dict[str, Any] | None = None
    for record in records:
        if not isinstance(record, dict):
            yield record  # the reader reports it
            continue
        task_id = record.get("id")
        if current is None or current["id"] != task_id:
            if current is not None:
                yield current
            data = {k: v for k, v in record.items() if k in data_keys}
            current = {"id": task_id, "data": data, "annotations": []}
        if "annotation_id" in record or any(k not in META_KEYS and k not in data_keys for k in record):
            current["annotations"].append(_annotation(record, data_keys))
    if current is not None:
        yield current


def _annotation(record: dict[str, Any], data_keys: set[str]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for key, value in record.items():
        if key in META_KEYS or key in data_keys:
            continue
        if isinstance(value, str):
            results.append({"from_name": key, "type": "choices", "value": {"choices": [value]}})
        elif isinstance(value, dict) and "choices" in value:
            results.append({"from_name": key, "type": "choices", "value": value})
        elif isinstance(value, list):
            for region in value:
                results.append(_region(key, region))
    return {
        "id": record.get("annotation_id"),
        "completed_by": record.get("annotator"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "result": results,
    }


def _region(control: str, region: Any) -> dict[str, Any]:
    if not isinstance(region, dict):
        return {"from_name": control, "type": "unknown", "value": region}
    value = {k: v for k, v in region.items() if k not in ("original_width", "original_height")}
    result_type = next((t for t, key in _REGION_KEYS if key in region), "unknown")
    result: dict[str, Any] = {"from_name": control, "type": result_type, "value": value}
    for key in ("original_width", "original_height"):
        if key in region:
            result[key] = region[key]
    return result
