"""The taxonomy spec language: its models and their loading with locations (`lint`, `schema` and
`templates` are modules of their own here, imported where they are used: lint sits above the checks, whose
parameters it validates)."""

from taxospec.errors import SpecNotUsable
from taxospec.spec.load import load_spec, load_spec_text
from taxospec.spec.model import Spec

__all__ = ["Spec", "SpecNotUsable", "load_spec", "load_spec_text"]
