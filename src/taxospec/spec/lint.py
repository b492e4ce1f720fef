"""Lint a loaded spec for meaning: each rule is named, has a default severity, and yields located problems.

The built-in rules register through the `taxospec_lint_rules` hook like any plugin's would.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxospec.checks.params import params_of
from taxospec.errors import ParamsError, SpecNotUsable
from taxospec.findings import Severity
from taxospec.inputs import exists
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.registry import checks, embedders, lint_rules
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


_RULES: list[LintRule] = []


def rule(name: str, severity: Severity) -> Callable[[RuleFunction], RuleFunction]:
    """Declare a built-in lint rule; its docstring's first line is its summary."""

    def register(func: RuleFunction) -> RuleFunction:
        summary = (func.__doc__ or name).strip().splitlines()[0]
        _RULES.append(LintRule(name, severity, summary, func))
        return func

    return register


@hookimpl
def taxospec_lint_rules() -> list[LintRule]:
    """The built-in lint rules."""
    return list(_RULES)


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _repeats(values: Iterable[str]) -> list[tuple[int, str]]:
    """(index, value) of every value that already appeared earlier."""
    seen: set[str] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append((i, value))
        seen.add(value)
    return out


# --- classes and hard negatives ----------------------------------------------------------------------


@rule("no-positive-class", Severity.ERROR)
def _no_positive(spec: Spec) -> Iterator[Problem]:
    """Every class is a negative: there is nothing for the model to detect."""
    if not spec.positives:
        yield ("classes",), "every class has role: negative; at least one class must be a positive"


@rule("unknown-hard-negative", Severity.ERROR)
def _unknown_hard_negative(spec: Spec) -> Iterator[Problem]:
    """A hard negative names no class of the spec."""
    for name, cls in spec.classes.items():
        for i, neg in enumerate(cls.hard_negatives):
            if neg not in spec.classes:
                yield (
                    ("classes", name, "hard_negatives", i),
                    f"hard negative {neg!r} of class {name!r} is not a class{_suggest(neg, spec.classes)}",
                )


@rule("self-hard-negative", Severity.ERROR)
def _self_hard_negative(spec: Spec) -> Iterator[Problem]:
    """A class names itself as its own hard negative."""
    for name, cls in spec.classes.items():
        for i, neg in enumerate(cls.hard_negatives):
            if neg == name:
                yield ("classes", name, "hard_negatives", i), f"class {name!r} is its own hard negative"


@rule("repeated-entry", Severity.WARNING)
def _repeated_entries(spec: Spec) -> Iterator[Problem]:
    """A hard negative or a prompt is listed twice."""
    for name, cls in spec.classes.items():
        for i, neg in _repeats(cls.hard_negatives):
            yield ("classes", name, "hard_negatives", i), f"hard negative {neg!r} is listed twice"
        for i, prompt in _repeats(cls.prompts):
            yield ("classes", name, "prompts", i), f"prompt {prompt!r} is listed twice"


@rule("positive-without-hard-negative", Severity.WARNING)
def _positive_without_negative(spec: Spec) -> Iterator[Problem]:
    """A positive class names no hard negative: nothing teaches the model what it must not fire on."""
    for name, cls in spec.classes.items():
        if cls.role == "positive" and not cls.hard_negatives:
            yield (
                ("classes", name),
                f"positive class {name!r} has no hard_negatives: add the look-alikes the model must not "
                "confuse it with (visually similar negatives are what fine-tuning learns most from)",
            )


@rule("negative-not-referenced", Severity.INFO)
def _negative_unreferenced(spec: Spec) -> Iterator[Problem]:
    """A negative class that no positive class names as a hard negative."""
    referenced = {neg for cls in spec.classes.values() for neg in cls.hard_negatives}
    for name in spec.negatives:
        if name not in referenced:
            yield ("classes", name), f"negative class {name!r} is not the hard negative of any positive class"


@rule("case-clash", Severity.WARNING)
def _case_clash(spec: Spec) -> Iterator[Problem]:
    """Two classes or two axis values differ only in letter case, which annotators will mix up."""
    groups: dict[str, list[str]] = {}
    for name in spec.classes:
        groups.setdefault(name.casefold(), []).append(name)
    for names in groups.values():
        for other in names[1:]:
            yield ("classes", other), f"class {other!r} differs from {names[0]!r} only in letter case"
    for axis_name, axis in spec.axes.items():
        folded: dict[str, str] = {}
        for i, value in enumerate(axis.values):
            first = folded.setdefault(value.casefold(), value)
            if first != value:
                yield ("axes", axis_name, "values", i), f"value {value!r} differs from {first!r} only in case"


