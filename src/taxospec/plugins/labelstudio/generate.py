"""Labeling configs and labeling instructions generated from a spec.

The config follows the conventions the export reader assumes when no config is given: the class control
is named `label` (for tracks, a VideoRectangle named `box` with Labels named `label`), every axis is a
single Choices named like the axis (inside a region-selected view with `perRegion` when its scope is
`region`), the object is `image` or `video` reading `$image` or `$video`; a read-only TextArea named
`taxospec` shows the findings that `--write-back` writes (unless `labelstudio.findings_panel` is off).
"""

from __future__ import annotations

from html import escape

from taxospec.errors import ConfigInvalid
from taxospec.plugins.labelstudio.mapping import DEFAULT_FRAME_RATE, FINDINGS_CONTROL
from taxospec.spec.model import Spec

_CLASS_TAG = {"image": "Choices", "box": "RectangleLabels", "segment": "TimelineLabels", "track": "Labels"}


def label_config(spec: Spec) -> str:
    """The Label Studio labeling config (XML) for `spec`."""
    ls = spec.labelstudio
    obj = ls.object_name or ("video" if spec.media == "video" else "image")
    key = ls.data_key or obj
    lines = ["<View>"]
    if spec.description.strip():
        lines.append(f'  <Header value="{_attr(spec.description.strip())}" size="5"/>')
    if spec.media == "video":
        fps = ls.frame_rate or DEFAULT_FRAME_RATE
        lines.append(f'  <Video name="{_attr(obj)}" value="${_attr(key)}" frameRate="{fps:g}"/>')
    else:
        lines.append(f'  <Image name="{_attr(obj)}" value="${_attr(key)}"/>')
    control = ls.class_control or "label"
    tag = _CLASS_TAG[spec.unit]
    if spec.unit == "track":
        lines.append(f'  <VideoRectangle name="box" toName="{_attr(obj)}"/>')
    extra = ' choice="single" required="true" showInline="true"' if spec.unit == "image" else ""
    lines.append(f'  <{tag} name="{_attr(control)}" toName="{_attr(obj)}"{extra}>')
    child = "Choice" if tag == "Choices" else "Label"
    for name, cls in spec.classes.items():
        value = ls.labels.get(name, name)
        hint = f' hint="{_attr(cls.description.strip())}"' if cls.description.strip() else ""
        lines.append(f'    <{child} value="{_attr(value)}"{hint}/>')
    lines.append(f"  </{tag}>")
    region_axes = []
    for axis_name, axis in spec.axes.items():
        if axis.scope == "region":
            region_axes.append(axis_name)
            continue
        lines += _axis(spec, axis_name, obj, indent="  ", per_region=False)
    if region_axes:
        lines.append('  <View visibleWhen="region-selected">')
        for axis_name in region_axes:
            lines += _axis(spec, axis_name, obj, indent="    ", per_region=True)
        lines.append("  </View>")
    if ls.findings_panel:
        lines += [
            '  <Header value="taxospec findings (written by taxospec; read only)" size="6"/>',
            f'  <TextArea name="{FINDINGS_CONTROL}" toName="{_attr(obj)}" maxSubmissions="0" rows="4"/>',
        ]
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def _axis(spec: Spec, axis_name: str, obj: str, *, indent: str, per_region: bool) -> list[str]:
    axis = spec.axes[axis_name]
    control = spec.labelstudio.axis_controls.get(axis_name, axis_name)
    header = axis.description.strip() or axis_name.replace("_", " ")
    required = ' required="true"' if axis.required else ""
    region = ' perRegion="true"' if per_region else ""
    out = [
        f'{indent}<Header value="{_attr(header)}" size="6"/>',
        f'{indent}<Choices name="{_attr(control)}" toName="{_attr(obj)}" choice="single"{required}{region} '
        'showInline="true">',
    ]
    out += [f'{indent}  <Choice value="{_attr(value)}"/>' for value in axis.values]
    out.append(f"{indent}</Choices>")
    return out


