"""What a budget of captures buys: the captures (class, conditions, split) that fill the most open quota
units of the to-do list, planned greedily one capture at a time."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import Field

from taxospec.coverage import Cell, Coverage
from taxospec.findings import ReportModel
from taxospec.spec.model import Spec

MAX_ASSIGNMENTS = 20_000
"""Above this many full sets of axis values for a class, captures are planned over the axes its
combinations name only."""


class Allocation(ReportModel):
    """Captures the budget puts on one class at one set of conditions."""

    class_name: str = Field(alias="class")
    """The class to capture."""
    split: str | None
    """The split the captures go to (null: training)."""
    conditions: dict[str, str]
    """Axis values of the captures."""
    captures: int
    """How many."""


class BudgetPlan(ReportModel):
    """What a budget of captures buys."""

    captures: int
    """The budget."""
    used: int
    """Captures that raise coverage (the rest would not)."""
    quota_fill_before: float
    """Share of all quota units filled now."""
    quota_fill_after: float
    """Share filled after the planned captures."""
    cells_covered_before: float
    """Share of cells at quota now."""
    cells_covered_after: float
    """Share of cells at quota after the planned captures."""
    allocation: list[Allocation]
    """Where the captures go, largest first."""


@dataclass
class _Unit:
    """A quota the captures can fill: a cell, or a hard-negative ratio shared by several classes."""

    classes: frozenset[str]
    split: str | None
    conditions: dict[str, str]
    quota: int
    count: int

    @property
    def shortfall(self) -> int:
        return max(0, self.quota - self.count)


def plan_budget(coverage: Coverage, captures: int, *, split: str | None = None) -> BudgetPlan:
    """Spread `captures` over classes and conditions so that the most open quota units get filled.

    Greedy, one capture at a time: the capture (class, full set of axis values, training or validation)
    that fills the most open units, and among those the one whose cells are least filled. Units are the
    to-do list's cells: each class's minimum, axis values and combinations (and, without `split`,
    validation's gaps and the hard-negative ratios).
    """
    spec = coverage.spec
    units = _units(coverage, split)
    before_fill = _fill(units)
    before_cells = _covered(units)
    validation = spec.splits.validation if spec.splits else None
    targets: list[str | None] = [split] if split is not None else [None]
    if split is None and validation is not None and any(u.split == validation for u in units):
        targets.append(validation)
    candidates, touches = _candidates(spec, units, targets)
    counts = np.array([u.count for u in units], dtype=np.int64)
    quotas = np.array([u.quota for u in units], dtype=np.int64)
    scale = np.maximum(quotas, 1)
    left = captures
    planned: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], int] = {}
    while left > 0 and len(candidates):
        gain = touches @ (counts < quotas).astype(np.int64)
        best_gain = int(gain.max())
        if best_gain == 0:
            break
        # among the best, the capture whose cells are the least filled: captures spread over conditions
        fullness = touches @ (counts / scale)
        score = np.where(gain == best_gain, -fullness, -np.inf)
        best = int(np.argmax(score))
        counts += touches[best]
        class_name, target, assignment = candidates[best]
        key = (class_name, target, tuple(assignment.items()))
        planned[key] = planned.get(key, 0) + 1
        left -= 1
    for unit, count in zip(units, counts.tolist(), strict=True):
        unit.count = count
    allocation = [
        Allocation(class_name=c, split=s, conditions=dict(conds), captures=n)
        for (c, s, conds), n in sorted(planned.items(), key=lambda kv: (-kv[1], list(spec.classes).index(kv[0][0])))
    ]
    return BudgetPlan(
        captures=captures,
        used=captures - left,
        quota_fill_before=round(before_fill, 4),
        quota_fill_after=round(_fill(units), 4),
        cells_covered_before=round(before_cells, 4),
        cells_covered_after=round(_covered(units), 4),
        allocation=allocation,
    )


def _candidates(
    spec: Spec, units: list[_Unit], targets: list[str | None]
) -> tuple[list[tuple[str, str | None, dict[str, str]]], npt.NDArray[np.int64]]:
    """Every capture (class, split, axis values) that touches a unit, and which units each touches."""
    candidates: list[tuple[str, str | None, dict[str, str]]] = []
    rows: list[list[int]] = []
    for class_name in spec.classes:
        for assignment in _assignments(spec, class_name):
            for target in targets:
                touched = [
                    i
                    for i, unit in enumerate(units)
                    if class_name in unit.classes
                    and (unit.split is None or unit.split == target)
                    and all(assignment.get(a) == v for a, v in unit.conditions.items())
                ]
                if touched:
                    candidates.append((class_name, target, assignment))
                    rows.append(touched)
    touches = np.zeros((len(candidates), len(units)), dtype=np.int64)
    for row, touched in enumerate(rows):
        touches[row, touched] = 1
    return candidates, touches


def _units(coverage: Coverage, split: str | None) -> list[_Unit]:
    spec = coverage.spec
    units = []
    cells: Iterable[Cell] = coverage.cells(split)
    if split is None and spec.splits is not None and spec.splits.validation in coverage.splits:
        training = coverage.training_cells()
        val_cells = [
            c for c in coverage.cells(spec.splits.validation) if (c.axes, c.values) in training.get(c.class_name, set())
        ]
        cells = [*cells, *val_cells]
    for cell in cells:
        units.append(
            _Unit(
                frozenset({cell.class_name}),
                cell.split,
                dict(zip(cell.axes, cell.values, strict=True)),
                cell.quota,
                cell.count,
            )
        )
    if split is None and spec.balance.negatives_per_positive > 0:
        for positive in spec.positives:
            negatives = frozenset(n for n in spec.classes[positive].hard_negatives if n in spec.classes)
            positives = coverage.of(positive).total
            if negatives and positives:
                need = math.ceil(spec.balance.negatives_per_positive * positives - 1e-9)
                units.append(_Unit(negatives, None, {}, need, sum(coverage.of(n).total for n in negatives)))
    return units


def _assignments(spec: Spec, class_name: str) -> list[dict[str, str]]:
    axes = spec.axes_of(class_name)
    values = [spec.axis_values_of(class_name, a) for a in axes]
    if math.prod(len(v) for v in values) > MAX_ASSIGNMENTS:
        axes = sorted({a for c in spec.combinations_of(class_name) for a in c.axes})
        values = [spec.axis_values_of(class_name, a) for a in axes]
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*values)]


def _fill(units: list[_Unit]) -> float:
    need = sum(u.quota for u in units)
    return sum(min(u.count, u.quota) for u in units) / need if need else 1.0


def _covered(units: list[_Unit]) -> float:
    cells = [u for u in units if u.conditions]
    return sum(u.count >= u.quota for u in cells) / len(cells) if cells else 1.0


__all__ = ["Allocation", "BudgetPlan", "plan_budget"]