@rule("no-prompts", Severity.WARNING)
def _no_prompts(spec: Spec) -> Iterator[Problem]:
    """Embedding checks are on but a positive class has no prompts to check its visual coherence with."""
    if not spec.embedding.enabled:
        return
    for name, cls in spec.classes.items():
        if cls.role == "positive" and not cls.prompts:
            yield (
                ("classes", name),
                f"class {name!r} has no prompts, so the prompt-coherence and coverage-gap embedding checks "
                "skip it: add the original query and a paraphrase or two",
            )


@rule("single-prompt", Severity.INFO)
def _single_prompt(spec: Spec) -> Iterator[Problem]:
    """A positive class has one prompt: coherence needs a paraphrase to compare with."""
    if not spec.embedding.enabled:
        return
    for name, cls in spec.classes.items():
        if cls.role == "positive" and len(cls.prompts) == 1:
            yield (
                ("classes", name, "prompts"),
                f"class {name!r} has one prompt; add a paraphrase so its visual coherence can be measured",
            )


# --- axes ----------------------------------------------------------------------------------------------


@rule("duplicate-axis-value", Severity.ERROR)
def _duplicate_axis_value(spec: Spec) -> Iterator[Problem]:
    """An axis lists the same value twice."""
    for axis_name, axis in spec.axes.items():
        for i, value in _repeats(axis.values):
            yield ("axes", axis_name, "values", i), f"axis {axis_name!r} lists value {value!r} twice"


@rule("single-value-axis", Severity.WARNING)
def _single_value_axis(spec: Spec) -> Iterator[Problem]:
    """An axis with one value spans nothing."""
    for axis_name, axis in spec.axes.items():
        if len(set(axis.values)) == 1:
            yield (
                ("axes", axis_name, "values"),
                f"axis {axis_name!r} has a single value: an axis needs at least two to describe diversity",
            )


@rule("unknown-axis-value", Severity.ERROR)
def _unknown_axis_value(spec: Spec) -> Iterator[Problem]:
    """Prompts or a class override name a value the axis does not have."""
    for axis_name, axis in spec.axes.items():
        for value in axis.prompts:
            if value not in axis.values:
                yield (
                    ("axes", axis_name, "prompts", value),
                    f"prompts are given for {value!r}, which is not a value of axis {axis_name!r}"
                    f"{_suggest(value, axis.values)}",
                )
    for name, cls in spec.classes.items():
        for axis_name, override in cls.axes.items():
            if axis_name not in spec.axes or override.values is None:
                continue
            known = spec.axes[axis_name].values
            for i, value in enumerate(override.values):
                if value not in known:
                    yield (
                        ("classes", name, "axes", axis_name, "values", i),
                        f"class {name!r} expects {value!r}, which is not a value of axis {axis_name!r}"
                        f"{_suggest(value, known)}",
                    )


@rule("unknown-axis", Severity.ERROR)
def _unknown_axis(spec: Spec) -> Iterator[Problem]:
    """A combination, class override or Label Studio mapping names an axis that does not exist."""

    def check(axis_name: str, path: PathKey, what: str) -> Iterator[Problem]:
        if axis_name not in spec.axes:
            yield (
                path,
                f"{what} names axis {axis_name!r}, which is not defined{_suggest(axis_name, spec.axes)}",
            )

    for i, combo in enumerate(spec.coverage.combinations):
        for j, axis_name in enumerate(combo.axes):
            yield from check(axis_name, ("coverage", "combinations", i, "axes", j), "a combination")
    for name, cls in spec.classes.items():
        for axis_name in cls.axes:
            yield from check(axis_name, ("classes", name, "axes", axis_name), f"class {name!r}")
        for i, combo in enumerate(cls.combinations or ()):
            for j, axis_name in enumerate(combo.axes):
                path = ("classes", name, "combinations", i, "axes", j)
                yield from check(axis_name, path, f"a combination of class {name!r}")
    for axis_name in spec.labelstudio.axis_controls:
        yield from check(axis_name, ("labelstudio", "axis_controls", axis_name), "labelstudio.axis_controls")


