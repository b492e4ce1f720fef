"""The spec's settings sections: tightness rules, duplicate thresholds, the split, the embedding model,
Label Studio names, and per-check settings and parameters."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, JsonValue, StringConstraints

from taxospec.spec.types import AxisName, AxisValue, ClassName, Count, Seconds, Share, SpecModel


class TemporalTightness(SpecModel):
    """Bounds on segment length, in seconds (video only)."""

    min_seconds: Seconds = 0.2
    """Shortest allowed segment: shorter ones carry too few frames to learn the action."""
    max_seconds: Seconds | None = 30.0
    """Longest allowed segment: longer ones are mostly not the action (null = no bound)."""


class SpatialTightness(SpecModel):
    """Bounds on boxes, as shares of the frame."""

    min_area: Share = 0.001
    """Smallest allowed box area as a share of the frame area."""
    max_area: Share = 0.95
    """Largest allowed box area as a share of the frame area: a box that is the whole frame is a class label."""
    min_side_px: Count = 4
    """Shortest allowed box side in pixels (where the image size is known)."""
    edge_margin: Share = 0.002
    """A box closer than this share of the frame to an edge counts as cut by the frame."""
    flag_edge_cut: bool = True
    """Report boxes cut by the frame edge (a partial object teaches a partial shape)."""
    main_subject: bool = True
    """Require the target to be the main subject of its box rather than background (embedding check: a crop
    that looks unlike its class while the full frame does is flagged)."""


class TightnessSpec(SpecModel):
    """How tight annotations must be in space and time."""

    temporal: TemporalTightness = Field(default_factory=TemporalTightness)
    """Segment length bounds (video)."""
    spatial: SpatialTightness = Field(default_factory=SpatialTightness)
    """Box size and placement bounds (images and video frames)."""


class DuplicatesSpec(SpecModel):
    """What counts as a duplicate."""

    relative_distance: Annotated[float, Field(gt=0.0, le=2.0)] = 0.25
    """Two examples are near-duplicates when their distance is below this share of the dataset's median
    distance from an example to its nearest neighbour (relative to the data, so the same number holds for
    any model and any features; chosen on benchmarks/detection_quality.py)."""
    max_similarity: Share | None = None
    """Also: cosine similarity of embeddings at or above which two examples are near-duplicates, whatever
    the data (model-specific: recalibrate it when you change the model). Default: none, the relative
    threshold alone."""
    hash_distance: Annotated[int, Field(ge=0, le=64)] = 16
    """Whole pictures whose 256-bit perceptual hashes differ in at most this many bits are near-duplicates
    with no model involved (a re-encoded, resized or re-lit copy differs in a few; different pictures in
    about half); 0 turns the hash pass off."""
    min_gap_seconds: Seconds = 0.5
    """Segments of one class in one video closer than this are near-identical frames."""
    exact: bool = True
    """Also report byte-identical media in several tasks (a hash pass before embeddings)."""


class SplitsSpec(SpecModel):
    """How the train / validation split is annotated and what it must satisfy."""

    field: Annotated[str, StringConstraints(min_length=1)] = "split"
    """Task data field (or Label Studio control) that holds each example's split."""
    values: Annotated[tuple[AxisValue, ...], Field(min_length=2)] = ("train", "val")
    """The split names in use."""
    train: AxisValue = "train"
    """The training split's name (one of `values`)."""
    validation: AxisValue = "val"
    """The validation split's name (one of `values`)."""
    group_by: str | None = None
    """Task data field naming the source group (video, capture run, patient, ...) that must not span splits."""
    val_covers_axes: bool = True
    """Every class and axis value present in training must also be present in validation."""


