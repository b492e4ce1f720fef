"""Every training example as the HTML explorer shows it: the dataset's sample table with names instead of
indices, each example's shape for drawing it on its picture, and the row of its scores.

It goes into the report only when asked for (`taxospec.check(…, explore=True)`; the HTML report asks),
since it holds one entry per example in every column.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import Field

from taxospec.dataset import KIND_NAMES, Dataset
from taxospec.findings import ReportModel


class ExampleTable(ReportModel):
    """One entry per training example in every column."""

    task_id: list[int]
    region_id: list[str | None]
    kind: list[str]
    """`item` (the whole task), `box`, `polygon`, `segment` or `track`."""
    class_name: list[str | None] = Field(alias="class")
    split: list[str | None]
    axes: dict[str, list[str | None]]
    """Per axis, each example's value (null: none, or one the spec does not have)."""
    box: list[list[float] | None]
    """`[x, y, width, height, rotation]` in percent of the picture (null: no box)."""
    outline: list[dict[str, list[float] | list[list[float]]] | None]
    """The exact shape where it is not the box: `{"polygon": [[x, y], …]}` or `{"ellipse": [cx, cy, rx, ry,
    rotation]}`."""
    seconds: list[list[float] | None]
    """`[start, end]` of a segment or track, in seconds."""
    score_row: list[int | None]
    """The example's row in `scores.examples` (null: not embedded)."""
    keypoints: list[list[float | int | str | None]] = Field(default_factory=list)
    """The keypoints drawn on the pictures: `[task id, x, y, label]`."""


def example_table(dataset: Dataset, embedded_rows: npt.NDArray[np.int64] | None) -> ExampleTable:
    """The table of `dataset`'s examples; `embedded_rows` are the sample rows of `scores.examples`, in
    order (None: the run had no scores)."""
    cols, samples, items = dataset.columns, dataset.samples, dataset.items
    n = len(samples)
    score_row: list[int | None] = [None] * n
    if embedded_rows is not None:
        for position, row in enumerate(embedded_rows.tolist()):
            score_row[int(row)] = position
    task_ids = np.asarray(items.task_id, dtype=np.int64)[cols.task] if n else np.zeros(0, dtype=np.int64)
    splits = [items.split[t] for t in cols.task.tolist()]
    return ExampleTable(
        task_id=task_ids.tolist(),
        region_id=list(samples.region_id),
        kind=[KIND_NAMES[int(k)] for k in cols.kind.tolist()],
        class_name=[dataset.class_names[c] if c >= 0 else None for c in cols.class_idx.tolist()],
        split=splits,
        axes={
            axis: [values[v] if v >= 0 else None for v in cols.axes[i].tolist()]
            for i, (axis, values) in enumerate((a, dataset.spec.axes[a].values) for a in dataset.axis_names)
        },
        box=_boxes(dataset),
        outline=[_outline(dataset, s) for s in range(n)],
        seconds=_seconds(dataset),
        score_row=score_row,
        keypoints=[[int(items.task_id[k.task]), round(k.x, 3), round(k.y, 3), k.label] for k in dataset.keypoints],
    )


def _boxes(dataset: Dataset) -> list[list[float] | None]:
    cols = dataset.columns
    out: list[list[float] | None] = []
    for x, y, w, h, r in zip(
        cols.x.tolist(), cols.y.tolist(), cols.w.tolist(), cols.h.tolist(), cols.rotation.tolist(), strict=True
    ):
        finite = all(math.isfinite(v) for v in (x, y, w, h))
        out.append(
            [round(x, 3), round(y, 3), round(w, 3), round(h, 3), round(r if math.isfinite(r) else 0.0, 2)]
            if finite
            else None
        )
    return out


def _seconds(dataset: Dataset) -> list[list[float] | None]:
    cols = dataset.columns
    return [
        [round(a, 3), round(b, 3)] if math.isfinite(a) and math.isfinite(b) else None
        for a, b in zip(cols.start_s.tolist(), cols.end_s.tolist(), strict=True)
    ]


def _outline(dataset: Dataset, sample: int) -> dict[str, list[float] | list[list[float]]] | None:
    shape = dataset.outlines.get(sample)
    if shape is None:
        return None
    if shape.kind == "polygon":
        return {"polygon": [[round(x, 3), round(y, 3)] for x, y in shape.points]}
    if shape.ellipse is not None:
        return {"ellipse": [round(v, 3) for v in shape.ellipse]}
    return None
