"""The JSON Schema of the spec language, generated from the pydantic models."""

from __future__ import annotations

import json
from typing import Any

from taxospec.spec.model import Spec

SCHEMA_ID = "https://taxospec.dev/schemas/taxospec-1.schema.json"
"""The schema's identifier (a name, not a place to fetch it from: the file ships in `schemas/`)."""


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a taxospec v1 spec, with a description on every field."""
    schema = Spec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of the report `taxospec check --format json` writes."""
    from taxospec.report import Report

    schema = Report.model_json_schema(mode="serialization", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://taxospec.dev/schemas/report-1.schema.json",
        **schema,
    }


def todo_json_schema() -> dict[str, Any]:
    """The JSON Schema of the to-do list `taxospec todo --format json` writes."""
    from taxospec.todo import TodoList

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