@rule("combination-repeats-axis", Severity.ERROR)
def _combination_repeats_axis(spec: Spec) -> Iterator[Problem]:
    """A combination lists the same axis twice."""
    combos: list[tuple[PathKey, tuple[str, ...]]] = [
        (("coverage", "combinations", i), c.axes) for i, c in enumerate(spec.coverage.combinations)
    ]
    for name, cls in spec.classes.items():
        combos += [(("classes", name, "combinations", i), c.axes) for i, c in enumerate(cls.combinations or ())]
    for path, axes in combos:
        for j, axis_name in _repeats(axes):
            yield (*path, "axes", j), f"the combination lists axis {axis_name!r} twice"


@rule("unknown-class", Severity.ERROR)
def _unknown_class(spec: Spec) -> Iterator[Problem]:
    """An axis, combination or Label Studio mapping names a class that does not exist."""

    def check(name: str, path: PathKey, what: str) -> Iterator[Problem]:
        if name not in spec.classes:
            yield path, f"{what} names class {name!r}, which is not defined{_suggest(name, spec.classes)}"

    for axis_name, axis in spec.axes.items():
        for i, name in enumerate(axis.applies_to or ()):
            yield from check(name, ("axes", axis_name, "applies_to", i), f"axis {axis_name!r}")
    for i, combo in enumerate(spec.coverage.combinations):
        for j, name in enumerate(combo.classes or ()):
            yield from check(name, ("coverage", "combinations", i, "classes", j), "a combination")
    for name in spec.labelstudio.labels:
        yield from check(name, ("labelstudio", "labels", name), "labelstudio.labels")


@rule("axis-applies-to-nothing", Severity.WARNING)
def _axis_applies_to_nothing(spec: Spec) -> Iterator[Problem]:
    """An axis whose `applies_to` is an empty list describes no class."""
    for axis_name, axis in spec.axes.items():
        if axis.applies_to is not None and not axis.applies_to:
            yield ("axes", axis_name, "applies_to"), f"axis {axis_name!r} applies to no class"


@rule("override-of-inapplicable-axis", Severity.ERROR)
def _override_inapplicable(spec: Spec) -> Iterator[Problem]:
    """A class overrides an axis that, by the axis's `applies_to`, does not apply to it."""
    for name, cls in spec.classes.items():
        applicable = spec.axes_of(name)
        for axis_name in cls.axes:
            if axis_name in spec.axes and axis_name not in applicable:
                yield (
                    ("classes", name, "axes", axis_name),
                    f"class {name!r} sets quotas for axis {axis_name!r}, whose applies_to leaves {name!r} out",
                )


@rule("region-axis-without-regions", Severity.ERROR)
def _region_axis_without_regions(spec: Spec) -> Iterator[Problem]:
    """An axis has scope: region while the unit is a whole image, which has no regions."""
    if spec.unit != "image":
        return
    for axis_name, axis in spec.axes.items():
        if axis.scope == "region":
            yield (
                ("axes", axis_name, "scope"),
                f"axis {axis_name!r} has scope: region, but unit: image has no regions (use scope: item)",
            )


# --- quotas ------------------------------------------------------------------------------------------


@rule("quota-impossible", Severity.ERROR)
def _quota_impossible(spec: Spec) -> Iterator[Problem]:
    """Per-value shares that no class can meet: minimum shares adding up past 100 %, or a maximum share too low."""
    quota = spec.coverage.per_value
    reported_max: set[str] = set()
    for name in spec.classes:
        for axis_name in spec.axes_of(name):
            override = spec.classes[name].axes.get(axis_name)
            min_share = override.min_share if override and override.min_share is not None else quota.min_share
            n = len(set(spec.axis_values_of(name, axis_name)))
            where: PathKey = ("classes", name, "axes", axis_name) if override else ("coverage", "per_value")
            if n * min_share > 1.0 + 1e-9:
                yield (
                    where,
                    f"class {name!r}: {n} values of axis {axis_name!r} × min_share {min_share:g} = "
                    f"{n * min_share:.0%} of the class, more than all of it",
                )
            if n * quota.max_share < 1.0 - 1e-9 and axis_name not in reported_max:
                reported_max.add(axis_name)
                yield (
                    ("coverage", "per_value", "max_share"),
                    f"with {n} values of axis {axis_name!r}, max_share {quota.max_share:g} "
                    "cannot hold: some value must take more",
                )
            if min_share > quota.max_share:
                yield where, f"min_share {min_share:g} is above max_share {quota.max_share:g}"


