from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from taxospec import spec_json_schema
from taxospec.schemas import SCHEMAS, schema_text

from ..conftest import EXAMPLES, FIXTURES, ROOT

COMMITTED = ROOT / "schemas" / "taxospec.schema.json"


@pytest.mark.parametrize(("name", "file"), [("spec", "taxospec"), ("report", "report"), ("todo", "todo")])
def test_committed_schemas_match_the_models(name: str, file: str) -> None:
    committed = (ROOT / "schemas" / f"{file}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(SCHEMAS[name]()), f"schemas/{file}.schema.json is out of date: run `make schemas`"


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(spec_json_schema())


def _properties(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            found.append((f"{where}.{name}", sub))
        for key, value in node.items():
            found += _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _properties(value, f"{where}[{i}]")
    return found


def test_every_field_is_described() -> None:
    undescribed = [where for where, sub in _properties(spec_json_schema()) if not sub.get("description")]
    assert undescribed == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/spec.yaml")), ids=lambda p: p.parent.name)
def test_examples_validate_against_the_schema(path: Path) -> None:
    data = YAML(typ="safe").load(path.read_text())
    jsonschema.validate(data, spec_json_schema())


@pytest.mark.parametrize("name", ["03-unknown-top-key", "05-wrong-type", "06-bad-enum-value", "13-share-out-of-range"])
def test_schema_rejects_what_the_loader_rejects(name: str) -> None:
    data = YAML(typ="safe").load((FIXTURES / "specs" / "broken" / f"{name}.yaml").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, spec_json_schema())


def test_schema_text_is_stable_json() -> None:
    text = schema_text(spec_json_schema())
    assert text.endswith("}\n") and json.loads(text) == spec_json_schema()
