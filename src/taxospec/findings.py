"""Findings, severities, and the parts of the check report (`taxospec.report.Report` holds them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    """How bad a finding is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANKS[self]

    def at_least(self, other: Severity) -> bool:
        """Whether this severity is at or above `other`."""
        return self.rank >= other.rank


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Flag:
    """One thing a check found wrong: what, where, and how strongly. A check returns its flags; the runner
    turns each into a `Finding` under the check's code, family and severity (a flag names no code)."""

    message: str
    """What is wrong, in words a person understands."""
    task: int | None = None
    """The task's row in `Dataset.items` (not its id)."""
    annotation_id: int | None = None
    region_id: str | None = None
    class_name: str | None = None
    axis: str | None = None
    value: str | None = None
    count: int = 1
    """How many things the flag stands for, where it sums several up."""
    split: str | None = None
    score: float | None = None
    """How strongly the check holds it (0..1), for ranking within the check; kept apart from the flag."""
    related: tuple[int, ...] = ()
    """Task ids of the other tasks the problem concerns (the rest of a duplicate group)."""
    at_seconds: float | None = None
    """The moment of the media the problem concerns (the middle of a segment), when it is one."""
    suggested_seconds: tuple[float, float] | None = None
    """Bounds the check suggests instead (start, end in seconds), where it suggests some."""


class ReportModel(BaseModel):
    """Base of the report models: frozen, documented fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, populate_by_name=True)


class Finding(ReportModel):
    """One problem in the data, with what it concerns and where to look in Label Studio."""

    code: str
    """Stable code of the check that found it, e.g. `segment-too-long`."""
    severity: Severity
    """error, warning or info."""
    message: str
    """What is wrong, in words a person understands."""
    family: str = ""
    """The check family: labels, hygiene, counts, axes, tightness, splits, duplicates, config."""
    class_name: str | None = Field(default=None, alias="class")
    """The class it concerns."""
    axis: str | None = None
    """The axis it concerns."""
    value: str | None = None
    """The axis value, label or control it concerns."""
    split: str | None = None
    """The split it concerns."""
    task_id: int | None = None
    """Label Studio task id."""
    annotation_id: int | None = None
    """Label Studio annotation id."""
    region_id: str | None = None
    """Label Studio region id."""
    count: int | None = None
    """How many things the finding stands for, where it sums several up."""
    score: float | None = None
    """How strongly the check holds it (0..1, kept apart from the flag), for ranking: e.g. the share of
    neighbours with another label for a likely mislabel."""
    link: str | None = None
    """A link to the task in Label Studio, when its URL is known."""
    related_tasks: list[int] = Field(default_factory=list)
    """Label Studio task ids of the other tasks the finding concerns, e.g. the rest of a duplicate group."""
    at_seconds: float | None = None
    """The moment of the video the finding concerns (the middle of its segment), in seconds."""
    suggested_seconds: list[float] | None = None
    """The bounds the check suggests instead, `[start, end]` in seconds (`segment-ends-loose`: the
    frames that look like the class)."""


class CheckStat(ReportModel):
    """How one check went: how many things it looked at and how many failed."""

    code: str
    """The check's code."""
    family: str
    """The check family."""
    severity: Severity
    """The severity its findings carry."""
    evaluated: int
    """How many things (samples, tasks, classes, cells, ...) it examined."""
    failed: int
    """How many of them it reported."""
    passed: int
    """evaluated - failed."""
    skipped: str | None = None
    """Why it did not run, when it did not."""


class ClassCount(ReportModel):
    """The examples of one class."""

    total: int
    """Examples in the export (the counted annotation of each task)."""
    by_split: dict[str, int] = Field(default_factory=dict)
    """Examples per split (`(none)` for examples without a split)."""
    minimum: int
    """The spec's minimum for the class."""
    role: str
    """positive or negative."""


class Summary(ReportModel):
    """What was read."""

    tasks: int
    """Tasks in the export."""
    annotations: int
    """Annotations (submitted and skipped)."""
    samples: int
    """Training examples found (per the spec's unit)."""
    findings: dict[str, int]
    """Findings per severity."""


CELL_JOINER = " × "
"""How a finding names a combination cell: its axes, and its values, joined (`lighting × bystanders`)."""


def cell_conditions(axis: str | None, value: str | None) -> dict[str, str]:
    """{axis: value} of a finding about one axis value or one combination cell (axis names hold no
    joiner, so the axes say how many values there are); empty when the finding names neither."""
    if not axis or not value:
        return {}
    axes = axis.split(CELL_JOINER)
    if len(axes) == 1:
        return {axis: value}
    values = value.split(CELL_JOINER)
    return dict(zip(axes, values, strict=True)) if len(values) == len(axes) else {}
