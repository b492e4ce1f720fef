"""The taxonomy spec language: models, loading with locations, lint, JSON Schema and starter templates."""

from taxospec.errors import SpecNotUsable
from taxospec.spec.lint import LintFinding, lint_spec, refuse_lint_errors
from taxospec.spec.load import load_spec, load_spec_text
from taxospec.spec.model import Spec

__all__ = ["LintFinding", "Spec", "SpecNotUsable", "lint_spec", "load_spec", "load_spec_text", "refuse_lint_errors"]
