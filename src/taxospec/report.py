"""The report of `taxospec check`: findings, statistics, counts, coverage and the to-do list.

`Report` is the JSON document `taxospec check --format json` writes; `schemas/report.schema.json` is
generated from these models.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field, PrivateAttr

from taxospec.deployment.summary import DeploymentSummary
from taxospec.errors import EXIT_FINDINGS, EXIT_OK
from taxospec.example_table import ExampleTable
from taxospec.findings import CheckStat, ClassCount, Finding, ReportModel, Severity, Summary
from taxospec.score_tables import ScoreTables
from taxospec.todo import CoverageSummary, TodoItem


class CellModel(ReportModel):
    """One coverage cell: a class at a combination of axis values (or one value, or none), in a split."""

    class_name: str = Field(alias="class")
    """The class."""
    split: str | None
    """The split (null: all splits together)."""
    axes: list[str]
    """The axes of the cell (empty: the class as a whole)."""
    values: list[str]
    """One value per axis."""
    count: int
    """Examples in the cell."""
    quota: int
    """Examples the cell needs."""
    status: str
    """covered, under quota, or missing."""


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
    coverage: CoverageSummary
    """How much of the required coverage the data has."""
    cells: list[CellModel]
    """Every coverage cell (class × axis values) for all splits and for each split, with count and quota."""
    todo: list[TodoItem]
    """The collection to-do list, ranked (as `taxospec todo` writes it)."""
    media: dict[int, str] = Field(default_factory=dict)
    """The media URI of each task that has findings or is named by one (of every task, with `examples`)
    (task id → the URI as the export gives it), to open or fix the file itself."""
    scores: ScoreTables | None = None
    """The example scores (one row per embedded example) and the per-class tightness table, when the run
    had embeddings."""
    examples: ExampleTable | None = None
    """Every training example with its class, split, axis values and shape, when asked for (the HTML
    explorer shows them)."""
    deployment: DeploymentSummary | None = None
    """The labeled data against the deployment sample (coverage, uncovered scenarios, shift), when the spec
    or the command line named one and the run had embeddings."""
    _inline_media: dict[int, str] = PrivateAttr(default_factory=dict)

    def keep_inline_media(self, inline: dict[int, str]) -> None:
        """Remember the pictures inlined in flagged tasks (task id → `data:` URI), to picture them in the
        HTML report; they stay out of `media` and the JSON report (they are no file, and can be megabytes)."""
        self._inline_media = dict(inline)

    def picture_source(self, task: int) -> str | None:
        """Where to picture `task` from: its media URI, or the picture inlined in the task."""
        return self.media.get(task) or self._inline_media.get(task)

    @property
    def has_inline_media(self) -> bool:
        """Whether some flagged task carries its picture inline."""
        return bool(self._inline_media)

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
