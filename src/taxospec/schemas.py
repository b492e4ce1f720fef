"""The JSON Schemas taxospec publishes (the spec language, the report, the to-do list), generated from the
pydantic models; `schemas/` holds them, and a test fails when they drift."""

from __future__ import annotations

import json
from typing import Any

from taxospec.checks.params import fixed_fields, params_model
from taxospec.plugins.registry import checks
from taxospec.report import Report
from taxospec.spec.model import Spec
from taxospec.todo import TodoList

SCHEMA_ID = "https://taxospec.dev/schemas/taxospec-1.schema.json"
"""The schema's identifier (a name, not a place to fetch it from: the file ships in `schemas/`)."""


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a taxospec v1 spec, with a description on every field."""
    schema = with_check_params(Spec.model_json_schema(mode="validation"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of the report `taxospec check --format json` writes."""
    schema = Report.model_json_schema(mode="serialization", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://taxospec.dev/schemas/report-1.schema.json",
        **schema,
    }


def todo_json_schema() -> dict[str, Any]:
    """The JSON Schema of the to-do list `taxospec todo --format json` writes."""
    schema = TodoList.model_json_schema(mode="serialization", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://taxospec.dev/schemas/todo-1.schema.json",
        **schema,
    }


SCHEMAS = {"spec": spec_json_schema, "report": report_json_schema, "todo": todo_json_schema}
"""Every JSON Schema taxospec publishes, by name; `schemas/NAME.schema.json` holds each (spec: taxospec)."""


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as the stable JSON text committed in `schemas/` (two-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def with_check_params(schema: dict[str, Any], spec_defaults: Any = None) -> dict[str, Any]:
    """`schema` with a `checks.<code>` entry for every registered check whose parameters have a model:
    its `params` described by that model (without the fields that cannot be set per check), so that an
    editor completes and validates them."""
    bare = spec_defaults or Spec.model_validate({"taxospec": 1, "name": "defaults", "classes": {"a": {}}})
    defs = schema.setdefault("$defs", {})
    properties: dict[str, Any] = {}
    for item in checks():
        model = params_model(item, bare)
        if model is None:
            continue
        name = f"{model.__name__}Params" if not model.__name__.endswith("Params") else model.__name__
        if name not in defs:
            defs.update(_params_schema(model, name, fixed_fields(model)))
        properties[item.name] = {
            "allOf": [{"$ref": "#/$defs/CheckSetting"}],
            "properties": {"params": {"$ref": f"#/$defs/{name}", "description": f"The parameters of `{item.name}`."}},
            "description": item.summary,
        }
    checks_schema = schema["properties"]["checks"]
    checks_schema["properties"] = dict(sorted(properties.items()))
    return schema


def _params_schema(model: Any, name: str, fixed: frozenset[str]) -> dict[str, Any]:
    own = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    nested = own.pop("$defs", {})
    own["properties"] = {key: value for key, value in own.get("properties", {}).items() if key not in fixed}
    own.pop("required", None)
    own["title"] = name
    own["description"] = f"The parameters of the checks that read {model.__name__}; every one optional (its default)."
    return {**nested, name: own}
