"""Split checks: every example in a split, validation covering training, no source group in two splits."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import Spec, SplitsSpec


def _no_splits(spec: Spec) -> str | None:
    return None if spec.splits is not None else "the spec has no splits section"


def _splits(spec: Spec) -> SplitsSpec:
    return spec.splits if spec.splits is not None else SplitsSpec()


def _annotated_tasks(ctx: CheckContext) -> list[int]:
    items = ctx.dataset.items
    return [i for i in range(len(items)) if items.n_samples[i] > 0]


@check("split-missing", "splits", Severity.ERROR, params=_splits, skip=_no_splits, local=True)
def split_missing(ctx: CheckContext, params: SplitsSpec) -> Outcome:
    """An annotated task without a split: it lands in training or validation by accident."""
    tasks = _annotated_tasks(ctx)
    split = ctx.dataset.items.split
    issues = [
        ctx.flag(f"the task has no {params.field!r} (expected one of: {', '.join(params.values)})", task=i)
        for i in tasks
        if split[i] is None
    ]
    return len(tasks), issues


@check("split-unknown", "splits", Severity.ERROR, params=_splits, skip=_no_splits, local=True)
def split_unknown(ctx: CheckContext, params: SplitsSpec) -> Outcome:
    """A task whose split is not one of `splits.values` (e.g. `valid` where the spec says `val`)."""
    tasks = _annotated_tasks(ctx)
    split = ctx.dataset.items.split
    issues = [
        ctx.flag(
            f"the task's split {split[i]!r} is not one of {', '.join(params.values)}",
            task=i,
            split=split[i],
        )
        for i in tasks
        if split[i] is not None and split[i] not in params.values
    ]
    return len(tasks), issues


@check("split-class-missing-in-val", "splits", Severity.ERROR, params=_splits, skip=_no_splits)
def split_class_missing_in_val(ctx: CheckContext, params: SplitsSpec) -> Outcome:
    """A class present in training with no example in validation: its accuracy is never measured."""
    train, val = ctx.split_mask(params.train), ctx.split_mask(params.validation)
    cols = ctx.columns
    issues = []
    evaluated = 0
    for c, name in enumerate(ctx.class_names):
        in_train = int((train & (cols.class_idx == c)).sum())
        if in_train == 0:
            continue
        evaluated += 1
        if not (val & (cols.class_idx == c)).any():
            issues.append(
                ctx.flag(
                    f"class {name!r} has {in_train} example(s) in {params.train!r} and none in {params.validation!r}",
                    class_name=name,
                    split=params.validation,
                )
            )
    return evaluated, issues


@check("split-axis-value-missing-in-val", "splits", Severity.WARNING, params=_splits, skip=_no_splits)
def split_axis_value_missing_in_val(ctx: CheckContext, params: SplitsSpec) -> Outcome:
    """A class × axis value seen in training but never in validation (`splits.val_covers_axes`).

    Validation that lacks a deployment condition cannot tell you the model fails in it."""
    if not params.val_covers_axes:
        return 0, []
    train, val = ctx.split_mask(params.train), ctx.split_mask(params.validation)
    cols = ctx.columns
    issues = []
    evaluated = 0
    for c, name in enumerate(ctx.class_names):
        of_class = cols.class_idx == c
        if not (val & of_class).any():
            continue  # the class itself is missing from validation: reported once above
        for a, axis_name in enumerate(ctx.dataset.axis_names):
            if axis_name not in ctx.spec.axes_of(name):
                continue
            values = cols.axes[a]
            train_values = set(np.unique(values[train & of_class]).tolist())
            val_values = set(np.unique(values[val & of_class]).tolist())
            for v, value in enumerate(ctx.spec.axes[axis_name].values):
                if v not in train_values:
                    continue
                evaluated += 1
                if v not in val_values:
                    issues.append(
                        ctx.flag(
                            f"class {name!r} at {axis_name}={value} is in {params.train!r} but not in "
                            f"{params.validation!r}",
                            class_name=name,
                            axis=axis_name,
                            value=value,
                            split=params.validation,
                        )
                    )
    return evaluated, issues


@check("split-group-leakage", "splits", Severity.ERROR, params=_splits, skip=_no_splits)
def split_group_leakage(ctx: CheckContext, params: SplitsSpec) -> Outcome:
    """One source group (video, match, capture run) in several splits (`splits.group_by`).

    Frames of one source are near-copies of each other: validation on them measures memory, not skill."""
    if params.group_by is None:
        return 0, []
    items = ctx.dataset.items
    splits_of: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i in range(len(items)):
        if items.group[i] is not None and items.split[i] is not None:
            splits_of[items.group[i]][items.split[i]].append(i)  # type: ignore[index]
    issues = []
    for group, by_split in sorted(splits_of.items()):
        if len(by_split) > 1:
            parts = ", ".join(f"{len(tasks)} task(s) in {split!r}" for split, tasks in sorted(by_split.items()))
            first = min(t for tasks in by_split.values() for t in tasks)
            issues.append(
                ctx.flag(
                    f"{params.group_by} {group!r} spans several splits: {parts}",
                    task=first,
                    value=group,
                    count=sum(len(t) for t in by_split.values()),
                )
            )
    return len(splits_of), issues


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The split checks."""
    return [
        split_missing,
        split_unknown,
        split_class_missing_in_val,
        split_axis_value_missing_in_val,
        split_group_leakage,
    ]
