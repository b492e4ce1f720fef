"""One annotation's results, grouped: the task-level choices by control, and the regions by id with
their geometry, labels and per-region attributes.

Label Studio spreads one region over several results (a `rectangle` and its `labels`, or attributes that
point at the region's id); they are merged here. Results that cannot be read become `ReadIssue`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxospec.dataset import ReadIssue
from taxospec.plugins.labelstudio.mapping import FINDINGS_CONTROL
from taxospec.plugins.labelstudio.results import (
    REGION_TYPES,
    Region,
    annotation_id_of,
    choice_values,
    has_geometry,
    labels_of,
    region_key,
    type_of,
)

_SHARED_REGION_TYPES = frozenset({"rectangle", "labels", "polygon", "ellipse"})
"""Result types that legitimately share one region id (a shape and its labels)."""


@dataclass
class ParsedAnnotation:
    """One annotation's results: `choices` by control name, `regions` by region id."""

    choices: dict[str, list[Any]]
    regions: dict[str, Region]


def parse_annotation(annotation: dict[str, Any], item: int, issues: list[ReadIssue]) -> ParsedAnnotation | None:
    """Group `annotation`'s results (of task row `item`); None when its result is not a list. Problems are
    appended to `issues`."""
    results = annotation.get("result")
    if results is None:
        results = []
    annotation_id = annotation_id_of(annotation)
    if not isinstance(results, list):
        issues.append(ReadIssue("malformed-result", "the annotation's result is not a list", item, annotation_id))
        return None
    parser = _Parser(item, annotation_id, issues, results)
    take = parser.take
    for index, result in enumerate(results):
        take(index, result)
    return ParsedAnnotation(parser.choices, parser.regions)


class _Parser:
    def __init__(
        self,
        item: int,
        annotation_id: int,
        issues: list[ReadIssue],
        results: list[Any],
    ) -> None:
        self.item = item
        self.annotation_id = annotation_id
        self.issues = issues
        self.geometry_ids = {
            region_key(r.get("id")) for r in results if isinstance(r, dict) and type_of(r) in REGION_TYPES
        }
        self.geometry_ids.discard(None)
        self.choices: dict[str, list[Any]] = {}
        self.regions: dict[str, Region] = {}

    def _issue(self, code: str, message: str, region_id: str | None = None) -> None:
        self.issues.append(ReadIssue(code, message, self.item, self.annotation_id, region_id))

    def take(self, index: int, result: Any) -> None:
        """File result `index` under its region or its control."""
        if not isinstance(result, dict):
            self._issue("malformed-result", f"result {index} is not an object")
            return
        result_type = type_of(result)
        from_name = result.get("from_name")
        if result_type == "relation" or from_name == FINDINGS_CONTROL:
            return
        value = result.get("value")
        region_id = region_key(result.get("id"))
        if not isinstance(value, dict) or not isinstance(from_name, str):
            what = "no value object" if not isinstance(value, dict) else "no from_name"
            self._issue("malformed-result", f"result {index} has {what}", region_id)
            return
        if result_type in REGION_TYPES:
            region = self._region_for(index, region_id, result_type, value)
            self._merge(region, result, result_type, from_name, value, region_id)
        elif region_id is not None and region_id in self.geometry_ids:
            self.regions.setdefault(region_id, Region()).attributes[from_name] = choice_values(value)
        else:
            self.choices[from_name] = choice_values(value)

    def _region_for(self, index: int, region_id: str | None, result_type: str, value: dict[str, Any]) -> Region:
        """The region this result belongs to; a new one when its id is already taken by another region."""
        key = region_id if region_id is not None else f"#{index}"
        region = self.regions.get(key)
        if region is None:
            region = self.regions[key] = Region()
        elif (
            region.labels is not None
            and labels_of(result_type, value) is not None
            and not (result_type == "timelinelabels" and "ranges" not in value)  # a phantom: reported in _merge
            and not {region.result_type, result_type} <= _SHARED_REGION_TYPES
        ):
            self._issue(
                "duplicate-region-id", f"region id {region_id!r} is used by two regions in one annotation", region_id
            )
            region = self.regions[f"{key}#{index}"] = Region()
        return region

    def _merge(
        self,
        region: Region,
        result: dict[str, Any],
        result_type: str,
        from_name: str,
        value: dict[str, Any],
        region_id: str | None,
    ) -> None:
        if result_type == "timelinelabels" and not value.get("ranges"):
            if "sequence" in value:
                self._issue(
                    "phantom-timeline-region",
                    f"a timelinelabels result without ranges duplicates video rectangle {region_id!r} "
                    "(Label Studio issue 9744)",
                    region_id,
                )
            else:
                self._issue("malformed-result", "a timelinelabels result has no ranges", region_id)
            return
        labels = labels_of(result_type, value)
        if labels is not None or region.result_type is None or region.value is None:
            region.result_type = result_type
            region.from_name = from_name
            region.labels = labels if labels is not None else region.labels
        if region.value is None or has_geometry(value):
            region.value = value
        region.image_w = result.get("original_width", region.image_w)
        region.image_h = result.get("original_height", region.image_h)
