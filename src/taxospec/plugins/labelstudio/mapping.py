"""Which Label Studio control holds the class, each axis and the split: from the spec, the config, or
the conventions of taxospec's own config generator (an axis `lighting` is a Choices named `lighting`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from taxospec.plugins.labelstudio.config import LABEL_CONTROLS, LabelConfig
from taxospec.spec.model import Spec

UNIT_RESULT_TYPES: dict[str, frozenset[str]] = {
    "image": frozenset({"choices"}),
    "box": frozenset({"rectanglelabels", "polygonlabels", "ellipselabels", "labels"}),
    "segment": frozenset({"timelinelabels"}),
    "track": frozenset({"videorectangle"}),
}
"""Result types that carry the class of one example, per spec unit."""

DEFAULT_CLASS_CONTROL = "label"
FINDINGS_CONTROL = "taxospec"
"""The read-only TextArea in which `--write-back` shows a task's findings; never an annotation's content."""
DEFAULT_FRAME_RATE = 25.0


@dataclass(frozen=True)
class ControlMapping:
    """The resolved names: how to read classes, axes, split and media from tasks and results."""

    class_controls: frozenset[str] | None
    """Controls whose results carry the class; None: any control with a result type fitting the unit."""
    class_types: frozenset[str]
    label_to_class: dict[str, str]
    axis_of_control: dict[str, str]
    split_control: str | None
    split_field: str | None
    group_field: str | None
    data_key: str
    frame_rate: float | None
    frame_rate_key: str | None
    known_controls: frozenset[str] | None
    """Every control of the config (None when no config was given)."""
    mismatches: list[str] = field(default_factory=list)
    """Where the config and the spec disagree, in words."""


def resolve_mapping(spec: Spec, config: LabelConfig | None) -> ControlMapping:
    """Work out the control names for `spec`, checking them against `config` when there is one."""
    ls = spec.labelstudio
    label_to_class = {ls.labels.get(name, name): name for name in spec.classes}
    axis_of_control = {ls.axis_controls.get(axis, axis): axis for axis in spec.axes}
    mismatches: list[str] = []
    data_key = ls.data_key or ("video" if spec.media == "video" else "image")
    frame_rate: float | None = ls.frame_rate
    frame_rate_key: str | None = None
    class_controls: frozenset[str] | None = frozenset({ls.class_control}) if ls.class_control else None
    split_field = spec.splits.field if spec.splits else None
    split_control: str | None = split_field
    if config is not None:
        data_key, frame_rate, frame_rate_key = _media_object(spec, config, data_key, frame_rate, mismatches)
        if class_controls is None:
            class_controls = _find_class_controls(spec, config, label_to_class)
        mismatches.extend(_class_mismatches(spec, config, class_controls, label_to_class))
        mismatches.extend(_axis_mismatches(spec, config, axis_of_control))
        split_control = split_field if split_field is not None and split_field in config.controls else None
    elif class_controls is None and spec.unit == "image":
        class_controls = frozenset({DEFAULT_CLASS_CONTROL})
    return ControlMapping(
        class_controls=class_controls,
        class_types=UNIT_RESULT_TYPES[spec.unit],
        label_to_class=label_to_class,
        axis_of_control=axis_of_control,
        split_control=split_control,
        split_field=split_field,
        group_field=spec.splits.group_by if spec.splits else None,
        data_key=data_key,
        frame_rate=frame_rate,
        frame_rate_key=frame_rate_key,
        known_controls=frozenset(config.controls) if config is not None else None,
        mismatches=mismatches,
    )


def _media_object(
    spec: Spec, config: LabelConfig, data_key: str, frame_rate: float | None, mismatches: list[str]
) -> tuple[str, float | None, str | None]:
    """The data key, frame rate and frame-rate data key the config's media object gives (the spec's own
    settings first)."""
    ls = spec.labelstudio
    objects = [o for o in config.objects.values() if o.tag == spec.media]
    if not objects:
        mismatches.append(f"the spec is about {spec.media}s but the config has no <{spec.media.capitalize()}> object")
    obj = config.objects.get(ls.object_name or "") or (objects[0] if objects else None)
    if obj is None:
        return data_key, frame_rate, None
    data_key = ls.data_key or obj.data_key or data_key
    if frame_rate is not None or not obj.frame_rate:
        return data_key, frame_rate, None
    if obj.frame_rate.startswith("$"):
        return data_key, None, obj.frame_rate[1:]
    try:
        given = float(obj.frame_rate)
    except ValueError:
        mismatches.append(f"the video frameRate {obj.frame_rate!r} is not a number")
        return data_key, None, None
    return data_key, given if given > 0 else None, None


def _class_mismatches(
    spec: Spec, config: LabelConfig, class_controls: frozenset[str] | None, label_to_class: dict[str, str]
) -> list[str]:
    """What keeps the config's class controls from holding the spec's classes."""
    found = [
        f"the class control {name!r} is not in the config"
        for name in sorted(class_controls or ())
        if name not in config.controls
    ]
    labels_in_config = _class_labels(config, class_controls or frozenset())
    missing = [label for label in label_to_class if label not in labels_in_config]
    if class_controls and missing:
        found.append(
            f"the config's class control(s) {', '.join(sorted(class_controls))} lack the label(s) "
            f"{', '.join(repr(m) for m in missing)}"
        )
    if not class_controls:
        found.append(
            f"no control in the config can hold the classes for unit {spec.unit!r} "
            f"(expected one of: {', '.join(sorted(UNIT_RESULT_TYPES[spec.unit]))})"
        )
    return found


def _axis_mismatches(spec: Spec, config: LabelConfig, axis_of_control: dict[str, str]) -> list[str]:
    """Axes whose control is missing from the config, or lacks some of the spec's values."""
    found = []
    for control_name, axis in axis_of_control.items():
        control = config.controls.get(control_name)
        if control is None:
            found.append(f"axis {axis!r} has no control named {control_name!r} in the config")
            continue
        extra = [v for v in spec.axes[axis].values if control.values and v not in control.values]
        if extra:
            found.append(f"the config's {control_name!r} choices lack the value(s) {', '.join(repr(v) for v in extra)}")
    return found


