"""Built-in lint rules about the taxonomy: classes and hard negatives, prompts, axes and their values,
combinations and quotas."""

from __future__ import annotations

import math
from collections.abc import Iterator

from taxospec.findings import Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.spec.lint import LintRule, Problem, RuleSet, did_you_mean, repeats
from taxospec.spec.model import Spec
from taxospec.spec.source import PathKey

RULES = RuleSet()


@hookimpl
def taxospec_lint_rules() -> list[LintRule]:
    """The built-in lint rules of this module."""
    return list(RULES.rules)


# --- classes and hard negatives ----------------------------------------------------------------------


@RULES.rule("no-positive-class", Severity.ERROR)
def _no_positive(spec: Spec) -> Iterator[Problem]:
    """Every class is a negative: there is nothing for the model to detect."""
    if not spec.positives:
        yield ("classes",), "every class has role: negative; at least one class must be a positive"


@RULES.rule("unknown-hard-negative", Severity.ERROR)
def _unknown_hard_negative(spec: Spec) -> Iterator[Problem]:
    """A hard negative names no class of the spec."""
    for name, cls in spec.classes.items():
        for i, neg in enumerate(cls.hard_negatives):
            if neg not in spec.classes:
                yield (
                    ("classes", name, "hard_negatives", i),
                    f"hard negative {neg!r} of class {name!r} is not a class{did_you_mean(neg, spec.classes)}",
                )


@RULES.rule("self-hard-negative", Severity.ERROR)
def _self_hard_negative(spec: Spec) -> Iterator[Problem]:
    """A class names itself as its own hard negative."""
    for name, cls in spec.classes.items():
        for i, neg in enumerate(cls.hard_negatives):
            if neg == name:
                yield ("classes", name, "hard_negatives", i), f"class {name!r} is its own hard negative"


@RULES.rule("repeated-entry", Severity.WARNING)
def _repeated_entries(spec: Spec) -> Iterator[Problem]:
    """A hard negative or a prompt is listed twice."""
    for name, cls in spec.classes.items():
        for i, neg in repeats(cls.hard_negatives):
            yield ("classes", name, "hard_negatives", i), f"hard negative {neg!r} is listed twice"
        for i, prompt in repeats(cls.prompts):
            yield ("classes", name, "prompts", i), f"prompt {prompt!r} is listed twice"


@RULES.rule("positive-without-hard-negative", Severity.WARNING)
def _positive_without_negative(spec: Spec) -> Iterator[Problem]:
    """A positive class names no hard negative: nothing teaches the model what it must not fire on."""
    for name, cls in spec.classes.items():
        if cls.role == "positive" and not cls.hard_negatives:
            yield (
                ("classes", name),
                f"positive class {name!r} has no hard_negatives: add the look-alikes the model must not "
                "confuse it with (visually similar negatives are what fine-tuning learns most from)",
            )


@RULES.rule("negative-not-referenced", Severity.INFO)
def _negative_unreferenced(spec: Spec) -> Iterator[Problem]:
    """A negative class that no positive class names as a hard negative."""
    referenced = {neg for cls in spec.classes.values() for neg in cls.hard_negatives}
    for name in spec.negatives:
        if name not in referenced:
            yield ("classes", name), f"negative class {name!r} is not the hard negative of any positive class"


@RULES.rule("case-clash", Severity.WARNING)
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


@RULES.rule("no-prompts", Severity.WARNING)
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


@RULES.rule("single-prompt", Severity.INFO)
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


@RULES.rule("duplicate-axis-value", Severity.ERROR)
def _duplicate_axis_value(spec: Spec) -> Iterator[Problem]:
    """An axis lists the same value twice."""
    for axis_name, axis in spec.axes.items():
        for i, value in repeats(axis.values):
            yield ("axes", axis_name, "values", i), f"axis {axis_name!r} lists value {value!r} twice"


@RULES.rule("single-value-axis", Severity.WARNING)
def _single_value_axis(spec: Spec) -> Iterator[Problem]:
    """An axis with one value spans nothing."""
    for axis_name, axis in spec.axes.items():
        if len(set(axis.values)) == 1:
            yield (
                ("axes", axis_name, "values"),
                f"axis {axis_name!r} has a single value: an axis needs at least two to describe diversity",
            )


@RULES.rule("unknown-axis-value", Severity.ERROR)
def _unknown_axis_value(spec: Spec) -> Iterator[Problem]:
    """Prompts or a class override name a value the axis does not have."""
    for axis_name, axis in spec.axes.items():
        for value in axis.prompts:
            if value not in axis.values:
                yield (
                    ("axes", axis_name, "prompts", value),
                    f"prompts are given for {value!r}, which is not a value of axis {axis_name!r}"
                    f"{did_you_mean(value, axis.values)}",
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
                        f"{did_you_mean(value, known)}",
                    )


@RULES.rule("unknown-axis", Severity.ERROR)
def _unknown_axis(spec: Spec) -> Iterator[Problem]:
    """A combination, class override or Label Studio mapping names an axis that does not exist."""

    def check(axis_name: str, path: PathKey, what: str) -> Iterator[Problem]:
        if axis_name not in spec.axes:
            yield (
                path,
                f"{what} names axis {axis_name!r}, which is not defined{did_you_mean(axis_name, spec.axes)}",
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


@RULES.rule("combination-repeats-axis", Severity.ERROR)
def _combination_repeats_axis(spec: Spec) -> Iterator[Problem]:
    """A combination lists the same axis twice."""
    combos: list[tuple[PathKey, tuple[str, ...]]] = [
        (("coverage", "combinations", i), c.axes) for i, c in enumerate(spec.coverage.combinations)
    ]
    for name, cls in spec.classes.items():
        combos += [(("classes", name, "combinations", i), c.axes) for i, c in enumerate(cls.combinations or ())]
    for path, axes in combos:
        for j, axis_name in repeats(axes):
            yield (*path, "axes", j), f"the combination lists axis {axis_name!r} twice"


@RULES.rule("unknown-class", Severity.ERROR)
def _unknown_class(spec: Spec) -> Iterator[Problem]:
    """An axis, combination or Label Studio mapping names a class that does not exist."""

    def check(name: str, path: PathKey, what: str) -> Iterator[Problem]:
        if name not in spec.classes:
            yield path, f"{what} names class {name!r}, which is not defined{did_you_mean(name, spec.classes)}"

    for axis_name, axis in spec.axes.items():
        for i, name in enumerate(axis.applies_to or ()):
            yield from check(name, ("axes", axis_name, "applies_to", i), f"axis {axis_name!r}")
    for i, combo in enumerate(spec.coverage.combinations):
        for j, name in enumerate(combo.classes or ()):
            yield from check(name, ("coverage", "combinations", i, "classes", j), "a combination")
    for name in spec.labelstudio.labels:
        yield from check(name, ("labelstudio", "labels", name), "labelstudio.labels")


@RULES.rule("axis-applies-to-nothing", Severity.WARNING)
def _axis_applies_to_nothing(spec: Spec) -> Iterator[Problem]:
    """An axis whose `applies_to` is an empty list describes no class."""
    for axis_name, axis in spec.axes.items():
        if axis.applies_to is not None and not axis.applies_to:
            yield ("axes", axis_name, "applies_to"), f"axis {axis_name!r} applies to no class"


@RULES.rule("override-of-inapplicable-axis", Severity.ERROR)
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


@RULES.rule("region-axis-without-regions", Severity.ERROR)
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


@RULES.rule("quota-impossible", Severity.ERROR)
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


@RULES.rule("quota-exceeds-minimum", Severity.ERROR)
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
