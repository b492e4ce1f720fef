"""Findings, the report that holds them, severities and exit codes.

`Report` is the JSON document `taxospec check --format json` writes; `schemas/report.schema.json` is
generated from these models.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taxospec.errors import EXIT_FINDINGS, EXIT_OK


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
    link: str | None = None
    """A link to the task in Label Studio, when its URL is known."""


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


class Report(ReportModel):
    """Everything `taxospec check` found, with the statistics and counts behind it."""

    taxospec_version: str
    """The taxospec version that wrote the report."""
    spec_name: str
    """The spec's `name`."""
    spec_path: str | None
    """The spec file."""
    export_path: str
    """The export file or live project."""
    export_format: str
    """label-studio-json or label-studio-json-min."""
    summary: Summary
    """What was read, and how many findings of each severity."""
    classes: dict[str, ClassCount]
    """Examples per class and split."""
    axis_counts: dict[str, dict[str, dict[str, int]]]
    """Examples per axis, class and value (`(missing)` for examples without a value)."""
    checks: list[CheckStat]
    """One entry per check that ran (or was skipped), in order."""
    findings: list[Finding]
    """Every finding, ranked: errors first, then by code."""
    notes: list[str] = Field(default_factory=list)
    """Things the reader assumed or could not do (e.g. a frame rate it had to assume)."""

    def exit_code(self, fail_on: Severity = Severity.ERROR) -> int:
        """0 when no finding reaches `fail_on`, else 1."""
        return EXIT_FINDINGS if any(f.severity.at_least(fail_on) for f in self.findings) else EXIT_OK

    def counts_by_code(self) -> Counter[str]:
        """How many findings each code has."""
        return Counter(f.code for f in self.findings)

    def findings_table(self) -> list[dict[str, Any]]:
        """The findings as a list of flat dicts, ready for `pandas.DataFrame(report.findings_table())`."""
        return [f.model_dump(by_alias=True) for f in self.findings]

    def class_table(self) -> list[dict[str, Any]]:
        """Examples per class and split as flat rows."""
        return [
            {"class": name, "role": c.role, "total": c.total, "minimum": c.minimum, **c.by_split}
            for name, c in self.classes.items()
        ]
