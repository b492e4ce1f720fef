"""Read a Label Studio labeling config (XML) into the facts the export reader needs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from taxospec.errors import ConfigError
from taxospec.inputs import read_input

OBJECT_TAGS = frozenset({"image", "video", "text", "audio", "hypertext", "timeseries", "paragraphs", "pdf"})
LABEL_CONTROLS = frozenset(
    {
        "labels",
        "rectanglelabels",
        "polygonlabels",
        "keypointlabels",
        "brushlabels",
        "ellipselabels",
        "timelinelabels",
    }
)
"""Controls whose children are `<Label>`s: they name what a region is."""
MAX_CONFIG_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class ObjectTag:
    """An object tag such as `<Image name="image" value="$image"/>`."""

    tag: str
    name: str
    value: str
    frame_rate: str | None = None

    @property
    def data_key(self) -> str | None:
        """The task data key the object reads (`image` for `$image`)."""
        return self.value[1:] if self.value.startswith("$") else None


@dataclass(frozen=True)
class ControlTag:
    """A control tag such as `<Choices name="lighting" toName="image" choice="single"/>`."""

    tag: str
    name: str
    to_name: tuple[str, ...]
    values: tuple[str, ...] = ()
    per_region: bool = False
    single: bool = True
    required: bool = False

    @property
    def result_type(self) -> str:
        """The `type` of the results this control writes (the tag in lower case)."""
        return self.tag


@dataclass(frozen=True)
class LabelConfig:
    """The objects and controls of a labeling config, by name."""

    objects: dict[str, ObjectTag] = field(default_factory=dict)
    controls: dict[str, ControlTag] = field(default_factory=dict)
    source: str = "<config>"

    def controls_of_type(self, *tags: str) -> list[ControlTag]:
        """Controls whose lower-case tag is one of `tags`, in config order."""
        return [c for c in self.controls.values() if c.tag in tags]


def parse_label_config(text: str, source: str = "<config>") -> LabelConfig:
    """Parse labeling-config XML; raises `ConfigError` with a clear message when it is not one."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ConfigError(f"{source}: a labeling config must not declare a DOCTYPE or entities")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ConfigError(f"{source}:{line}:{column + 1}: not a valid XML labeling config: {exc}") from None
    if root.tag.lower() != "view":
        raise ConfigError(f"{source}: a labeling config starts with <View>, not <{root.tag}>")
    objects: dict[str, ObjectTag] = {}
    controls: dict[str, ControlTag] = {}
    for element in root.iter():
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        name = element.get("name")
        if not name:
            continue
        if tag in OBJECT_TAGS:
            objects[name] = ObjectTag(
                tag, name, element.get("value", ""), element.get("frameRate") or element.get("framerate")
            )
        elif element.get("toName") is not None:
            values = tuple(
                child.get("alias") or child.get("value") or ""
                for child in element.iter()
                if child is not element and child.tag in ("Label", "Choice")
            )
            controls[name] = ControlTag(
                tag=tag,
                name=name,
                to_name=tuple(n.strip() for n in (element.get("toName") or "").split(",") if n.strip()),
                values=tuple(v for v in values if v),
                per_region=element.get("perRegion", "").lower() == "true",
                single=element.get("choice", "single").lower() != "multiple",
                required=element.get("required", "").lower() == "true",
            )
    if not objects:
        raise ConfigError(f"{source}: the labeling config has no object tag (Image, Video, …)")
    return LabelConfig(objects, controls, source)


def load_label_config(path: str | Path) -> LabelConfig:
    """Read and parse a labeling config file."""
    raw = read_input(path, "a labeling config", lambda r: ConfigError(f"{path}: {r}"), max_bytes=MAX_CONFIG_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_label_config(text, str(path))