class EmbeddingSpec(SpecModel):
    """The CLIP model used by the embedding checks."""

    STAGE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "enabled",
            "backend",
            "model",
            "pretrained",
            "architecture_file",
            "frames_per_segment",
            "box_margin",
            "geometry",
        }
    )
    """Fields the embedding stage itself reads: one value for every check, never overridden per check."""
    UNUSED_FIELDS: ClassVar[frozenset[str]] = frozenset({"mislabel_agreement"})
    """Fields kept so that older specs load, which no check reads any more."""

    enabled: bool = True
    """Run the embedding checks when media can be read (the CLI's `--no-embeddings` turns them off)."""
    backend: Annotated[str, StringConstraints(min_length=1)] = "open_clip"
    """The embedder plugin that loads `model` and `pretrained` (`taxospec plugins` lists them; `open_clip`
    is the built-in one)."""
    model: Annotated[str, StringConstraints(min_length=1)] = "ViT-B-32"
    """open_clip model name, e.g. `ViT-B-32`, `ViT-L-14`."""
    pretrained: Annotated[str, StringConstraints(min_length=1)] = "laion2b_s34b_b79k"
    """open_clip pretrained tag, a path to a local checkpoint file, or `local-dir:PATH`."""
    architecture_file: str | None = None
    """Path to an open_clip model config JSON, for a model open_clip does not ship (e.g. a small model trained
    on your data); relative to the spec. Default: none."""
    frames_per_segment: Annotated[int, Field(ge=1, le=64)] = 3
    """Frames sampled inside each video segment (start, middle, end, and more evenly spaced)."""
    box_margin: Annotated[float, Field(ge=0.0, le=2.0)] = 0.1
    """Margin added around a box before cropping, as a share of the box size."""
    neighbors: Annotated[int, Field(ge=2, le=200)] = 10
    """k of the k-nearest-neighbour graph the checks share (Cleanlab and Encord use 10)."""
    geometry: Literal[
        "auto", "cosine", "centered-cosine", "standardized-cosine", "euclidean", "standardized-euclidean"
    ] = "auto"
    """How the example scores (likely-mislabel, outlier, duplicates, tightness) compare embeddings: `auto`
    keeps the candidate whose neighbour vote fits the labels best (see README, "Example scores")."""
    outlier_fence: Annotated[float, Field(gt=0.0, le=10.0)] = 3.0
    """Default of the `outlier` check's `class_fence` and of `segment-ends-loose`'s fence: Tukey's "far out"
    fence at 3 (Q3 + this × IQR, computed per class)."""
    mislabel_agreement: Share = 0.6
    """No longer used: `likely-mislabel` finds label issues by confident learning over out-of-fold
    probabilities (see `checks.likely-mislabel.params`); kept so that older specs load."""
    confusion_share: Share = 0.5
    """A positive is confused with its hard negatives when more than this share of its neighbours are them."""
    min_prompt_overlap: Share = 0.3
    """Least overlap (Jaccard) between the examples the original prompt and a paraphrase retrieve."""
    zero_shot_confidence: Share = 0.8
    """Least zero-shot probability at which an axis value that disagrees with the annotation is reported."""


class LabelStudioSpec(SpecModel):
    """How spec names map to an existing Label Studio project's config (all optional)."""

    class_control: str | None = None
    """Name of the control that holds the class labels. Default: found from the config, else `label`."""
    axis_controls: dict[AxisName, str] = Field(default_factory=dict)
    """Control name per axis, where it differs from the axis name."""
    labels: dict[ClassName, str] = Field(default_factory=dict)
    """Label value in Label Studio per class, where it differs from the class name."""
    object_name: str | None = None
    """Name of the Image or Video object tag. Default: `image` or `video`."""
    data_key: str | None = None
    """Task data key that holds the media URL. Default: `image` or `video`."""
    frame_rate: Annotated[float, Field(gt=0.0)] | None = None
    """Video frame rate used to turn frames into seconds. Default: the config's, else 25."""
    findings_panel: bool = True
    """Add a read-only `taxospec` TextArea to the generated config, in which `--write-back` shows each task's
    findings in the labeling editor."""


class CheckSetting(SpecModel):
    """Turn one dataset check off, change the severity of its findings, or set its parameters."""

    enabled: bool = True
    """Run the check."""
    severity: Literal["error", "warning", "info"] | None = None
    """Severity of its findings. Default: the check's own."""
    params: dict[str, JsonValue] = Field(default_factory=dict)
    """The check's parameters, validated by the check's own model (`taxospec check --list-checks --params`
    lists them; the spec's JSON Schema describes each). Default: the check's defaults, which for checks
    that read a spec section (`tightness`, `duplicates`, `embedding`, ...) are that section's values."""


class LabelIssueParams(SpecModel):
    """Parameters of `likely-mislabel`: how the out-of-fold probabilities are made."""

    probe: bool = True
    """Fit the linear probe (its leave-one-out probabilities) and mix them with the neighbour vote; off:
    the neighbour vote alone (weaker where classes are separable but not clustered)."""
    rounds: Annotated[int, Field(ge=1, le=5)] = 3
    """Rounds of confident learning; from the second on, the suspects of the previous round are set aside
    while the probe is refitted and count for their suggested class in the neighbour vote."""
    ranking: Literal["global", "per-pair"] = "global"
    """How the estimated number of wrong labels is taken: `global`, the worst label qualities of the whole
    dataset; `per-pair`, that number per (given, true) class pair, as cleanlab's "prune by noise rate"."""
    predictions: bool = True
    """Use the team's own model's predictions in the export (Label Studio `predictions` with a score) as a
    further source of probabilities, where present."""


class OutlierParams(SpecModel):
    """Parameters of `outlier`."""

    class_fence: Annotated[float, Field(gt=0.0, le=10.0)] = 3.0
    """Tukey fence (Q3 + this × IQR, per class) on the mean distance to the example's own-class neighbours."""
    any_fence: Annotated[float, Field(gt=0.0, le=10.0)] = 1.5
    """Tukey fence (over the whole dataset) on the mean distance to the example's neighbours of any class:
    beyond both fences an example is an outlier."""
    explained_fence: Annotated[float, Field(gt=0.0, le=10.0)] = 1.5
    """Beyond its class fence but not the dataset's, an example is still an outlier when no class is
    confident about it, or when the class the evidence suggests keeps it beyond that class's Tukey fence
    with this factor (Q3 + this × IQR): a true mislabel sits among its class as its own examples do."""
