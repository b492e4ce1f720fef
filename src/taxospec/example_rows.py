"""The report's per-example scores: one `ExampleScore` row per embedded example, held as columns.

A million rows as objects take ~0.3 GiB (each a dataclass with its own floats and ints); as columns they
take ~70 bytes an example, and a row is made when it is read (`rows[i]`, a slice, iteration). The report
serializes them as the list of rows its schema describes, a chunk at a time (`render.report_json`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass as plain_dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from pydantic import AliasChoices, ConfigDict, Field, GetCoreSchemaHandler
from pydantic.dataclasses import dataclass
from pydantic_core import core_schema


# a slotted dataclass rather than a model (validated and serialized alike): 272 bytes instead of a model's
# 1.4 KiB; made only when a row is read (`ExampleRows`)
@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid", use_attribute_docstrings=True))
class ExampleScore:
    """The scores of one embedded example, each kept apart from its flag."""

    task_id: int
    annotation_id: int | None = None
    region_id: str | None = None
    class_name: str | None = Field(
        default=None, serialization_alias="class", validation_alias=AliasChoices("class", "class_name")
    )
    """The given class (null: the example has none)."""
    split: str | None = None
    label_quality: float | None = None
    """0..1, low is bad: the normalized margin of the given class in the out-of-fold probabilities."""
    suggested: str | None = None
    """The class the out-of-fold probabilities favour."""
    mislabel: bool = False
    """Flagged by `likely-mislabel`."""
    outlier_score: float = 0.0
    """Mean distance to its same-class neighbours over its class's fence (above 1: beyond it)."""
    outlier: bool = False
    """Flagged by `outlier`."""
    uniqueness: float = 0.0
    """0..1: the share of examples whose neighbours are nearer (1: the most isolated, 0: the densest)."""
    duplicate_score: float = 0.0
    """Distance to its nearest neighbour over the dataset's median nearest distance (0: an exact copy;
    below `duplicates.relative_distance`: a near-duplicate)."""
    duplicate_group: int | None = None
    """The near-duplicate group it belongs to (an index shared by the group's examples)."""


@plain_dataclass(frozen=True)
class ExampleColumns:
    """The columns of the rows: per example, its numbers, and where its strings are (a row of the
    dataset's columns, an index into the class names)."""

    task_id: npt.NDArray[np.int64]
    annotation_id: npt.NDArray[np.int64]
    """-1: none."""
    sample: npt.NDArray[np.int64]
    """The dataset's sample row, for `region_ids`."""
    task: npt.NDArray[np.int64]
    """The dataset's task row, for `splits`."""
    label: npt.NDArray[np.int64]
    """The given class (index into `names`; -1: none)."""
    quality: npt.NDArray[np.float64]
    """NaN: not scored."""
    suggested: npt.NDArray[np.int64]
    mislabel: npt.NDArray[np.bool_]
    outlier_score: npt.NDArray[np.float64]
    outlier: npt.NDArray[np.bool_]
    uniqueness: npt.NDArray[np.float64]
    duplicate: npt.NDArray[np.float64]
    """NaN: undefined (0 in the row)."""
    group: npt.NDArray[np.int64]
    """-1: in no group."""
    names: Sequence[str]
    region_ids: Sequence[str | None]
    splits: Sequence[str | None]

    def row(self, v: int) -> ExampleScore:
        """Row `v` as the report gives it (rounded to 4 decimals, null where undefined)."""
        label, suggested, quality = int(self.label[v]), int(self.suggested[v]), float(self.quality[v])
        annotation, duplicate, group = int(self.annotation_id[v]), float(self.duplicate[v]), int(self.group[v])
        return ExampleScore(
            task_id=int(self.task_id[v]),
            annotation_id=annotation if annotation >= 0 else None,
            region_id=self.region_ids[int(self.sample[v])],
            class_name=self.names[label] if label >= 0 else None,
            split=self.splits[int(self.task[v])],
            label_quality=round(quality, 4) if math.isfinite(quality) else None,
            suggested=self.names[suggested] if suggested >= 0 else None,
            mislabel=bool(self.mislabel[v]),
            outlier_score=round(float(self.outlier_score[v]), 4),
            outlier=bool(self.outlier[v]),
            uniqueness=round(float(self.uniqueness[v]), 4),
            duplicate_score=round(duplicate, 4) if math.isfinite(duplicate) else 0.0,
            duplicate_group=group if group >= 0 else None,
        )


class ExampleRows(Sequence[ExampleScore]):
    """The rows of every embedded example: made from `ExampleColumns` when read, or given as rows (a
    report read back from JSON). Serialized, and compared, as the list of rows it stands for."""

    def __init__(self, columns: ExampleColumns | None = None, rows: Sequence[ExampleScore] = ()) -> None:
        self._columns = columns
        self._rows = list(rows)
        self._length = len(columns.task_id) if columns is not None else len(self._rows)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, at: int) -> ExampleScore: ...

    @overload
    def __getitem__(self, at: slice) -> list[ExampleScore]: ...

    def __getitem__(self, at: int | slice) -> ExampleScore | list[ExampleScore]:
        if isinstance(at, slice):
            return [self[v] for v in range(*at.indices(self._length))]
        v = at + self._length if at < 0 else at
        if not 0 <= v < self._length:
            raise IndexError(f"example row {at} of {self._length}")
        return self._columns.row(v) if self._columns is not None else self._rows[v]

    def __iter__(self) -> Iterator[ExampleScore]:
        return (self[v] for v in range(self._length))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == self._length and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ExampleRows({self._length} rows)"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validated and serialized as `list[ExampleScore]` (the report's schema is unchanged); an
        `ExampleRows` passes as it is."""
        as_list = handler.generate_schema(list[ExampleScore])
        from_list = core_schema.no_info_after_validator_function(_of_rows, as_list)
        return core_schema.json_or_python_schema(
            json_schema=from_list,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_list]),
            serialization=core_schema.plain_serializer_function_ser_schema(_as_list, return_schema=as_list),
        )


def _of_rows(rows: list[ExampleScore]) -> ExampleRows:
    return ExampleRows(rows=rows)


_as_list: Callable[[Sequence[ExampleScore]], list[ExampleScore]] = list
