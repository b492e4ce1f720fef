"""The team's own model's predictions in a Label Studio export: a class and a score per example, the
second source of probabilities `likely-mislabel` mixes in.

A task's `predictions` (expanded objects, as a snapshot export with `predictions: {only_id: false}` or
the API gives them; bare ids are skipped) each hold `result`s like an annotation's, with a `score` per
result or per prediction. For whole-image examples the class control's choice is the prediction; for
boxes each predicted box is matched to the annotated box it overlaps most (intersection over union at
least `MIN_IOU`, each annotated box taken once, higher scores first). Predictions without a score, of a
label that is no class, or written by taxospec itself (model version `taxospec`: the findings it wrote
back) are left out; so is anything malformed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MIN_IOU = 0.5
"""Overlap a predicted box needs with an annotated one to predict its class."""
OWN_MODEL_VERSION = "taxospec"
"""The model version of the predictions taxospec writes back (never evidence)."""

Box = tuple[float, float, float, float]
Predicted = tuple[int, float, Box | None]
"""A class index, its score (0..1), and the box (x, y, width, height in percent) or None for the image."""


def predicted(
    predictions: Any,
    is_class_control: Callable[[str | None, str | None], bool],
    class_of_label: Callable[[Any], int | None],
) -> list[Predicted]:
    """What the predictions of one task say: a (class, score, box) per predicted example.
    `is_class_control(from_name, type)` tells the results that carry the class; `class_of_label(label)`
    gives a label's class index (None: not a class)."""
    out: list[Predicted] = []
    if not isinstance(predictions, list):
        return out
    for prediction in predictions:
        if not isinstance(prediction, dict) or prediction.get("model_version") == OWN_MODEL_VERSION:
            continue
        results = prediction.get("result")
        if not isinstance(results, list):
            continue
        overall = _score(prediction.get("score"))
        for result in results:
            found = _one(result, overall, is_class_control, class_of_label)
            if found is not None:
                out.append(found)
    return out


def _one(
    result: Any,
    overall: float | None,
    is_class_control: Callable[[str | None, str | None], bool],
    class_of_label: Callable[[Any], int | None],
) -> Predicted | None:
    if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
        return None
    kind, value = result.get("type"), result["value"]
    if not is_class_control(result.get("from_name"), kind if isinstance(kind, str) else None):
        return None
    labels = value.get("choices") if kind == "choices" else value.get(kind) if isinstance(kind, str) else None
    if not isinstance(labels, list) or len(labels) != 1:
        return None
    class_idx = class_of_label(labels[0])
    score = _score(result.get("score"))
    score = score if score is not None else overall
    if class_idx is None or score is None:
        return None
    box = None
    if kind != "choices":
        box = _box(value)
        if box is None:
            return None
    return class_idx, score, box


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, float(value)))


def _box(value: dict[str, Any]) -> Box | None:
    try:
        x, y, width, height = (float(value[k]) for k in ("x", "y", "width", "height"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x, y, width, height)) or width <= 0 or height <= 0:
        return None
    return x, y, width, height


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (x, y, width, height)."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def assign(found: list[Predicted], samples: list[tuple[int, Box | None]]) -> dict[int, tuple[int, float]]:
    """Sample row → (class, score) for `samples` (row, its box or None for a whole image) of one task:
    the image's prediction with the highest score, and boxes matched greedily by score."""
    out: dict[int, tuple[int, float]] = {}
    taken: set[int] = set()
    for class_idx, score, box in sorted(found, key=lambda p: -p[1]):
        overlap, row = max(((_overlap(box, own), row) for row, own in samples if row not in taken), default=(0.0, -1))
        if row >= 0 and overlap >= MIN_IOU:
            out[row] = (class_idx, score)
            taken.add(row)
    return out


def _overlap(predicted_box: Box | None, own: Box | None) -> float:
    """How well a prediction fits a sample: boxes by their overlap; an image prediction fits an image."""
    if predicted_box is None or own is None:
        return 1.0 if predicted_box is None and own is None else 0.0
    return iou(predicted_box, own)
