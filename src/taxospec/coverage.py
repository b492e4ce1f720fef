"""Coverage: how completely each class spans the spec's axes, per split, with quotas.

A *cell* is one class at one combination of axis values (t-way, CODEX's "interaction"), one axis value
(1-way), or the class as a whole (0-way, quota `min_examples`). A cell is *covered* when it holds at least
its quota, *under quota* when it holds some, *missing* when it holds none: one occurrence is not coverage.
Examples without a value for an axis (not yet tagged, or an unknown value) are counted as untagged and
cover nothing.

Quotas are the spec's for all splits together. For one split, each quota is scaled by that split's share
of the examples and rounded (at least 1), so validation must show every condition in proportion.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext
from taxospec.dataset import Dataset
from taxospec.spec.model import Combination, Spec

COVERED, UNDER, MISSING = "covered", "under quota", "missing"


@dataclass(frozen=True)
class Cell:
    """One class at one combination of axis values (or one value, or none: the class as a whole)."""

    class_name: str
    split: str | None
    axes: tuple[str, ...]
    values: tuple[str, ...]
    count: int
    quota: int

    @property
    def status(self) -> str:
        """covered, under quota, or missing."""
        if self.count >= self.quota:
            return COVERED
        return MISSING if self.count == 0 else UNDER

    @property
    def shortfall(self) -> int:
        """How many more examples the cell needs."""
        return max(0, self.quota - self.count)

    @property
    def order(self) -> int:
        """0 for the class as a whole, 1 for one axis value, t for a t-way combination."""
        return len(self.axes)

    def matches(self, assignment: dict[str, str]) -> bool:
        """Whether an example with `assignment` (axis → value) falls into this cell."""
        return all(assignment.get(a) == v for a, v in zip(self.axes, self.values, strict=True))


@dataclass(frozen=True)
class ClassCoverage:
    """Coverage of one class in one split (None: all splits)."""

    class_name: str
    role: str
    split: str | None
    total: int
    untagged: dict[str, int]
    cells: list[Cell]

    def share_covered(self, order: int | None = None) -> float:
        """Share of this class's cells (of one order, or all with an axis) at quota; 1.0 when there are none."""
        cells = [c for c in self.cells if (c.order == order if order is not None else c.order > 0)]
        return sum(c.status == COVERED for c in cells) / len(cells) if cells else 1.0


@dataclass
class Coverage:
    """Coverage of every class, for all splits together and for each split."""

    spec: Spec
    classes: dict[tuple[str, str | None], ClassCoverage] = field(default_factory=dict)
    splits: list[str] = field(default_factory=list)
    split_shares: dict[str, float] = field(default_factory=dict)

    def of(self, class_name: str, split: str | None = None) -> ClassCoverage:
        """The coverage of `class_name` in `split` (None: all splits)."""
        return self.classes[(class_name, split)]

    def cells(self, split: str | None = None) -> list[Cell]:
        """Every cell of every class in `split`."""
        return [cell for (_, s), cc in self.classes.items() if s == split for cell in cc.cells]

    @cached_property
    def quota_fill(self) -> float:
        """Share of all quota units (all splits) that the data fills: Σ min(count, quota) / Σ quota."""
        return quota_fill(self.cells(None))

    def share_covered(self, split: str | None = None, order: int | None = None) -> float:
        """Share of cells (with an axis, or of one order) at quota, over all classes."""
        cells = [c for c in self.cells(split) if (c.order == order if order is not None else c.order > 0)]
        return sum(c.status == COVERED for c in cells) / len(cells) if cells else 1.0

    def training_cells(self) -> dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """Per class, the cells (axes, values) that hold at least one training example."""
        train = self.spec.splits.train if self.spec.splits else None
        if train is None or train not in self.splits:
            return {}
        return {
            name: {(c.axes, c.values) for c in self.of(name, train).cells if c.count > 0} for name in self.spec.classes
        }


def quota_fill(cells: list[Cell]) -> float:
    """Σ min(count, quota) / Σ quota over `cells` (1.0 when no cell has a quota)."""
    need = sum(c.quota for c in cells)
    return sum(min(c.count, c.quota) for c in cells) / need if need else 1.0


