"""What the benchmark scripts share: building Label Studio tasks for generated data, and setting one of
taxospec's sizes for a measurement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def image_task(task_id: int, image: str, label: str, **data: str) -> dict[str, Any]:
    """One task as Label Studio exports it: an image (plus any other `data` fields) whose class is a
    Choices result named `label`."""
    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}]
    return {"id": task_id, "data": {"image": image, **data}, "annotations": [{"id": task_id, "result": result}]}


@contextmanager
def patched(target: Any, **values: Any) -> Iterator[None]:
    """Within: the attributes of `target` (the items, for a dict) named in `values` set to them; after, as
    they were (a value of None is left as it is: a setting the measured commit may not have)."""
    values = {name: value for name, value in values.items() if value is not None}
    mapping = isinstance(target, dict)
    saved = {name: target[name] if mapping else getattr(target, name) for name in values}

    def put(settings: dict[str, Any]) -> None:
        for name, value in settings.items():
            if mapping:
                target[name] = value
            else:
                setattr(target, name, value)

    put(values)
    try:
        yield
    finally:
        put(saved)


def approximate_above(rows: int | None) -> Any:
    """Within: a `NeighborIndex` over more than `rows` vectors is approximate (None: as taxospec sets it)."""
    from taxospec.embeddings.index import NeighborIndex

    return patched(NeighborIndex.__init__.__kwdefaults__, approximate_above=rows)
