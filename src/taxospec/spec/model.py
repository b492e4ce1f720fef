"""The taxonomy spec language, version 1, as frozen pydantic models.

Every optional key has the default a careful team would choose; every field carries the description that
ends up in the JSON Schema (and so in editor completion). Checks that need several fields at once (a hard
negative naming no class, quotas that cannot add up, ...) live in `taxospec.spec.lint`, not here: a spec
that is well-formed loads, and its meaning is linted separately with locations.

The taxonomy (classes, axes, coverage, balance) and the `Spec` itself are here; the settings sections are
in `taxospec.spec.settings`, the base model and constrained types in `taxospec.spec.types`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, StringConstraints

from taxospec.spec.deployment import DeploymentSpec
from taxospec.spec.settings import (
    CheckSetting,
    DuplicatesSpec,
    EmbeddingSpec,
    LabelIssueParams,
    LabelStudioSpec,
    OutlierParams,
    SpatialTightness,
    SplitsSpec,
    TemporalTightness,
    TightnessSpec,
)
from taxospec.spec.source import SpecSource
from taxospec.spec.types import AxisName, AxisValue, ClassName, Count, Prompt, Seconds, Share, SpecModel

SPEC_VERSION = 1

__all__ = [
    "SPEC_VERSION",
    "AxisName",
    "AxisSpec",
    "AxisValue",
    "BalanceSpec",
    "CheckSetting",
    "ClassAxisOverride",
    "ClassName",
    "ClassSpec",
    "Combination",
    "Count",
    "CoverageSpec",
    "DuplicatesSpec",
    "EmbeddingSpec",
    "LabelIssueParams",
    "LabelStudioSpec",
    "OutlierParams",
    "PerValueQuota",
    "Prompt",
    "Seconds",
    "Share",
    "SpatialTightness",
    "Spec",
    "SpecModel",
    "SplitsSpec",
    "TemporalTightness",
    "TightnessSpec",
]


class ClassAxisOverride(SpecModel):
    """How one axis applies to one class, where it differs from the axis and coverage defaults."""

    values: tuple[AxisValue, ...] | None = None
    """The values of the axis this class must cover (a subset of the axis values). Default: all of them."""
    min_share: Share | None = None
    """Minimum share of the class's examples for each value of this axis. Default: `coverage.per_value.min_share`."""
    min_count: Count | None = None
    """Minimum number of the class's examples for each value of this axis. Default: `coverage.per_value.min_count`."""


class Combination(SpecModel):
    """A t-way combination of axes whose every cell (one value per axis) needs a quota of examples."""

    axes: Annotated[tuple[AxisName, ...], Field(min_length=1)]
    """The axes combined, e.g. `[lighting, bystanders]`: every pair of their values is one cell."""
    min: Annotated[int, Field(ge=1)] = 10
    """Minimum examples per cell and class. One occurrence is not coverage."""
    classes: tuple[ClassName, ...] | None = None
    """The classes that need this combination. Default: every class the axes apply to."""


class ClassSpec(SpecModel):
    """One class of the taxonomy: what it is, what it must not be confused with, how many examples it needs."""

    role: Literal["positive", "negative"] = "positive"
    """`positive`: a class the model must detect. `negative`: a look-alike that it must not confuse with one."""
    description: str = ""
    """What the class is, in words an annotator understands; it becomes the label's hint in Label Studio."""
    prompts: tuple[Prompt, ...] = ()
    """The original text query for this class and its paraphrases. Embedding checks test that they all find
    the same examples (visual coherence)."""
    hard_negatives: tuple[ClassName, ...] = ()
    """Names of other classes that look like this one and must be kept apart from it."""
    min_examples: Count | None = None
    """Minimum number of examples of this class. Default: `balance.min_examples`."""
    axes: dict[AxisName, ClassAxisOverride] = Field(default_factory=dict)
    """Per-axis overrides for this class (which values it must cover, its own quotas)."""
    combinations: tuple[Combination, ...] | None = None
    """Combinations for this class instead of `coverage.combinations`. Default: the spec-wide ones."""


class AxisSpec(SpecModel):
    """A diversity axis the data must span, such as lighting, angle, distance or bystanders."""

    description: str = ""
    """What the axis means, for annotators and for the collection team."""
    values: Annotated[tuple[AxisValue, ...], Field(min_length=1)]
    """The values an example can take on this axis, e.g. `[day, night, indoor]`."""
    prompts: dict[AxisValue, tuple[Prompt, ...]] = Field(default_factory=dict)
    """Optional text prompts per value, for the zero-shot axis audit and embedding coverage gaps."""
    required: bool = True
    """Whether every example must carry a value of this axis."""
    applies_to: tuple[ClassName, ...] | None = None
    """The classes this axis describes. Default: every class."""
    scope: Literal["item", "region"] = "item"
    """`item`: one value per image or clip (a task-level choice). `region`: one value per box, segment or
    track (a per-region attribute), for axes that describe the object rather than the scene."""


