"""What the benchmark scripts share: building Label Studio tasks for generated data."""

from __future__ import annotations

from typing import Any


def image_task(task_id: int, image: str, label: str, **data: str) -> dict[str, Any]:
    """One task as Label Studio exports it: an image (plus any other `data` fields) whose class is a
    Choices result named `label`."""
    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}]
    return {"id": task_id, "data": {"image": image, **data}, "annotations": [{"id": task_id, "result": result}]}
