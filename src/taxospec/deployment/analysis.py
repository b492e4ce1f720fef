"""The deployment checks' shared work, done once per run: the coverage of the deployment sample by the
labeled data, and what both show by the spec's prompts."""

from __future__ import annotations

from dataclasses import dataclass

from taxospec.checks.base import CheckContext, SkipCheck
from taxospec.deployment.coverage import CoverageResult, measure_coverage
from taxospec.deployment.describe import ZeroShot, zero_shot
from taxospec.deployment.embed import UnlabeledSpace
from taxospec.spec.deployment import DeploymentSpec

MIN_PICTURES = 5
"""Deployment pictures needed before coverage means anything."""


@dataclass(frozen=True)
class DeploymentAnalysis:
    """The labeled data against the deployment sample."""

    settings: DeploymentSpec
    space: UnlabeledSpace
    coverage: CoverageResult
    deployed: ZeroShot
    """The deployment pictures' zero-shot values and classes."""
    labeled: ZeroShot
    """The labeled examples' zero-shot values (the fair comparison: the same judge on both sides)."""
    annotated: dict[str, dict[str, float]]
    """Per axis, the share of each value among the labeled examples that have one, as annotated."""


def deployment_space(ctx: CheckContext) -> tuple[UnlabeledSpace, DeploymentSpec]:
    """The run's deployment sample and settings; `SkipCheck` when there is none."""
    space = ctx.deployment
    if space is None or space.settings is None:
        raise SkipCheck("no deployment sample (the spec's `deployment` section, or --deployment FOLDER)")
    if len(space) < MIN_PICTURES:
        raise SkipCheck(f"{len(space)} deployment picture(s) could be read, too few to measure against")
    return space, space.settings


def analysis_of(ctx: CheckContext) -> DeploymentAnalysis:
    """The run's one `DeploymentAnalysis` (made on first use); `SkipCheck` without a deployment sample or
    without embeddings of the labeled data."""
    from taxospec.checks.embedding_view import view_of

    space, settings = deployment_space(ctx)
    view = view_of(ctx)

    def compute() -> DeploymentAnalysis:
        names = [ctx.class_names[int(c)] if c >= 0 else None for c in view.labels]
        texts = view.space.texts if view.space.encode_text is not None else None
        deployed = zero_shot(ctx.spec, texts, space.vectors)
        coverage = measure_coverage(
            view.index, names, space.vectors, space.sample, deployed, settings.fence, settings.min_scenario
        )
        labeled = zero_shot(ctx.spec, texts, view.space.vectors)  # (read a chunk of rows at a time)
        return DeploymentAnalysis(settings, space, coverage, deployed, labeled, _annotated(ctx))

    found: DeploymentAnalysis = ctx.shared("deployment-analysis", compute)
    return found


def _annotated(ctx: CheckContext) -> dict[str, dict[str, float]]:
    out = {}
    for axis, counts in ctx.axis_counts.items():
        per_value = counts[:, :-1].sum(axis=0)
        total = int(per_value.sum())
        values = ctx.spec.axes[axis].values
        out[axis] = {value: int(n) / total for value, n in zip(values, per_value, strict=True)} if total else {}
    return out