@rule("quota-exceeds-minimum", Severity.ERROR)
def _quota_exceeds_minimum(spec: Spec) -> Iterator[Problem]:
    """Per-cell or per-value minimums that add up to more examples than the class minimum allows for."""
    for name, cls in spec.classes.items():
        minimum = spec.min_examples_of(name)
        for combo_index, combo in enumerate(spec.combinations_of(name)):
            if any(a not in spec.axes for a in combo.axes):
                continue
            cells = math.prod(len(set(spec.axis_values_of(name, a))) for a in combo.axes)
            needed = cells * combo.min
            if needed > minimum:
                own = cls.combinations is not None
                path: PathKey = (
                    ("classes", name, "combinations", combo_index)
                    if own
                    else ("coverage", "combinations", spec.coverage.combinations.index(combo))
                )
                yield (
                    path,
                    f"class {name!r}: {' × '.join(combo.axes)} has {cells} cells × min {combo.min} = {needed} "
                    f"examples, more than its min_examples {minimum}: raise min_examples to at least "
                    f"{needed} or lower the per-cell minimum",
                )
        for axis_name in spec.axes_of(name):
            override = cls.axes.get(axis_name)
            count = override.min_count if override and override.min_count is not None else None
            count = spec.coverage.per_value.min_count if count is None else count
            n = len(set(spec.axis_values_of(name, axis_name)))
            if n * count > minimum:
                where: PathKey = ("classes", name, "axes", axis_name) if override else ("coverage", "per_value")
                yield (
                    where,
                    f"class {name!r}: {n} values of axis {axis_name!r} × min_count {count} = {n * count} "
                    f"examples, more than its min_examples {minimum}",
                )


# --- media, tightness, splits, embedding, Label Studio ----------------------------------------------


_UNITS = {"image": ("image", "box"), "video": ("segment", "track")}


@rule("media-unit-mismatch", Severity.ERROR)
def _media_unit(spec: Spec) -> Iterator[Problem]:
    """The unit does not fit the media (segments of a still image, boxes without frames)."""
    allowed = _UNITS[spec.media]
    if spec.unit not in allowed:
        yield ("unit",), f"unit {spec.unit!r} does not fit media {spec.media!r} (use {' or '.join(allowed)})"


@rule("bounds-reversed", Severity.ERROR)
def _bounds_reversed(spec: Spec) -> Iterator[Problem]:
    """A minimum above its maximum (segment seconds, box area)."""
    temporal = spec.tightness.temporal
    if temporal.max_seconds is not None and temporal.min_seconds > temporal.max_seconds:
        yield (
            ("tightness", "temporal", "min_seconds"),
            f"min_seconds {temporal.min_seconds:g} is above max_seconds {temporal.max_seconds:g}",
        )
    spatial = spec.tightness.spatial
    if spatial.min_area > spatial.max_area:
        yield (
            ("tightness", "spatial", "min_area"),
            f"min_area {spatial.min_area:g} is above max_area {spatial.max_area:g}",
        )


@rule("split-config", Severity.ERROR)
def _split_config(spec: Spec) -> Iterator[Problem]:
    """The split names are inconsistent: repeated, or train/validation not among the values."""
    splits = spec.splits
    if splits is None:
        return
    for i, value in _repeats(splits.values):
        yield ("splits", "values", i), f"split {value!r} is listed twice"
    for key in ("train", "validation"):
        name = getattr(splits, key)
        if name not in splits.values:
            yield (
                ("splits", key),
                f"{key} split {name!r} is not one of the split values{_suggest(name, splits.values)}",
            )
    if splits.train == splits.validation:
        yield ("splits", "validation"), "the training and validation splits are the same"
    if splits.field in spec.axes:
        yield ("splits", "field"), f"split field {splits.field!r} is also an axis name"


_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


