"""taxospec: make vision fine-tuning datasets right before anyone trains on them.

The public API, for notebooks and scripts:

    spec = taxospec.load_spec("spec.yaml")     # raises SpecError with path:line:col problems
    findings = taxospec.lint_spec(spec)        # meaning: hard negatives, quotas, ...
    report = taxospec.check(spec, "export.json")   # findings, statistics, counts
"""

from taxospec.__about__ import __version__
from taxospec.api import check, read_export, todo
from taxospec.errors import (
    ConfigError,
    EmbeddingError,
    ExportError,
    LabelStudioError,
    OptionError,
    SourceProblem,
    SpecError,
    TaxospecError,
)
from taxospec.findings import Finding, Severity
from taxospec.report import Report
from taxospec.schemas import spec_json_schema
from taxospec.spec import Spec, load_spec, load_spec_text
from taxospec.spec.lint import LintFinding, lint_spec

__all__ = [
    "ConfigError",
    "EmbeddingError",
    "ExportError",
    "Finding",
    "LabelStudioError",
    "LintFinding",
    "OptionError",
    "Report",
    "Severity",
    "SourceProblem",
    "Spec",
    "SpecError",
    "TaxospecError",
    "__version__",
    "check",
    "lint_spec",
    "load_spec",
    "load_spec_text",
    "read_export",
    "spec_json_schema",
    "todo",
]
