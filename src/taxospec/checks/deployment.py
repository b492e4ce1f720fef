"""Deployment checks: the labeled data against a sample of the media the model will meet — pictures no
labeled example is like (grouped into scenarios), a shift a linear probe can see, axis values deployment
shows far more often than the data, and deployment pictures darker, blurrier or more compressed than the
data's. They run when the spec has a `deployment` section (or `--deployment FOLDER` is given) and the
labeled data is embedded."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from taxospec.checks.base import Check, CheckContext, Outcome, check
from taxospec.checks.embedding_view import embeddings_off
from taxospec.deployment.analysis import analysis_of, deployment_space
from taxospec.deployment.describe import in_words
from taxospec.deployment.quality_shift import quality_shifts
from taxospec.findings import Flag, Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.types import Share, SpecModel


@check("deployment-uncovered", "deployment", Severity.WARNING, skip=embeddings_off)
def deployment_uncovered(ctx: CheckContext, params: None) -> Outcome:
    """A scenario of the deployment sample that no labeled example is like: uncovered deployment pictures
    that look alike, described by the spec's axis prompts (zero-shot) and pictured in the report.

    Collect it (the to-do list has an item for each), or label pictures like it from the pool
    (`taxospec todo --pool`)."""
    found = analysis_of(ctx)
    space, coverage = found.space, found.coverage
    flags = []
    for n, scenario in enumerate(coverage.scenarios, 1):
        share = len(scenario.rows) / len(space)
        where = f"seen by {space.sample[int(scenario.rows[0])]}"
        example = ", ".join(space.uris[int(r)] for r in scenario.rows[:2])
        like = f"; it looks like {scenario.looks_like!r}" if scenario.looks_like else ""
        flags.append(
            Flag(
                f"deployment scenario {n}: {len(scenario.rows)} pictures ({share:.0%} of the deployment sample; "
                f"{where}) unlike any labeled example, {in_words(scenario.described)}{like}; e.g. {example}",
                class_name=scenario.looks_like,
                value=f"scenario {n}",
                count=len(scenario.rows),
                score=round(share, 4),
            )
        )
    return len(space), flags


class ShiftParams(SpecModel):
    """Parameters of `deployment-shift`."""

    max_uncovered: Share = 0.1
    """Largest share of deployment pictures without a labeled example like them before it is reported."""
    max_auc: Share = 0.9
    """Largest probe AUC (how well labeled and deployment pictures are told apart) before it is reported."""


@check("deployment-shift", "deployment", Severity.WARNING, params=lambda spec: ShiftParams(), skip=embeddings_off)
def deployment_shift(ctx: CheckContext, params: ShiftParams) -> Outcome:
    """The labeled data does not look like the deployment sample: more than `max_uncovered` of the
    deployment pictures have no labeled example like them, or a linear probe tells the two apart with an
    AUC above `max_auc` (0.5: the same world; 1: two different ones). One finding per sample that shifts."""
    found = analysis_of(ctx)
    space, coverage = found.space, found.coverage
    flags = []
    for name in space.media:
        rows = space.rows_of(name)
        if not len(rows):
            continue
        uncovered = float((~coverage.covered[rows]).mean())
        auc = coverage.shift_auc.get(name)
        if uncovered > params.max_uncovered or (auc is not None and auc > params.max_auc):
            flags.append(
                Flag(
                    f"deployment sample {name!r}: {uncovered:.0%} of its {len(rows)} pictures have no labeled "
                    f"example like them{_probe(auc)}",
                    value=name,
                    count=int((~coverage.covered[rows]).sum()),
                    score=round(uncovered, 4),
                )
            )
    return len(space.media), flags


class AxisShiftParams(SpecModel):
    """Parameters of `deployment-axis-shift`."""

    min_gap: Share = 0.15
    """Least difference between the deployment's share of a value and the data's."""
    ratio: float = Field(default=1.5, ge=1.0, le=100.0)
    """Least ratio of the deployment's share to the data's."""


@check(
    "deployment-axis-shift", "deployment", Severity.WARNING, params=lambda spec: AxisShiftParams(), skip=embeddings_off
)
def deployment_axis_shift(ctx: CheckContext, params: AxisShiftParams) -> Outcome:
    """An axis value the deployment sample shows far more often than the labeled data (both judged
    zero-shot by the value prompts, so the same judge on both sides; the annotated share beside it):
    "deployment 41 % night, your data 9 %"."""
    found = analysis_of(ctx)
    flags, evaluated = [], 0
    for axis in found.deployed.values:
        deployed, data = found.deployed.shares(axis), found.labeled.shares(axis)
        for value, share in deployed.items():
            evaluated += 1
            have = data.get(value, 0.0)
            if share - have >= params.min_gap and share >= params.ratio * have:
                annotated = found.annotated.get(axis, {}).get(value)
                said = f", {annotated:.0%} as annotated" if annotated is not None else ""
                flags.append(
                    Flag(
                        f"deployment shows {axis}={value} in {share:.0%} of its pictures, your data in {have:.0%} "
                        f"(both zero-shot{said}): collect more {value}",
                        axis=axis,
                        value=value,
                        score=round(share - have, 4),
                    )
                )
    return evaluated, flags


@check("deployment-quality-shift", "deployment", Severity.WARNING)
def deployment_quality_shift(ctx: CheckContext, params: None) -> Outcome:
    """A deployment sample whose pictures are darker, more washed out, blurrier, smaller, more compressed
    or greyer than the labeled data's (its median beyond the data's middle half): train on pictures like
    the deployed camera's, or the model meets them for the first time in production."""
    space, _ = deployment_space(ctx)
    labeled = ctx.embeddings.picture_properties if ctx.embeddings is not None else {}
    evaluated, shifts = quality_shifts(space, list(labeled.values()))
    return evaluated, [Flag(message, value=name, score=score) for name, message, score in shifts]


def _probe(auc: float | None) -> str:
    if auc is None:
        return ""
    return f"; a linear probe tells the deployment sample from the labeled data at AUC {auc:.2f} (0.5: alike)"


DEPLOYMENT_CHECKS = [deployment_uncovered, deployment_shift, deployment_axis_shift, deployment_quality_shift]


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The deployment checks."""
    return list(DEPLOYMENT_CHECKS)
