"""taxospec: make vision fine-tuning datasets right before anyone trains on them.

The public API, for notebooks and scripts:

    spec = taxospec.load_spec("spec.yaml")     # raises SpecError with path:line:col problems
    findings = taxospec.lint_spec(spec)        # meaning: hard negatives, quotas, ...
"""

from taxospec.__about__ import __version__
from taxospec.errors import SourceProblem, SpecError, TaxospecError
from taxospec.findings import Severity
from taxospec.spec import LintFinding, Spec, lint_spec, load_spec, load_spec_text
from taxospec.spec.schema import spec_json_schema

__all__ = [
    "LintFinding",
    "Severity",
    "SourceProblem",
    "Spec",
    "SpecError",
    "TaxospecError",
    "__version__",
    "lint_spec",
    "load_spec",
    "load_spec_text",
    "spec_json_schema",
]
