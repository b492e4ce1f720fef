"""Lint a loaded spec for meaning: each rule is named, has a default severity, and yields located problems.

This module is the engine and the rule contract; the built-in rules live in `rules_taxonomy` (classes,
hard negatives, prompts, axes, combinations, quotas) and `rules_settings` (media and units, bounds,
splits, model, checks, keys, text) and register through the `taxospec_lint_rules` hook like any
plugin's would.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from taxospec.errors import SpecNotUsable
from taxospec.findings import Severity
from taxospec.plugins.registry import lint_rules
from taxospec.spec.model import Spec
from taxospec.spec.source import PathKey

Problem = tuple[PathKey, str]
"""What a rule yields: where in the spec (a path of keys) and what is wrong, in words."""

RuleFunction = Callable[[Spec], Iterable[Problem]]


@dataclass(frozen=True)
class LintRule:
    """A named lint rule: its code, default severity, one-line summary and the function that checks."""

    name: str
    severity: Severity
    summary: str
    check: RuleFunction


@dataclass(frozen=True)
class LintFinding:
    """One lint problem with its code, severity and location in the spec file."""

    code: str
    severity: Severity
    message: str
    path: PathKey
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity.value}[{self.code}]: {self.message}"


def lint_spec(spec: Spec) -> list[LintFinding]:
    """Every lint finding of `spec`, ordered by location; an empty list for a clean spec."""
    source = spec.source
    findings = []
    for rule in lint_rules():
        for path, message in rule.check(spec):
            line, column = source.anchor(path) if source is not None else (1, 1)
            file = source.path if source is not None else "<spec>"
            findings.append(LintFinding(rule.name, rule.severity, message, path, file, line, column))
    return sorted(findings, key=lambda f: (f.line, f.column, f.code, f.message))


@dataclass
class RuleSet:
    """The rules one module declares with `@rules.rule(name, severity)`, for its `taxospec_lint_rules` hook."""

    rules: list[LintRule] = field(default_factory=list)

    def rule(self, name: str, severity: Severity) -> Callable[[RuleFunction], RuleFunction]:
        """Declare a lint rule; the function's docstring's first line is its summary."""

        def register(func: RuleFunction) -> RuleFunction:
            summary = (func.__doc__ or name).strip().splitlines()[0]
            self.rules.append(LintRule(name, severity, summary, func))
            return func

        return register


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `options`, or nothing."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def repeats(values: Iterable[str]) -> list[tuple[int, str]]:
    """(index, value) of every value that already appeared earlier."""
    seen: set[str] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append((i, value))
        seen.add(value)
    return out


def refuse_lint_errors(spec: Spec) -> Spec:
    """`spec` itself, or `SpecNotUsable` listing its lint errors with their locations."""
    errors = [f for f in lint_spec(spec) if f.severity == Severity.ERROR]
    if errors:
        raise SpecNotUsable("the spec has lint errors; fix them first:\n" + "\n".join(str(f) for f in errors))
    return spec
