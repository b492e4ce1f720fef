"""Write Label Studio 1.23.2 JSON exports: tasks, annotations and results with the exact envelope
(keys, key order, types) of the "Export → JSON" button, as in ../tests/fixtures/label-studio/.

Used by make_exports.py; deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

EPOCH = datetime(2026, 9, 1, 8, 0, 0, tzinfo=timezone.utc)
ALPHABET = string.ascii_letters + string.digits + "_-"


def stamp(seconds: float) -> str:
    """An ISO 8601 timestamp like Label Studio writes, `seconds` after EPOCH."""
    return (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ExportWriter:
    """Builds tasks one by one and writes them as a Label Studio JSON export."""

    project: int
    seed: int
    tasks: list[dict[str, Any]] = field(default_factory=list)
    next_annotation: int = 1
    clock: float = 0.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def region_id(self) -> str:
        """A 10-character region id, as the editor makes them."""
        return "".join(self.rng.choice(ALPHABET) for _ in range(10))

    def tick(self, seconds: float = 7.0) -> float:
        self.clock += seconds + self.rng.random()
        return self.clock

    def annotation(
        self,
        task_id: int,
        result: list[dict[str, Any]],
        *,
        annotator: int = 1,
        cancelled: bool = False,
        ground_truth: bool = False,
    ) -> dict[str, Any]:
        """An annotation object as the JSON export writes it (completed_by is an int)."""
        created = self.tick()
        updated = created + self.rng.random()
        annotation_id = self.next_annotation
        self.next_annotation += 1
        return {
            "id": annotation_id,
            "completed_by": annotator,
            "result": result,
            "was_cancelled": cancelled,
            "ground_truth": ground_truth,
            "created_at": stamp(created),
            "updated_at": stamp(updated),
            "draft_created_at": None,
            "lead_time": round(5 + self.rng.random() * 40, 3),
            "prediction": {},
            "result_count": 0,
            "unique_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "import_id": None,
            "last_action": None,
            "bulk_created": False,
            "task": task_id,
            "project": self.project,
            "updated_by": annotator,
            "parent_prediction": None,
            "parent_annotation": None,
            "last_created_by": None,
        }

    def task(self, data: dict[str, Any], annotations: list[dict[str, Any]]) -> dict[str, Any]:
        """Append a task with `annotations` (built with `annotation`) and return it."""
        task_id = len(self.tasks) + 1
        for annotation in annotations:
            annotation["task"] = task_id
        created = self.tick(2)
        cancelled = sum(1 for a in annotations if a["was_cancelled"])
        task = {
            "id": task_id,
            "annotations": annotations,
            "drafts": [],
            "predictions": [],
            "data": data,
            "meta": {},
            "created_at": stamp(created),
            "updated_at": stamp(created + 1),
            "allow_skip": True,
            "inner_id": task_id,
            "total_annotations": len(annotations) - cancelled,
            "cancelled_annotations": cancelled,
            "total_predictions": 0,
            "comment_count": 0,
            "unresolved_comment_count": 0,
            "last_comment_updated_at": None,
            "project": self.project,
            "updated_by": None,
            "comment_authors": [],
        }
        self.tasks.append(task)
        return task

    def write(self, path: Path) -> None:
        """Write the export as Label Studio does: a JSON list of tasks, indented."""
        path.write_text(json.dumps(self.tasks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def choices(control: str, to_name: str, value: str, region_id: str | None = None, **geometry: Any) -> dict[str, Any]:
    """A Choices result; with `region_id` a per-region attribute that repeats the region geometry."""
    result: dict[str, Any] = {}
    if region_id is not None:
        result["id"] = region_id
    result.update({"from_name": control, "to_name": to_name, "type": "choices"})
    extra = {k: geometry.pop(k) for k in ("original_width", "original_height", "image_rotation") if k in geometry}
    result.update(extra)
    result["value"] = {**geometry, "choices": [value]}
    return result


def timeline(control: str, region_id: str, start: int, end: int, label: str) -> dict[str, Any]:
    """A TimelineLabels result: one range of frames (1-based, inclusive) with one label."""
    return {
        "id": region_id,
        "from_name": control,
        "to_name": "video",
        "type": "timelinelabels",
        "origin": "manual",
        "value": {"ranges": [{"start": start, "end": end}], "timelinelabels": [label]},
    }


def rectangle(
    control: str, region_id: str, box: tuple[float, float, float, float], label: str, size: tuple[int, int]
) -> dict[str, Any]:
    """A RectangleLabels result; `box` is x, y, width, height in percent of the image."""
    x, y, w, h = box
    return {
        "id": region_id,
        "from_name": control,
        "to_name": "image",
        "type": "rectanglelabels",
        "origin": "manual",
        "original_width": size[0],
        "original_height": size[1],
        "image_rotation": 0,
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]},
    }


def spread(n: int, cells: list[Any]) -> list[Any]:
    """`n` cell assignments spread as evenly as possible over `cells` (the first cells get one more)."""
    return [cells[i % len(cells)] for i in range(n)]
