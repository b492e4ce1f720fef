"""What each submitted annotation of a task says, aspect by aspect: the neutral `Judgement` rows the
`annotator-disagreement` check compares."""

from __future__ import annotations

from typing import Any

from taxospec.dataset import Judgement
from taxospec.plugins.labelstudio.mapping import ControlMapping
from taxospec.plugins.labelstudio.results import (
    REGION_TYPES,
    annotation_id_of,
    annotator,
    choice_values,
    labels_of,
    type_of,
)
from taxospec.spec.model import Spec


def task_judgements(
    item: int, counted: dict[str, Any], submitted: list[dict[str, Any]], spec: Spec, mapping: ControlMapping
) -> list[Judgement]:
    """One judgement per submitted annotation of task row `item`, the counted one first."""
    return [
        Judgement(
            item,
            annotation_id_of(annotation),
            annotator(annotation),
            annotation is counted,
            signature(annotation, spec, mapping),
        )
        for annotation in [counted, *(other for other in submitted if other is not counted)]
    ]


def signature(annotation: dict[str, Any], spec: Spec, mapping: ControlMapping) -> dict[str, tuple[str, ...]]:
    """What the annotation says: its label (or region labels) and each per-task axis value, sorted."""
    results = annotation.get("result")
    if not isinstance(results, list):
        return {}
    labels: list[str] = []
    choices: dict[str, list[Any]] = {}
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            continue
        value = result["value"]
        from_name = result.get("from_name")
        result_type = type_of(result)
        if result_type in REGION_TYPES:
            found = labels_of(result_type, value)
            phantom = result_type == "timelinelabels" and "ranges" not in value
            if found and not phantom:
                labels.extend(str(x) for x in found)
        elif result_type == "choices" and isinstance(from_name, str):
            choices[from_name] = choice_values(value)
    said: dict[str, tuple[str, ...]] = {}
    if spec.unit == "image":
        for control in mapping.class_controls or ():
            if control in choices:
                said["the label"] = tuple(sorted(str(x) for x in choices[control]))
    else:
        said["the labels"] = tuple(sorted(labels))
    for axis_name, axis in spec.axes.items():
        control = spec.labelstudio.axis_controls.get(axis_name, axis_name)
        if axis.scope == "item" and control in choices:
            said[f"axis {axis_name}"] = tuple(sorted(str(x) for x in choices[control]))
    return said
