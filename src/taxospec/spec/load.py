"""Load a spec file: YAML with locations, validated into a frozen `Spec`, every problem reported at once."""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from taxospec.errors import SourceProblem, SpecError
from taxospec.inputs import read_input
from taxospec.spec.model import SPEC_VERSION, Spec
from taxospec.spec.source import PathKey, SpecSource, parse_yaml

MAX_SPEC_BYTES = 5 * 1024 * 1024


def load_spec(path: str | Path) -> Spec:
    """Load and validate the spec at `path`.

    Raises `SpecError` listing every problem (YAML syntax, duplicate keys, unknown keys with a suggestion,
    wrong types, bad values) as `path:line:col: message`. The meaning of the spec (hard negatives that name
    no class, quotas that cannot add up, ...) is checked separately by `taxospec.lint_spec`.
    """
    return load_spec_text(read_spec_text(path), str(path))


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file, or a `SpecError` saying why it cannot be read."""
    raw = read_input(path, "a spec file", lambda reason: SpecError.single(path, reason), max_bytes=MAX_SPEC_BYTES)
    if b"\x00" in raw:
        raise SpecError.single(path, "is a binary file, not a YAML spec")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError.single(path, "is not UTF-8 text", line, 1) from None


def load_spec_text(text: str, path: str = "<spec>") -> Spec:
    """Load and validate a spec from YAML text; `path` names it in messages."""
    data, source = parse_yaml(text, path)
    if not isinstance(data, dict):
        raise SpecError.single(path, "a spec is a YAML mapping that starts with `taxospec: 1`")
    if "taxospec" in data and data["taxospec"] != SPEC_VERSION:
        line, column = source.locate(("taxospec",))
        raise SpecError.single(
            path,
            f"unsupported spec version {data['taxospec']!r}: this taxospec reads version {SPEC_VERSION}",
            line,
            column,
        )
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem(err, data, source) for err in exc.errors()]) from None
    spec._source = source
    return spec


def _problem(err: ErrorDetails, data: Any, source: SpecSource) -> SourceProblem:
    path, is_key = _data_path(err["loc"], data)
    kind = err["type"]
    where = _dotted(path)
    if kind == "extra_forbidden" and path:
        parent, name = path[:-1], str(path[-1])
        allowed = _field_names(parent)
        message = f"unknown key {name!r}" + (f" in {_dotted(parent)}" if parent else "")
        message += _did_you_mean(name, allowed)
        if allowed and not _did_you_mean(name, allowed):
            message += f" (allowed: {', '.join(sorted(allowed))})"
        line, column = source.locate(path, key=True)
    elif kind == "missing":
        name = str(err["loc"][-1])
        parent = path[:-1] if path and path[-1] == name else path
        message = f"missing required key {name!r}" + (f" in {_dotted(parent)}" if parent else "")
        line, column = source.locate(parent, key=True)
    else:
        message = f"{where}: " if where else ""
        message += _explain(err)
        line, column = source.locate(path, key=is_key)
    return SourceProblem(source.path, line, column, message)


def _data_path(loc: tuple[int | str, ...], data: Any) -> tuple[PathKey, bool]:
    """The part of a pydantic error location that exists in the data (drops union tags like `int`)."""
    path: list[str | int] = []
    node = data
    is_key = False
    for index, part in enumerate(loc):
        if part == "[key]" and index == len(loc) - 1 and index > 0:
            is_key = True  # pydantic's marker for an invalid mapping key (a real "[key]" key is never last here)
            break
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and loc[-1] == part:
            path.append(part)  # a missing or unknown key: the last part names it
            break
        # anything else is a union tag or a validator name, not a place in the data
    return tuple(path), is_key


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _dotted(path: PathKey) -> str:
    """A path as a person reads it: `classes.timeout.prompts[1]`, `classes['look alike']`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _did_you_mean(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_names(path: PathKey) -> list[str]:
    """The keys allowed in the mapping at `path`, found by walking the model's type annotations."""
    annotation: Any = Spec
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _as_model(annotation)
    return list(model.model_fields) if model is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    model = _as_model(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field is not None else None
    for option in _options(annotation):
        origin = typing.get_origin(option)
        args = typing.get_args(option)
        if origin is dict and len(args) == 2:
            return args[1]
        if origin is tuple and args:
            return args[0]
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _options(annotation: Any) -> list[Any]:
    """The members of a union (or the annotation itself), with `Annotated` metadata stripped."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [o for a in typing.get_args(annotation) for o in _options(a)]
    return [annotation]


_NAME_RULES = {
    r"^\S(.*\S)?$": "must not be empty or start or end with spaces",
    r"^[A-Za-z][A-Za-z0-9_-]*$": "must start with a letter and hold only letters, digits, '_' and '-'",
    r"\S": "must not be blank",
}

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "tuple_type": "a list",
    "list_type": "a list",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, tuple):
        return "a list"
    return type(value).__name__


def _explain(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {_describe(value)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return f"{_describe(value)} is not one of {expected}{hint}"
    if kind == "string_pattern_mismatch":
        rule = _NAME_RULES.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return f"{value!r} {rule}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), has {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{_describe(value)} is out of range: {err['msg'].replace('Input should be ', 'must be ')}"
    if kind in ("finite_number",):
        return f"{_describe(value)} must be a finite number"
    return err["msg"]