def _find_class_controls(spec: Spec, config: LabelConfig, label_to_class: dict[str, str]) -> frozenset[str]:
    """The config controls that hold the class labels: those fitting the unit whose labels overlap the spec's."""
    wanted = set(label_to_class)
    types = UNIT_RESULT_TYPES[spec.unit]
    candidates = []
    for control in config.controls.values():
        if spec.unit == "image" and (control.tag != "choices" or control.per_region):
            continue
        if spec.unit == "track" and control.tag == "videorectangle":
            labels = _class_labels(config, frozenset({control.name}))
        elif control.tag in types or (spec.unit != "image" and control.tag in LABEL_CONTROLS & types):
            labels = set(control.values)
        else:
            continue
        overlap = len(wanted & labels)
        if overlap:
            candidates.append((overlap, control.name))
    if spec.unit == "track" and not candidates:
        candidates = [(0, c.name) for c in config.controls_of_type("videorectangle")]
    if not candidates:
        return frozenset()
    best = max(score for score, _ in candidates)
    return frozenset(name for score, name in candidates if score == best)


def _class_labels(config: LabelConfig, controls: frozenset[str]) -> set[str]:
    """The label values offered to the class controls (for VideoRectangle: its companion Labels)."""
    labels: set[str] = set()
    for name in controls:
        control = config.controls.get(name)
        if control is None:
            continue
        if control.tag == "videorectangle":
            for other in config.controls_of_type("labels"):
                if set(other.to_name) & set(control.to_name):
                    labels |= set(other.values)
        else:
            labels |= set(control.values)
    return labels
