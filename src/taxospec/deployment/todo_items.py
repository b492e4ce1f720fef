"""The deployment's uncovered scenarios as to-do items, ranked with the quota items."""

from __future__ import annotations

import math

from taxospec.coverage import MISSING
from taxospec.deployment.summary import DeploymentSummary, ScenarioModel
from taxospec.spec.model import Spec
from taxospec.todo import TodoItem, TodoList, with_items


def with_deployment(todo: TodoList, spec: Spec, summary: DeploymentSummary, examples: int) -> TodoList:
    """`todo` with an item for each uncovered scenario of `summary`: as many pictures like it as would give
    it, among the `examples` labeled ones, its share of the deployment sample."""
    items = [_item(spec, scenario, examples) for scenario in summary.scenarios]
    return with_items(spec, todo, items)


def _item(spec: Spec, scenario: ScenarioModel, examples: int) -> TodoItem:
    share = min(scenario.share, 0.95)
    need = max(scenario.pictures if examples == 0 else 1, math.ceil(share * examples / (1 - share)))
    class_name = scenario.looks_like if scenario.looks_like in spec.classes else next(iter(spec.classes))
    where = f"{need} pictures like deployment scenario {scenario.number} (seen by {scenario.sample})"
    conditions = {axis: value for axis, value in scenario.conditions.items() if value in spec.axes[axis].values}
    return TodoItem(
        rank=0,
        kind="deployment",
        class_name=class_name,
        role=spec.classes[class_name].role,
        split=None,
        conditions=conditions,
        have=0,
        need=need,
        missing=need,
        status=MISSING,
        instruction=(
            f"Collect {where} ({scenario.share:.0%} of the deployment sample, no labeled example like it): "
            f"{scenario.description}"
            + (f", looking like {class_name!r}" if scenario.looks_like else "")
            + f"; like {scenario.examples[0]}."
        ),
        pictures=list(scenario.examples),
    )