class PerValueQuota(SpecModel):
    """The quota every single axis value must meet within each class."""

    min_share: Share = 0.05
    """Minimum share of a class's examples that each axis value must have (0.05 = 5 %)."""
    min_count: Count = 0
    """Minimum number of a class's examples for each axis value (0 = only the share applies)."""
    max_share: Share = 0.9
    """Maximum share of a class's examples one axis value may take before it dominates the class."""


class CoverageSpec(SpecModel):
    """How completely the data must span the axes."""

    per_value: PerValueQuota = Field(default_factory=PerValueQuota)
    """The quota of every single axis value, per class."""
    combinations: tuple[Combination, ...] = ()
    """t-way combinations of axes with a per-cell minimum, e.g. lighting × bystanders."""


class BalanceSpec(SpecModel):
    """How balanced the classes must be."""

    min_examples: Count = 50
    """Default minimum number of examples per class (a class's own `min_examples` wins)."""
    max_ratio: Annotated[float, Field(ge=1.0)] = 10.0
    """Largest allowed ratio between the most and the least frequent positive class."""
    negatives_per_positive: Annotated[float, Field(ge=0.0)] = 0.5
    """Minimum number of hard-negative examples per positive example, for each positive class that names
    hard negatives (0 = no minimum)."""


class Spec(SpecModel):
    """A taxonomy spec: classes, hard negatives, diversity axes with quotas, and tightness rules."""

    taxospec: Literal[1]
    """Version of the spec language. Always 1 for now."""
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
    """Name of the dataset or project."""
    description: str = ""
    """What the model will be fine-tuned to do, and where it will be deployed."""
    media: Literal["image", "video"] = "image"
    """What is labeled: still images or videos."""
    unit: Literal["image", "box", "segment", "track"] = "image"
    """What one training example is: a whole image, a box in an image, a time segment of a video, or a
    tracked box over frames of a video."""
    classes: Annotated[dict[ClassName, ClassSpec], Field(min_length=1)]
    """The classes by name, positives and their look-alike negatives."""
    axes: dict[AxisName, AxisSpec] = Field(default_factory=dict)
    """The diversity axes by name (lighting, angle, distance, bystanders, ...)."""
    coverage: CoverageSpec = Field(default_factory=CoverageSpec)
    """Quotas per axis value and per combination of axes."""
    balance: BalanceSpec = Field(default_factory=BalanceSpec)
    """Class minimums and balance."""
    tightness: TightnessSpec = Field(default_factory=TightnessSpec)
    """Spatial and temporal tightness rules."""
    duplicates: DuplicatesSpec = Field(default_factory=DuplicatesSpec)
    """Duplicate thresholds."""
    splits: SplitsSpec | None = None
    """The train / validation split. Default: no split is annotated, and no split checks run."""
    embedding: EmbeddingSpec = Field(default_factory=EmbeddingSpec)
    """The CLIP model for the embedding checks."""
    deployment: DeploymentSpec | None = None
    """Samples of unlabeled media from where the model will run, to measure the labeled data against
    (coverage, uncovered scenarios, shift, picture quality). Default: none."""
    labelstudio: LabelStudioSpec = Field(default_factory=LabelStudioSpec)
    """Mapping to the control names of an existing Label Studio project."""
    checks: dict[str, CheckSetting] = Field(default_factory=dict)
    """Per-check settings by check code, e.g. `{box-cut-by-edge: {severity: error}, near-duplicate: {enabled:
    false}}` (`taxospec check --list-checks` lists the codes)."""

    _source: SpecSource | None = PrivateAttr(default=None)

    @property
    def source(self) -> SpecSource | None:
        """Where the spec was loaded from, with the location of every node (None when built in code)."""
        return self._source

    @property
    def positives(self) -> list[str]:
        """Names of the positive classes, in spec order."""
        return [name for name, c in self.classes.items() if c.role == "positive"]

    @property
    def negatives(self) -> list[str]:
        """Names of the negative classes, in spec order."""
        return [name for name, c in self.classes.items() if c.role == "negative"]

    def min_examples_of(self, class_name: str) -> int:
        """The minimum number of examples `class_name` needs (its own, else the spec-wide default)."""
        own = self.classes[class_name].min_examples
        return self.balance.min_examples if own is None else own

    def axes_of(self, class_name: str) -> list[str]:
        """Names of the axes that apply to `class_name`, in spec order."""
        return [name for name, axis in self.axes.items() if axis.applies_to is None or class_name in axis.applies_to]

    def axis_values_of(self, class_name: str, axis_name: str) -> tuple[str, ...]:
        """The values of `axis_name` that `class_name` must cover."""
        override = self.classes[class_name].axes.get(axis_name)
        if override is not None and override.values is not None:
            return override.values
        return self.axes[axis_name].values

    def combinations_of(self, class_name: str) -> tuple[Combination, ...]:
        """The combinations `class_name` must cover: its own, else the spec-wide ones that apply to it."""
        own = self.classes[class_name].combinations
        combos = own if own is not None else self.coverage.combinations
        applicable = set(self.axes_of(class_name))
        return tuple(
            combo
            for combo in combos
            if (combo.classes is None or class_name in combo.classes) and set(combo.axes) <= applicable
        )