def value_quota(spec: Spec, class_name: str, axis_name: str, total: int) -> int:
    """Examples of `class_name` each value of `axis_name` needs.

    The share applies to the class's size or its minimum, whichever is larger: a class short of its
    minimum still needs its conditions in proportion to the size it must reach.
    """
    per_value = spec.coverage.per_value
    override = spec.classes[class_name].axes.get(axis_name)
    share = override.min_share if override and override.min_share is not None else per_value.min_share
    count = override.min_count if override and override.min_count is not None else per_value.min_count
    basis = max(total, spec.min_examples_of(class_name))
    return max(count, math.ceil(share * basis - 1e-9))


def cell_counts(
    ctx: CheckContext, class_name: str, axes: tuple[str, ...], mask: npt.NDArray[np.bool_] | None = None
) -> dict[tuple[str, ...], int]:
    """Examples of `class_name` per combination of values of `axes` (only the class's values), within `mask`."""
    spec = ctx.spec
    cols = ctx.columns
    selected = cols.class_idx == ctx.class_names.index(class_name)
    if mask is not None:
        selected = selected & mask
    sizes = [len(spec.axes[a].values) for a in axes]
    columns = [cols.axes[ctx.dataset.axis_names.index(a)][selected] for a in axes]
    complete = np.ones(int(selected.sum()), dtype=bool)
    for column in columns:
        complete &= column >= 0
    flat = np.zeros(int(complete.sum()), dtype=np.int64)
    for column, size in zip(columns, sizes, strict=True):
        flat = flat * size + column[complete]
    counts = np.bincount(flat, minlength=math.prod(sizes)).reshape(sizes)
    wanted = [spec.axis_values_of(class_name, a) for a in axes]
    out = {}
    for cell in itertools.product(*wanted):
        index = tuple(spec.axes[a].values.index(v) for a, v in zip(axes, cell, strict=True))
        out[cell] = int(counts[index])
    return out


def required_combinations(spec: Spec, class_name: str) -> list[Combination]:
    """The t-way combinations (t ≥ 2) `class_name` must cover, without repeats."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for combo in spec.combinations_of(class_name):
        if len(combo.axes) > 1 and combo.axes not in seen and all(a in spec.axes for a in combo.axes):
            seen.add(combo.axes)
            out.append(combo)
    return out


def compute_coverage(dataset: Dataset, ctx: CheckContext | None = None) -> Coverage:
    """The coverage of every class of `dataset`, for all splits and for each split."""
    ctx = ctx or CheckContext(dataset)
    spec = dataset.spec
    cols = ctx.columns
    splits = list(spec.splits.values) if spec.splits else []
    total_valid = int(ctx.valid.sum())
    shares = {s: (int((ctx.split_mask(s) & ctx.valid).sum()) / total_valid if total_valid else 0.0) for s in splits}
    coverage = Coverage(spec, splits=splits, split_shares=shares)
    for class_name, class_spec in spec.classes.items():
        c = ctx.class_names.index(class_name)
        minimum = spec.min_examples_of(class_name)
        overall_total = int(ctx.class_counts[c])
        for split in [None, *splits]:
            mask = None if split is None else ctx.split_mask(split)
            scale = 1.0 if split is None else shares[split]
            of_class = (cols.class_idx == c) if mask is None else (cols.class_idx == c) & mask
            total = int(of_class.sum())

            def scaled(quota: int, scale: float = scale, whole: bool = split is None) -> int:
                return quota if whole else max(1, math.floor(quota * scale + 0.5))

            cells = [Cell(class_name, split, (), (), total, scaled(minimum))]
            untagged = {}
            for axis_name in spec.axes_of(class_name):
                values = cols.axes[ctx.dataset.axis_names.index(axis_name)][of_class]
                untagged[axis_name] = int((values < 0).sum())
                quota = scaled(value_quota(spec, class_name, axis_name, overall_total))
                for (value,), count in cell_counts(ctx, class_name, (axis_name,), mask).items():
                    cells.append(Cell(class_name, split, (axis_name,), (value,), count, quota))
            for combo in required_combinations(spec, class_name):
                for values_, count in cell_counts(ctx, class_name, combo.axes, mask).items():
                    cells.append(Cell(class_name, split, combo.axes, values_, count, scaled(combo.min)))
            coverage.classes[(class_name, split)] = ClassCoverage(
                class_name, class_spec.role, split, total, untagged, cells
            )
    return coverage