def validate_config(xml: str) -> None:
    """Raise `ConfigInvalid` when Label Studio's own validator (label-studio-sdk) refuses `xml`."""
    from label_studio_sdk.label_interface.interface import LabelInterface

    try:
        LabelInterface(xml).validate()  # type: ignore[no-untyped-call]
    except Exception as exc:  # the SDK raises its own exception types
        raise ConfigInvalid(f"Label Studio refuses the generated config: {exc}") from None


def _sentence(text: str) -> str:
    """`text` stripped, ending as a sentence does (a full stop added where it has no end mark)."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…:;)\"'" else text + "."


def _either(names: list[str] | tuple[str, ...]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def instructions(spec: Spec) -> str:
    """Labeling instructions (HTML, for the project's instructions) in plain words from the spec."""
    parts = [f"<h2>{escape(spec.name)}</h2>"]
    if spec.description.strip():
        parts.append(f"<p>{escape(spec.description.strip())}</p>")
    parts.append("<h3>Classes</h3><ul>")
    for name, cls in spec.classes.items():
        role = "what the model must find" if cls.role == "positive" else "a look-alike the model must not confuse"
        looks = [p for p in spec.positives if name in spec.classes[p].hard_negatives]
        also = f" It looks like {_either(looks)}: label it as {name}, not as {_either(looks)}." if looks else ""
        negatives = f" Do not confuse it with {_either(cls.hard_negatives)}." if cls.hard_negatives else ""
        text = escape(_sentence(cls.description) or "(no description)")
        parts.append(f"<li><b>{escape(name)}</b> ({role}): {text}{escape(also + negatives)}</li>")
    parts.append("</ul>")
    rules = []
    if spec.unit == "segment":
        temporal = spec.tightness.temporal
        upper = f" and at most {temporal.max_seconds:g} s" if temporal.max_seconds is not None else ""
        rules.append(
            "Start the segment when the action begins and end it when it ends; keep each segment at least "
            f"{temporal.min_seconds:g} s{upper} long, and leave the run-up and the aftermath out."
        )
    if spec.unit in ("box", "track"):
        spatial = spec.tightness.spatial
        rules.append(
            "Draw each box tight around the whole object, not the background around it; boxes smaller than "
            f"{spatial.min_area:.2%} of the frame are too small to use."
        )
    for axis_name, axis in spec.axes.items():
        where = "each region" if axis.scope == "region" else "each task"
        need = "always" if axis.required else "when it applies"
        rules.append(f"Tag {where} with its {axis_name} ({', '.join(axis.values)}), {need}.")
    if rules:
        parts.append("<h3>Rules</h3><ul>" + "".join(f"<li>{escape(r)}</li>" for r in rules) + "</ul>")
    return "\n".join(parts) + "\n"


def _attr(text: str) -> str:
    return escape(text, quote=True).replace("\n", " ")


def plugin_script(spec: Spec) -> str:
    """The Label Studio Enterprise plugin (JavaScript) that blocks Submit when a required axis is missing or a
    segment breaks the temporal bounds; the rules are the spec's, embedded as JSON."""
    import json
    from importlib.resources import files

    ls = spec.labelstudio
    temporal = spec.tightness.temporal
    rules = {
        "class_control": ls.class_control or "label",
        "frame_rate": ls.frame_rate or DEFAULT_FRAME_RATE,
        "min_seconds": temporal.min_seconds if spec.unit == "segment" else 0,
        "max_seconds": temporal.max_seconds if spec.unit == "segment" else None,
        "axes": [
            {
                "control": ls.axis_controls.get(name, name),
                "header": axis.description.strip() or name.replace("_", " "),
                "scope": axis.scope,
                "applies_to": [ls.labels.get(c, c) for c in axis.applies_to] if axis.applies_to is not None else None,
            }
            for name, axis in spec.axes.items()
            if axis.required
        ],
    }
    template = (files("taxospec.plugins.labelstudio") / "assets" / "plugin.js").read_text(encoding="utf-8")
    return template.replace("/*RULES*/ {}", json.dumps(rules, indent=2, ensure_ascii=False).replace("</", "<\\/"))
