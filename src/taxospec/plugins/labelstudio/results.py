"""The pieces of a Label Studio task and its results, read defensively: ids, labels, choices, numbers.

Every helper takes whatever a hand-edited export holds and answers a typed value or None/NaN, never an
exception; the reader turns the None into a finding.
"""

from __future__ import annotations

import math
from typing import Any

REGION_TYPES = frozenset(
    {
        "rectanglelabels",
        "rectangle",
        "labels",
        "polygonlabels",
        "polygon",
        "ellipselabels",
        "ellipse",
        "keypointlabels",
        "keypoint",
        "brushlabels",
        "brush",
        "timelinelabels",
        "videorectangle",
    }
)
"""The result types that describe a region (and so carry a region id others can point at)."""

_LABEL_KEYS = ("rectanglelabels", "polygonlabels", "ellipselabels", "keypointlabels", "timelinelabels", "labels")


class Region:
    """The results of one region (geometry, labels and per-region attributes) while a task is read."""

    __slots__ = ("attributes", "from_name", "image_h", "image_w", "labels", "result_type", "value")

    def __init__(self) -> None:
        self.result_type: str | None = None
        self.from_name: str | None = None
        self.value: dict[str, Any] | None = None
        self.labels: list[Any] | None = None
        self.attributes: dict[str, list[Any]] = {}
        self.image_w: Any = None
        self.image_h: Any = None


def counted_annotation(submitted: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The annotation that counts among `submitted`: the latest ground truth, else the latest one."""
    if not submitted:
        return None
    truth = [a for a in submitted if a.get("ground_truth") is True]
    pool = truth or submitted
    return max(pool, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), annotation_id_of(a)))


def annotation_id_of(annotation: dict[str, Any]) -> int:
    """The annotation's id, or -1."""
    return id_or(annotation.get("id"), -1)


def as_id(value: Any) -> int | None:
    """`value` as an id: an integer (not a bool) that fits in 64 bits, as Label Studio's ids do; else None
    (a hand-edited export can hold 10**30, which no id column can)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def id_or(value: Any, default: int) -> int:
    """`as_id(value)`, or `default`."""
    found = as_id(value)
    return default if found is None else found


def annotator(annotation: dict[str, Any]) -> str:
    """Who completed the annotation, as shown in findings (`#12` or a quoted email)."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"#{who}" if isinstance(who, int) else repr(str(who))


def labels_of(result_type: Any, value: dict[str, Any]) -> list[Any] | None:
    """The labels a region result carries, as a list, or None when it carries none."""
    if result_type == "videorectangle":
        labels = value.get("labels")
    elif result_type in _LABEL_KEYS:
        labels = value.get(result_type)
    else:
        labels = next((value[k] for k in _LABEL_KEYS if k in value), None)
    if labels is None:
        return None
    return labels if isinstance(labels, list) else [labels]


def type_of(result: dict[str, Any]) -> str | None:
    """The result's `type`, when it is a string."""
    value = result.get("type")
    return value if isinstance(value, str) else None


def region_key(value: Any) -> str | None:
    """A region id (string or integer) as a string, or None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def has_geometry(value: dict[str, Any]) -> bool:
    """Whether a result's value says where its region is."""
    return "x" in value or "points" in value or "ranges" in value or "sequence" in value


def choice_values(value: dict[str, Any]) -> list[Any]:
    """The choices of a choices result, as a list."""
    choices = value.get("choices")
    if choices is None:
        return []
    return choices if isinstance(choices, list) else [choices]


def number(value: Any) -> float:
    """`value` as a float (NaN when it is not a number; ±inf for an integer beyond any float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float (10**400 in a hand-edited export)
        return math.inf if value > 0 else -math.inf


def text(value: Any) -> str | None:
    """A scalar as a string; None for null, objects and lists."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def kind(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages."""
    return "null" if value is None else type(value).__name__
