"""Built-in lint rules about the settings around the taxonomy: media and units, bounds, splits, the model
checkpoint and backend, check names and parameters, unused keys, text Label Studio cannot hold, labels."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from taxospec.checks.params import params_of
from taxospec.errors import ParamsError
from taxospec.findings import Severity
from taxospec.inputs import exists
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.registry import checks, embedders
from taxospec.spec.lint import LintRule, Problem, RuleSet, did_you_mean, repeats
from taxospec.spec.model import Spec
from taxospec.spec.source import PathKey

RULES = RuleSet()


@hookimpl
def taxospec_lint_rules() -> list[LintRule]:
    """The built-in lint rules of this module."""
    return list(RULES.rules)


_UNITS = {"image": ("image", "box"), "video": ("segment", "track")}


@RULES.rule("media-unit-mismatch", Severity.ERROR)
def _media_unit(spec: Spec) -> Iterator[Problem]:
    """The unit does not fit the media (segments of a still image, boxes without frames)."""
    allowed = _UNITS[spec.media]
    if spec.unit not in allowed:
        yield ("unit",), f"unit {spec.unit!r} does not fit media {spec.media!r} (use {' or '.join(allowed)})"


@RULES.rule("bounds-reversed", Severity.ERROR)
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


@RULES.rule("split-config", Severity.ERROR)
def _split_config(spec: Spec) -> Iterator[Problem]:
    """The split names are inconsistent: repeated, or train/validation not among the values."""
    splits = spec.splits
    if splits is None:
        return
    for i, value in repeats(splits.values):
        yield ("splits", "values", i), f"split {value!r} is listed twice"
    for key in ("train", "validation"):
        name = getattr(splits, key)
        if name not in splits.values:
            yield (
                ("splits", key),
                f"{key} split {name!r} is not one of the split values{did_you_mean(name, splits.values)}",
            )
    if splits.train == splits.validation:
        yield ("splits", "validation"), "the training and validation splits are the same"
    if splits.field in spec.axes:
        yield ("splits", "field"), f"split field {splits.field!r} is also an axis name"


_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


@RULES.rule("checkpoint-not-found", Severity.WARNING)
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


@RULES.rule("unknown-check", Severity.ERROR)
def _unknown_check(spec: Spec) -> Iterator[Problem]:
    """The `checks:` section names a check that does not exist."""
    known = checks().names()
    for code in spec.checks:
        if code not in known:
            yield (
                ("checks", code),
                f"there is no check {code!r}{did_you_mean(code, known)} (see taxospec check --list-checks)",
            )


@RULES.rule("unknown-backend", Severity.ERROR)
def _unknown_backend(spec: Spec) -> Iterator[Problem]:
    """`embedding.backend` names no installed embedder plugin."""
    known = embedders().names()
    if spec.embedding.enabled and spec.embedding.backend not in known:
        name = spec.embedding.backend
        yield (
            ("embedding", "backend"),
            f"there is no embedder {name!r}{did_you_mean(name, known)} (see taxospec plugins)",
        )


@RULES.rule("bad-check-params", Severity.ERROR)
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


@RULES.rule("unused-key", Severity.WARNING)
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


@RULES.rule("text-not-writable", Severity.ERROR)
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


@RULES.rule("label-collision", Severity.ERROR)
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
