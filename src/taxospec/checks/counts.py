"""Count checks: enough examples per class, balanced classes, enough look-alike negatives."""

from __future__ import annotations

from typing import Any

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.model import BalanceSpec


@check("class-below-minimum", "counts", Severity.ERROR)
def class_below_minimum(ctx: CheckContext, params: None) -> Outcome:
    """A class with fewer examples than its `min_examples`.

    Below a few dozen varied examples a fine-tuned class memorises its examples instead of generalising."""
    issues = []
    for name in ctx.spec.classes:
        have, need = ctx.count_of(name), ctx.spec.min_examples_of(name)
        if have < need:
            issues.append(
                ctx.flag(
                    f"class {name!r} has {have} example(s); the spec asks for at least {need} ({need - have} more)",
                    class_name=name,
                    count=need - have,
                )
            )
    return len(ctx.spec.classes), issues


@check("class-imbalance", "counts", Severity.WARNING, params=lambda spec: spec.balance)
def class_imbalance(ctx: CheckContext, params: BalanceSpec) -> Outcome:
    """The most frequent positive class outnumbers the least frequent one by more than `balance.max_ratio`.

    A skewed training set biases the model towards the frequent class and hides errors on the rare one."""
    counts = {name: ctx.count_of(name) for name in ctx.spec.positives}
    present = {name: n for name, n in counts.items() if n > 0}
    if len(present) < 2:
        return 0, []
    most = max(present, key=lambda n: (present[n], n))
    least = min(present, key=lambda n: (present[n], n))
    ratio = present[most] / present[least]
    if ratio <= params.max_ratio:
        return 1, []
    message = (
        f"class {most!r} ({present[most]}) has {ratio:.1f}× the examples of {least!r} ({present[least]}); "
        f"the spec allows {params.max_ratio:g}×"
    )
    return 1, [ctx.flag(message, class_name=least)]


@check("negatives-per-positive-low", "counts", Severity.WARNING, params=lambda spec: spec.balance)
def negatives_per_positive_low(ctx: CheckContext, params: BalanceSpec) -> Outcome:
    """A positive class with fewer hard-negative examples per example than `balance.negatives_per_positive`.

    Without enough look-alikes the model learns "hands up" instead of "timeout"."""
    issues = []
    evaluated = 0
    for name in ctx.spec.positives:
        negatives = [n for n in ctx.spec.classes[name].hard_negatives if n in ctx.spec.classes]
        positives = ctx.count_of(name)
        if not negatives or positives == 0 or params.negatives_per_positive == 0:
            continue
        evaluated += 1
        have = sum(ctx.count_of(n) for n in negatives)
        need = params.negatives_per_positive * positives
        if have < need:
            issues.append(
                ctx.flag(
                    f"class {name!r} has {positives} example(s) and {have} of its hard negatives "
                    f"({', '.join(negatives)}): {have / positives:.2f} per example, the spec asks for "
                    f"{params.negatives_per_positive:g}",
                    class_name=name,
                    count=int(need - have + 0.999999),
                )
            )
    return evaluated, issues


@check("hard-negative-missing", "counts", Severity.ERROR)
def hard_negative_missing(ctx: CheckContext, params: None) -> Outcome:
    """A hard-negative class named by a positive has no examples at all.

    The spec says the model must tell these apart; with no examples it never sees the difference."""
    named = sorted({n for c in ctx.spec.positives for n in ctx.spec.classes[c].hard_negatives if n in ctx.spec.classes})
    issues = []
    for name in named:
        if ctx.count_of(name) == 0:
            of = [c for c in ctx.spec.positives if name in ctx.spec.classes[c].hard_negatives]
            issues.append(
                ctx.flag(
                    f"hard negative {name!r} (of {', '.join(repr(c) for c in of)}) has no examples",
                    class_name=name,
                )
            )
    return len(named), issues


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The count checks."""
    return [class_below_minimum, class_imbalance, negatives_per_positive_low, hard_negative_missing]
