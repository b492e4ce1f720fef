"""Hygiene checks: tasks nobody finished, empty annotations, annotators who disagree."""

from __future__ import annotations

from typing import Any

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.dataset import Judgement
from taxospec.findings import Flag, Severity
from taxospec.plugins.hookspecs import hookimpl


@check("task-unannotated", "hygiene", Severity.WARNING, local=True)
def task_unannotated(ctx: CheckContext, params: None) -> Outcome:
    """A task with no annotation at all (perhaps only a draft).

    Unlabeled tasks in an export are either work still to do or media that should not be in the project."""
    items = ctx.dataset.items
    issues = []
    for i in range(len(items)):
        if items.n_submitted[i] == 0 and items.n_skipped[i] == 0:
            draft = f" (only {items.n_drafts[i]} draft(s), which do not count)" if items.n_drafts[i] else ""
            issues.append(ctx.flag(f"the task has no annotation{draft}", task=i))
    return len(items), issues


@check("task-only-skipped", "hygiene", Severity.WARNING, local=True)
def task_only_skipped(ctx: CheckContext, params: None) -> Outcome:
    """A task every annotator skipped: unclear media, or a case the instructions do not cover."""
    items = ctx.dataset.items
    issues = [
        ctx.flag(f"the task was skipped {items.n_skipped[i]} time(s) and never annotated", task=i)
        for i in range(len(items))
        if items.n_submitted[i] == 0 and items.n_skipped[i] > 0
    ]
    return len(items), issues


@check("annotation-empty", "hygiene", Severity.WARNING, local=True)
def annotation_empty(ctx: CheckContext, params: None) -> Outcome:
    """A submitted annotation with an empty result: submitted by accident, or a skip that was not marked."""
    items = ctx.dataset.items
    flags = [
        Flag(f"task {items.task_id[i]}: the counted annotation has an empty result", i, items.counted_annotation[i])
        for i in range(len(items))
        if items.n_results[i] == 0
    ]
    return max(len(ctx.dataset.samples), len(flags)), flags


@check("annotator-disagreement", "hygiene", Severity.WARNING, local=True)
def annotator_disagreement(ctx: CheckContext, params: None) -> Outcome:
    """Annotators of one task disagree on its label(s) or on a task-level axis value.

    Disagreement marks ambiguous examples or unclear instructions; which annotation counts decides what
    the model learns."""
    by_task: dict[int, list[Judgement]] = {}
    for judgement in ctx.dataset.judgements:
        by_task.setdefault(judgement.task, []).append(judgement)
    issues = []
    for task, judgements in by_task.items():
        counted = next((j for j in judgements if j.counted), None)
        if counted is None:
            continue
        mine = counted.says
        for other in judgements:
            if other is counted:
                continue
            theirs = other.says
            for what in sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)):
                message = (
                    f"annotation {counted.annotation_id} (by {counted.annotator}) and annotation "
                    f"{other.annotation_id} (by {other.annotator}) disagree on {what}: "
                    f"{_shown(mine.get(what))} vs {_shown(theirs.get(what))}"
                )
                axis = what.removeprefix("axis ") if what.startswith("axis ") else None
                issues.append(Flag(message, task, counted.annotation_id, axis=axis))
    return max(len(ctx.dataset.samples), len(issues)), issues


def _shown(values: tuple[str, ...] | None) -> str:
    """An aspect's values as the message shows them."""
    return "nothing" if not values else ", ".join(values)


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The hygiene checks."""
    return [task_unannotated, task_only_skipped, annotation_empty, annotator_disagreement]
