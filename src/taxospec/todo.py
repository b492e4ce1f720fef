"""The collection to-do list: every coverage shortfall as an item a collection team can act on.

Items come from the cells of `taxospec.coverage` (a class short of its minimum, an axis value or a
combination of values under its quota), from hard negatives short of `balance.negatives_per_positive`,
and from a validation split that lacks conditions present in training. Items do not double count: an
axis-value item only asks for what the combination items that contain the value do not already bring,
and a class item only for what its cells do not.

`plan_budget` spreads N captures over the items greedily, each capture (a class at a full assignment of
axis values, to training or to validation) going where it fills the most open quota units.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from taxospec.__about__ import __version__
from taxospec.budget import BudgetPlan, plan_budget
from taxospec.coverage import COVERED, MISSING, Cell, Coverage, quota_fill
from taxospec.findings import ReportModel
from taxospec.spec.model import Spec

Kind = Literal["class", "value", "combination", "hard-negative", "scenario", "deployment"]
_KIND_ORDER = {"class": 3, "value": 2, "combination": 1, "hard-negative": 4, "scenario": 5, "deployment": 6}


class TodoItem(ReportModel):
    """One scenario to collect: which class, under which conditions, how many more, for which split."""

    rank: int
    """Position in the list (1 = do first)."""
    kind: Kind
    """class (the class is short of its minimum), value (one axis value is thin), combination (a cell of a
    required combination is thin or missing), hard-negative (look-alikes are short of the ratio), scenario
    (no example looks like an axis value, by the embeddings, whatever the annotations say), deployment (a
    scenario of the deployment sample that no labeled example is like)."""
    class_name: str = Field(alias="class")
    """The class to collect."""
    role: str
    """positive or negative."""
    split: str | None
    """The split the examples must go to (`val` for validation gaps); null: any, usually training."""
    conditions: dict[str, str]
    """Axis values the new examples must show (empty: any conditions)."""
    look_alike_of: list[str] = Field(default_factory=list)
    """For negatives: the positive classes they must look like."""
    have: int
    """Examples there are now."""
    need: int
    """Examples the spec asks for."""
    missing: int
    """How many more to collect for this item."""
    status: str
    """missing (there are none) or under quota."""
    instruction: str
    """What to capture, in plain words."""
    pictures: list[str] = Field(default_factory=list)
    """Media URIs of pictures like what to capture (a deployment scenario's most typical ones)."""


class PoolPick(ReportModel):
    """One unlabeled picture to label next."""

    rank: int
    """1 = label first."""
    media: str
    """Its media URI."""
    task_id: int | None
    """Its Label Studio task id, when the pool is a project's tasks."""
    gain: float
    """How much open need it fills (to-do items matched, missing ones counting double)."""
    fills: list[int]
    """The ranks of the to-do items it fills."""
    looks_like: str | None
    """The class it looks like."""
    conditions: dict[str, str]
    """What it shows, per axis with value prompts (zero-shot)."""


class CoverageSummary(ReportModel):
    """How much of the required coverage the data has."""

    quota_fill: float
    """Σ min(count, quota) / Σ quota over every cell of every class (all splits)."""
    cells_covered: float
    """Share of cells (axis values and combinations, all classes) at quota."""
    by_split: dict[str, float]
    """Share of cells at quota within each split, with quotas scaled to the split's size."""


class TodoList(ReportModel):
    """The collection to-do list."""

    taxospec_version: str
    """The taxospec version that wrote it."""
    spec_name: str
    """The spec's `name`."""
    export_path: str
    """The export it was computed from."""
    split: str | None
    """The split it was computed for (null: all splits, plus validation gaps)."""
    coverage: CoverageSummary
    """Coverage now."""
    items: list[TodoItem]
    """The items, in the order to work through them."""
    budget: BudgetPlan | None = None
    """The budget plan, when a budget was given."""
    label_next: list[PoolPick] | None = None
    """The unlabeled pool's pictures to label first, when a pool was given (`taxospec todo --pool`)."""


def build_todo(
    coverage: Coverage, export_path: str, *, split: str | None = None, budget: int | None = None
) -> TodoList:
    """The to-do list for all splits (plus validation gaps), or for one `split`; with a plan for `budget`."""
    spec = coverage.spec
    items = _items(coverage, split)
    ranked = sorted(items, key=lambda i: _rank_key(spec, i))
    numbered = [item.model_copy(update={"rank": n}) for n, item in enumerate(ranked, 1)]
    summary = CoverageSummary(
        quota_fill=round(coverage.quota_fill, 4),
        cells_covered=round(coverage.share_covered(), 4),
        by_split={s: round(coverage.share_covered(s), 4) for s in coverage.splits},
    )
    plan = plan_budget(coverage, budget, split=split) if budget is not None else None
    return TodoList(
        taxospec_version=__version__,
        spec_name=spec.name,
        export_path=export_path,
        split=split,
        coverage=summary,
        items=numbered,
        budget=plan,
    )


def _items(coverage: Coverage, split: str | None) -> list[TodoItem]:
    spec = coverage.spec
    targets: list[str | None] = [split] if split is not None else [None]
    validation = spec.splits.validation if spec.splits else None
    if split is None and validation is not None and validation in coverage.splits:
        targets.append(validation)
    per_target: dict[str | None, list[TodoItem]] = {}
    for target in reversed(targets):  # validation first: its captures also count for all splits
        present_in_training = coverage.training_cells() if (split is None and target is not None) else None
        found: list[TodoItem] = []
        for class_name in spec.classes:
            cells = coverage.of(class_name, target).cells
            if present_in_training is not None:
                cells = [c for c in cells if (c.axes, c.values) in present_in_training.get(class_name, set())]
            later = [i for i in per_target.get(validation, []) if i.class_name == class_name] if target is None else []
            found += _class_items(spec, class_name, target, cells, later)
        if target is None:
            found += _hard_negative_items(coverage, found + per_target.get(validation, []))
        per_target[target] = found
    return [item for found in per_target.values() for item in found]


def _class_items(
    spec: Spec, class_name: str, split: str | None, cells: list[Cell], validation_items: list[TodoItem]
) -> list[TodoItem]:
    """The items of one class: combinations, then what axis values and the class total still need.

    `validation_items` (of this class) are captures already asked for in validation; they count here too.
    """

    def brought_by_validation(conditions: dict[str, str]) -> int:
        return sum(i.missing for i in validation_items if all(i.conditions.get(a) == v for a, v in conditions.items()))

    short = [c for c in cells if c.status != COVERED]
    combos = []
    for cell in (c for c in short if c.order > 1):
        residual = cell.shortfall - brought_by_validation(dict(zip(cell.axes, cell.values, strict=True)))
        if residual > 0:
            combos.append(_item(spec, "combination", cell, residual))
    implied_by_value: dict[tuple[str, str], int] = {}
    for item in combos:
        for axis, value in item.conditions.items():
            implied_by_value[(axis, value)] = implied_by_value.get((axis, value), 0) + item.missing
    value_items = []
    for cell in (c for c in short if c.order == 1):
        residual = (
            cell.shortfall
            - implied_by_value.get((cell.axes[0], cell.values[0]), 0)
            - brought_by_validation({cell.axes[0]: cell.values[0]})
        )
        if residual > 0:
            value_items.append(_item(spec, "value", cell, residual))
    items = combos + value_items
    whole = next((c for c in short if c.order == 0), None)
    if whole is not None:
        by_group: dict[tuple[str, ...], int] = {}
        for item in items:
            group = tuple(item.conditions)
            by_group[group] = by_group.get(group, 0) + item.missing
        residual = whole.shortfall - max(by_group.values(), default=0) - brought_by_validation({})
        if residual > 0:
            items.append(_item(spec, "class", whole, residual))
    return items


def _hard_negative_items(coverage: Coverage, items: list[TodoItem]) -> list[TodoItem]:
    spec = coverage.spec
    ratio = spec.balance.negatives_per_positive
    out: list[TodoItem] = []
    for positive in spec.positives:
        negatives = [n for n in spec.classes[positive].hard_negatives if n in spec.classes and n != positive]
        positives = coverage.of(positive).total
        if not negatives or ratio == 0 or positives == 0:
            continue
        need = math.ceil(ratio * positives - 1e-9)
        have = sum(coverage.of(n).total for n in negatives)
        already = sum(i.missing for i in items if i.class_name in negatives)
        residual = need - have - already
        if residual <= 0:
            continue
        for k, negative in enumerate(negatives):
            share = residual // len(negatives) + (1 if k < residual % len(negatives) else 0)
            if share <= 0:
                continue
            cell = Cell(negative, None, (), (), have, need)
            item = _item(spec, "hard-negative", cell, share)
            out.append(
                item.model_copy(
                    update={
                        "look_alike_of": [positive],
                        "instruction": _instruction(spec, "hard-negative", negative, None, {}, share, [positive]),
                    }
                )
            )
    return out


def _item(spec: Spec, kind: Kind, cell: Cell, missing: int) -> TodoItem:
    conditions = dict(zip(cell.axes, cell.values, strict=True))
    look_alike = _look_alike_of(spec, cell.class_name)
    return TodoItem(
        rank=0,
        kind=kind,
        class_name=cell.class_name,
        role=spec.classes[cell.class_name].role,
        split=cell.split,
        conditions=conditions,
        look_alike_of=look_alike,
        have=cell.count,
        need=cell.quota,
        missing=missing,
        status=cell.status,
        instruction=_instruction(spec, kind, cell.class_name, cell.split, conditions, missing, look_alike),
    )


def with_scenario_gaps(
    todo: TodoList, spec: Spec, gaps: list[tuple[str, dict[str, str]]], counts: dict[str, int]
) -> TodoList:
    """`todo` with an item for every scenario that no example of a class looks like in embedding space:
    (class, {axis: value}) for one axis value, or with one entry per axis for a combination cell.

    `counts` is each class's number of examples; an item asks for the value's quota of them, or the
    combination's `min`. A scenario the list already asks for across splits (its counts fall short too) is
    not repeated; one it asks for only in a split (validation gaps) still gets its own item.
    """
    from taxospec.coverage import value_quota

    known = {(i.class_name, frozenset(i.conditions.items())) for i in todo.items if i.split is None}
    extra = []
    for class_name, conditions in gaps:
        if (class_name, frozenset(conditions.items())) in known:
            continue
        known.add((class_name, frozenset(conditions.items())))
        if len(conditions) == 1:
            [axis] = conditions
            need = max(1, value_quota(spec, class_name, axis, counts.get(class_name, 0)))
        else:
            need = max((c.min for c in spec.combinations_of(class_name) if set(c.axes) == set(conditions)), default=1)
        look_alike = _look_alike_of(spec, class_name)
        kind = "value" if len(conditions) == 1 else "combination"
        instruction = _instruction(spec, kind, class_name, None, conditions, need, look_alike)
        extra.append(
            TodoItem(
                rank=0,
                kind="scenario",
                class_name=class_name,
                role=spec.classes[class_name].role,
                split=None,
                conditions=conditions,
                look_alike_of=look_alike,
                have=0,
                need=need,
                missing=need,
                status=MISSING,
                instruction=instruction.rstrip(".") + " (no example looks like it, though some may be tagged so).",
            )
        )
    return with_items(spec, todo, extra)


def _look_alike_of(spec: Spec, class_name: str) -> list[str]:
    if spec.classes[class_name].role != "negative":
        return []
    return [p for p in spec.positives if class_name in spec.classes[p].hard_negatives]


def _instruction(
    spec: Spec,
    kind: str,
    class_name: str,
    split: str | None,
    conditions: dict[str, str],
    missing: int,
    look_alike: list[str],
) -> str:
    video = spec.media == "video"
    verb, noun = (
        ("Film", "clip" if missing == 1 else "clips")
        if video
        else ("Photograph", "image" if missing == 1 else "images")
    )
    what = f"{verb} {missing} more {noun} of {class_name}"
    if look_alike:
        what += f" that {'looks' if missing == 1 else 'look'} like {' or '.join(look_alike)}"
    if conditions:
        what += " at " + ", ".join(f"{axis}={value}" for axis, value in conditions.items())
    elif kind in ("class", "hard-negative"):
        what += ", spread over the conditions the spec lists"
    rules = []
    if spec.unit == "segment":
        temporal = spec.tightness.temporal
        bounds = (
            f"{temporal.min_seconds:g}–{temporal.max_seconds:g} s"
            if temporal.max_seconds is not None
            else f"at least {temporal.min_seconds:g} s"
        )
        rules.append(f"keep each segment {bounds} and tight around the {'look-alike' if look_alike else 'action'}")
    elif spec.unit in ("box", "track"):
        rules.append(f"box each {class_name} tightly, whole and inside the frame")
    if split is not None and spec.splits is not None and split == spec.splits.validation:
        group = f" from a {spec.splits.group_by} not used in training" if spec.splits.group_by else ""
        rules.append(f"put {'it' if missing == 1 else 'them'} in the {split!r} split{group}")
    return what + ("; " + "; ".join(rules) if rules else "") + "."


def with_items(spec: Spec, todo: TodoList, extra: list[TodoItem]) -> TodoList:
    """`todo` with the `extra` items, all ranked together."""
    if not extra:
        return todo
    items = sorted([*todo.items, *extra], key=lambda i: _rank_key(spec, i))
    return todo.model_copy(update={"items": [i.model_copy(update={"rank": n}) for n, i in enumerate(items, 1)]})


def _rank_key(spec: Spec, item: TodoItem) -> tuple[object, ...]:
    class_order = list(spec.classes).index(item.class_name)
    return (
        0 if item.status == MISSING else 1,
        -round(item.missing / item.need, 6) if item.need else 0,
        0 if item.split is None else 1,
        _KIND_ORDER[item.kind],
        class_order,
        tuple(item.conditions.items()),
    )


# --- budget ------------------------------------------------------------------------------------------


__all__ = ["BudgetPlan", "TodoItem", "TodoList", "build_todo", "plan_budget", "quota_fill"]