@rule("checkpoint-not-found", Severity.WARNING)
def _checkpoint_not_found(spec: Spec) -> Iterator[Problem]:
    """The embedding `pretrained` looks like a local file or folder that does not exist."""
    pretrained = spec.embedding.pretrained
    if pretrained.startswith("local-dir:"):
        target = pretrained[len("local-dir:") :]
    elif pretrained.endswith(_CHECKPOINT_SUFFIXES) or "/" in pretrained or "\\" in pretrained:
        target = pretrained
    else:
        return
    if pretrained.startswith("hf-hub:"):
        return
    path = Path(target).expanduser()
    if not path.is_absolute() and spec.source is not None:
        path = Path(spec.source.path).parent / path
    if not exists(path):
        yield ("embedding", "pretrained"), f"local weights {target!r} do not exist (looked at {path})"


@rule("unknown-check", Severity.ERROR)
def _unknown_check(spec: Spec) -> Iterator[Problem]:
    """The `checks:` section names a check that does not exist."""
    known = checks().names()
    for code in spec.checks:
        if code not in known:
            yield (
                ("checks", code),
                f"there is no check {code!r}{_suggest(code, known)} (see taxospec check --list-checks)",
            )


@rule("unknown-backend", Severity.ERROR)
def _unknown_backend(spec: Spec) -> Iterator[Problem]:
    """`embedding.backend` names no installed embedder plugin."""
    known = embedders().names()
    if spec.embedding.enabled and spec.embedding.backend not in known:
        name = spec.embedding.backend
        yield (
            ("embedding", "backend"),
            f"there is no embedder {name!r}{_suggest(name, known)} (see taxospec plugins)",
        )


@rule("bad-check-params", Severity.ERROR)
def _bad_check_params(spec: Spec) -> Iterator[Problem]:
    """`checks.<code>.params` that the check's own parameter model refuses."""
    known = checks()
    for code, setting in spec.checks.items():
        if code not in known or not setting.params:
            continue
        try:
            params_of(known.get(code), spec)
        except ParamsError as bad:
            for path, message in bad.problems:
                key = ".".join(map(str, path))
                yield ("checks", code, "params", *path), f"{code} parameter {key}: {message}" if key else message


@rule("unused-key", Severity.WARNING)
def _unused_key(spec: Spec) -> Iterator[Problem]:
    """A key the spec still accepts but no check reads any more."""
    if "mislabel_agreement" in spec.embedding.model_fields_set:
        yield (
            ("embedding", "mislabel_agreement"),
            "has no effect: likely-mislabel now finds label issues by confident learning over out-of-fold "
            "probabilities (see checks.likely-mislabel.params in the README)",
        )


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character XML 1.0 cannot carry (NUL and other control characters, lone surrogates, U+FFFE/U+FFFF)."""


def _texts(node: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """Every string of a dumped spec (keys and values) with its path."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _texts(value, (*path, key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _texts(value, (*path, i))


@rule("text-not-writable", Severity.ERROR)
def _text_not_writable(spec: Spec) -> Iterator[Problem]:
    """Text with a character no Label Studio config (XML) or report can carry: NUL and other control
    characters, lone surrogates."""
    seen = set()
    for path, text in _texts(spec.model_dump(mode="python", exclude_defaults=True)):
        bad = _NOT_XML.search(text)
        if bad is None or path in seen:
            continue
        seen.add(path)
        yield (
            path,
            (
                f"holds U+{ord(bad.group()):04X} at position {bad.start() + 1}, a character no labeling config "
                "(XML) can carry; remove it"
            ),
        )


@rule("label-collision", Severity.ERROR)
def _label_collision(spec: Spec) -> Iterator[Problem]:
    """Two classes map to the same Label Studio label."""
    label_of = {name: spec.labelstudio.labels.get(name, name) for name in spec.classes}
    counts = Counter(label_of.values())
    for name, label in label_of.items():
        if counts[label] > 1 and name in spec.labelstudio.labels:
            yield (
                ("labelstudio", "labels", name),
                f"class {name!r} maps to label {label!r}, which another class also uses",
            )


def refuse_lint_errors(spec: Spec) -> Spec:
    """`spec` itself, or `SpecNotUsable` listing its lint errors with their locations."""
    errors = [f for f in lint_spec(spec) if f.severity == Severity.ERROR]
    if errors:
        raise SpecNotUsable("the spec has lint errors; fix them first:\n" + "\n".join(str(f) for f in errors))
    return spec
