"""Labeling configs generated from specs: Label Studio's validator accepts them, and the export reader
reads what they produce (the conventions match)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from taxospec import load_spec, load_spec_text, read_export
from taxospec.plugins.labelstudio.config import parse_label_config
from taxospec.plugins.labelstudio.generate import instructions, label_config, validate_config
from taxospec.plugins.labelstudio.mapping import resolve_mapping
from taxospec.plugins.registry import spec_templates

from ..conftest import EXAMPLES

SPECS = sorted(EXAMPLES.glob("*/spec*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generated_config_validates_and_maps_back(path: Path) -> None:
    spec = load_spec(path)
    xml = label_config(spec)
    validate_config(xml)
    mapping = resolve_mapping(spec, parse_label_config(xml))
    assert mapping.mismatches == []
    expected = "box" if spec.unit == "track" else (spec.labelstudio.class_control or "label")
    assert mapping.class_controls == frozenset({expected})


@pytest.mark.parametrize("template", spec_templates().names())
def test_templates_give_valid_configs(tmp_path: Path, template: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec_templates().get(template).render("x.json"))
    validate_config(label_config(load_spec(path)))


def test_results_of_the_generated_config_are_read(tmp_path: Path) -> None:
    """What an annotator can produce with the football config (a segment with its per-region angle and
    distance, task-level lighting and bystanders) is read with no unknown control and every axis value."""
    spec = load_spec(EXAMPLES / "football-signals" / "spec.yaml")
    config = parse_label_config(label_config(spec))
    ranges = {"ranges": [{"start": 10, "end": 40}]}
    result = [
        {
            "id": "s1",
            "from_name": "label",
            "to_name": "video",
            "type": "timelinelabels",
            "value": {**ranges, "timelinelabels": ["timeout"]},
        },
        {
            "id": "s1",
            "from_name": "angle",
            "to_name": "video",
            "type": "choices",
            "value": {**ranges, "choices": ["side"]},
        },
        {
            "id": "s1",
            "from_name": "distance",
            "to_name": "video",
            "type": "choices",
            "value": {**ranges, "choices": ["far"]},
        },
        {"from_name": "lighting", "to_name": "video", "type": "choices", "value": {"choices": ["night"]}},
        {"from_name": "bystanders", "to_name": "video", "type": "choices", "value": {"choices": ["crowd"]}},
        # the findings panel, copied into the annotation from the taxospec prediction: not the annotator's
        {
            "from_name": "taxospec",
            "to_name": "video",
            "type": "textarea",
            "value": {"text": ["[error] segment-too-long: …"]},
            "readonly": True,
        },
    ]
    export = tmp_path / "export.json"
    export.write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "data": {"video": "v.mp4", "split": "train", "match": "m1"},
                    "annotations": [{"id": 1, "result": result}],
                }
            ]
        )
    )
    dataset = read_export(spec, export, config)
    assert (dataset.issues, dataset.written, dataset.unknown_fields) == ([], [], {})
    without_config = read_export(spec, export)  # the generator's conventions
    assert (without_config.issues, without_config.written, without_config.unknown_fields) == ([], [], {})
    values = {axis: spec.axes[axis].values[int(dataset.samples.axes[i][0])] for i, axis in enumerate(spec.axes)}
    assert values == {"lighting": "night", "angle": "side", "distance": "far", "bystanders": "crowd"}
    assert dataset.samples.end_s[0] == pytest.approx(40 / 25)


def test_instructions_say_the_rules_in_words() -> None:
    text = instructions(load_spec(EXAMPLES / "football-signals" / "spec.yaml"))
    assert "<b>clapping</b> (a look-alike the model must not confuse)" in text
    assert "It looks like timeout: label it as clapping, not as timeout." in text
    assert " Do not confuse" not in text.replace(". Do not confuse", ""), "every description ends as a sentence"
    assert "keep each segment at least 0.3 s and at most 3 s long" in text
    assert "Tag each region with its angle (front, side, behind), always." in text


def test_instructions_end_descriptions_as_sentences_and_name_every_look_alike() -> None:
    spec = load_spec_text(
        "taxospec: 1\nname: falls\nclasses:\n"
        "  falling: {description: a person falling to the ground, hard_negatives: [sitting, lying]}\n"
        "  sitting: {role: negative, description: 'sits down!'}\n"
        "  lying: {role: negative}\n"
    )
    text = instructions(spec)
    assert "a person falling to the ground. Do not confuse it with sitting or lying.</li>" in text
    assert "sits down! It looks like falling: label it as sitting, not as falling.</li>" in text
    assert "Rules" not in text, "no rules, no empty list"


def test_config_command(run_cli: Callable[..., Result], tmp_path: Path) -> None:
    spec = EXAMPLES / "product-defects" / "spec.yaml"
    result = run_cli("config", spec, "-o", tmp_path / "p.xml", "--instructions", tmp_path / "i.html")
    assert result.exit_code == 0
    assert '<RectangleLabels name="defect" toName="image">' in (tmp_path / "p.xml").read_text()
    assert "<h3>Rules</h3>" in (tmp_path / "i.html").read_text()
    assert run_cli("config", spec).stdout.startswith("<View>")


def test_the_findings_panel_is_a_read_only_textarea_and_can_be_left_out(tmp_path: Path) -> None:
    spec_path = EXAMPLES / "product-defects" / "spec.yaml"
    panel = parse_label_config(label_config(load_spec(spec_path))).controls["taxospec"]
    assert (panel.tag, panel.to_name) == ("textarea", ("image",))
    assert '<TextArea name="taxospec" toName="image" maxSubmissions="0"' in label_config(load_spec(spec_path))
    off = tmp_path / "spec.yaml"
    off.write_text(spec_path.read_text().replace("\nlabelstudio:\n", "\nlabelstudio:\n  findings_panel: false\n"))
    xml = label_config(load_spec(off))
    validate_config(xml)
    assert "taxospec" not in parse_label_config(xml).controls and "TextArea" not in xml
