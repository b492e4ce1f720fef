"""The deployment section of the report: how much of the deployment sample the labeled data covers, the
uncovered scenarios with their pictures, the shift, and per axis the values deployment shows beside the
data's."""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from taxospec.deployment.analysis import DeploymentAnalysis
from taxospec.deployment.describe import in_words
from taxospec.findings import ReportModel


class SampleCoverage(ReportModel):
    """One deployment sample."""

    name: str
    """The sample's name (the spec's, or the folder's)."""
    folder: str | None
    """The folder its pictures are under (a folder or glob sample); None for an export's tasks."""
    pictures: int
    """Pictures embedded (at most `max_examples`)."""
    listed: int
    """Pictures the sample has."""
    unreadable: int
    """Pictures that could not be read (missing, corrupt or refused)."""
    uncovered: float
    """Share of its pictures with no labeled example like them."""
    shift_auc: float | None
    """How well a linear probe tells its pictures from the labeled data (out of sample; 0.5: alike)."""


class ScenarioModel(ReportModel):
    """A group of uncovered deployment pictures that look alike."""

    number: int
    """1 = the largest."""
    pictures: int
    """How many pictures it has."""
    share: float
    """Its share of the deployment sample."""
    sample: str
    """The deployment sample it was seen in (a scenario is one camera's, site's or run's)."""
    conditions: dict[str, str]
    """Per axis, the value most of its pictures show (zero-shot), where one does."""
    description: str
    """The conditions in words, with their shares ("mostly night (80 %), far (70 %)")."""
    looks_like: str | None = Field(default=None)
    """The class its pictures look like."""
    examples: list[str]
    """Media URIs of its most typical pictures."""


class AxisValueShare(ReportModel):
    """One axis value in deployment and in the data."""

    value: str
    deployment: float
    """Share of deployment pictures that look like it (zero-shot)."""
    data: float
    """Share of labeled examples that look like it (zero-shot)."""
    annotated: float | None
    """Share of labeled examples annotated with it."""


class DeploymentSummary(ReportModel):
    """The labeled data against the deployment sample."""

    pictures: int
    """Deployment pictures embedded."""
    uncovered: float
    """Share of them with no labeled example like them."""
    scattered: int
    """Uncovered pictures in no scenario (unlike the data and unlike each other)."""
    thresholds: dict[str, float]
    """Per class (and `*` for the dataset), the distance (1 − cosine) up to which a picture counts as covered."""
    samples: list[SampleCoverage]
    scenarios: list[ScenarioModel]
    axes: dict[str, list[AxisValueShare]]
    uncovered_pictures: list[str] = Field(default_factory=list)
    """Every deployment picture with no labeled example like it (paths as `examples` gives them)."""
    """Per axis with value prompts, each value's share in deployment and in the data."""


def summarize(found: DeploymentAnalysis) -> DeploymentSummary:
    """The report's deployment section from the run's analysis."""
    space, coverage = found.space, found.coverage
    samples = []
    for name in space.media:
        rows = space.rows_of(name)
        samples.append(
            SampleCoverage(
                name=name,
                folder=space.media[name].folder,
                pictures=len(rows),
                listed=space.listed.get(name, len(rows)),
                unreadable=space.unreadable.get(name, 0),
                uncovered=round(float((~coverage.covered[rows]).mean()), 4) if len(rows) else 0.0,
                shift_auc=coverage.shift_auc.get(name),
            )
        )
    scenarios = []
    for n, scenario in enumerate(coverage.scenarios, 1):
        scenarios.append(
            ScenarioModel(
                number=n,
                pictures=len(scenario.rows),
                share=round(len(scenario.rows) / len(space), 4),
                sample=space.sample[int(scenario.rows[0])],
                conditions={axis: value for axis, (value, _) in scenario.described.items()},
                description=in_words(scenario.described),
                looks_like=scenario.looks_like,
                examples=[space.uris[int(r)] for r in scenario.rows[: found.settings.pictures_per_scenario]],
            )
        )
    axes = {}
    for axis in found.deployed.values:
        deployed, data = found.deployed.shares(axis), found.labeled.shares(axis)
        annotated = found.annotated.get(axis, {})
        values = sorted(set(deployed) | set(data), key=lambda v: (-deployed.get(v, 0.0), v))
        axes[axis] = [
            AxisValueShare(
                value=value,
                deployment=round(deployed.get(value, 0.0), 4),
                data=round(data.get(value, 0.0), 4),
                annotated=round(annotated[value], 4) if value in annotated else None,
            )
            for value in values
        ]
    return DeploymentSummary(
        pictures=len(space),
        uncovered=round(float((~coverage.covered).mean()), 4),
        scattered=coverage.scattered,
        thresholds={k: round(v, 4) for k, v in coverage.thresholds.items() if math.isfinite(v)},
        samples=samples,
        scenarios=scenarios,
        axes=axes,
        uncovered_pictures=[space.uris[int(r)] for r in np.flatnonzero(~coverage.covered)],
    )
