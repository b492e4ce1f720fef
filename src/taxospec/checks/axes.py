"""Axis checks: every class spans every axis value and every required combination, with quotas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.coverage import cell_counts, value_quota
from taxospec.findings import CELL_JOINER, Severity
from taxospec.plugins.hookspecs import hookimpl


def _class_axes(ctx: CheckContext) -> Iterator[tuple[str, int, int, str]]:
    """(class, class index, examples, axis) for every class with examples and every axis that applies to it."""
    for class_name in ctx.spec.classes:
        total = ctx.count_of(class_name)
        if total:
            for axis_name in ctx.spec.axes_of(class_name):
                yield class_name, ctx.class_names.index(class_name), total, axis_name


@check("axis-value-below-quota", "axes", Severity.WARNING)
def axis_value_below_quota(ctx: CheckContext, params: None) -> Outcome:
    """An axis value with fewer examples of a class than `coverage.per_value` (share or count) asks.

    The share is of the class's size or its minimum, whichever is larger.

    A condition the data barely shows (night, far away, a crowd) is a condition the model fails in."""
    issues = []
    evaluated = 0
    for class_name, c, total, axis_name in _class_axes(ctx):
        counts = ctx.axis_counts[axis_name][c]
        values = ctx.spec.axes[axis_name].values
        need = value_quota(ctx.spec, class_name, axis_name, total)
        for value in ctx.spec.axis_values_of(class_name, axis_name):
            evaluated += 1
            have = int(counts[values.index(value)])
            if have < need:
                state = "none" if have == 0 else f"only {have}"
                issues.append(
                    ctx.flag(
                        f"class {class_name!r} has {state} at {axis_name}={value} "
                        f"(of {total}); the spec asks for at least {need}",
                        class_name=class_name,
                        axis=axis_name,
                        value=value,
                        count=need - have,
                    )
                )
    return evaluated, issues


@check("axis-value-dominant", "axes", Severity.WARNING, params=lambda spec: spec.coverage.per_value)
def axis_value_dominant(ctx: CheckContext, params: Any) -> Outcome:
    """One axis value takes more than `coverage.per_value.max_share` of a class.

    A class seen almost only in daylight or only from the front is learned as "daylight" or "front"."""
    issues = []
    evaluated = 0
    for class_name, c, total, axis_name in _class_axes(ctx):
        evaluated += 1
        counts = ctx.axis_counts[axis_name][c][:-1]
        top = int(np.argmax(counts))
        share = counts[top] / total
        if share > params.max_share:
            value = ctx.spec.axes[axis_name].values[top]
            issues.append(
                ctx.flag(
                    f"{share:.0%} of class {class_name!r} is {axis_name}={value}; "
                    f"the spec allows at most {params.max_share:.0%}",
                    class_name=class_name,
                    axis=axis_name,
                    value=value,
                )
            )
    return evaluated, issues


@check("combination-cell-below-quota", "axes", Severity.WARNING)
def combination_cell_below_quota(ctx: CheckContext, params: None) -> Outcome:
    """A cell of a required combination (e.g. night × crowd) with fewer examples of a class than its `min`.

    Conditions interact: a model that has seen night and crowds separately still fails on night crowds."""
    issues = []
    evaluated = 0
    for class_name in ctx.spec.classes:
        for combo in ctx.spec.combinations_of(class_name):
            for cell, have in cell_counts(ctx, class_name, combo.axes).items():
                evaluated += 1
                if have >= combo.min:
                    continue
                where = ", ".join(f"{a}={v}" for a, v in zip(combo.axes, cell, strict=True))
                state = "no example" if have == 0 else f"only {have} example(s)"
                issues.append(
                    ctx.flag(
                        f"class {class_name!r} has {state} at {where}; the spec asks for {combo.min}",
                        class_name=class_name,
                        axis=CELL_JOINER.join(combo.axes),
                        value=CELL_JOINER.join(cell),
                        count=combo.min - have,
                    )
                )
    return evaluated, issues


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The axis checks."""
    return [axis_value_below_quota, axis_value_dominant, combination_cell_below_quota]
