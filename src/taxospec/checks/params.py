"""A check's effective parameters: its defaults (a spec section, or its own model) with the overrides of the
spec's `checks.<code>.params`, validated by the check's own pydantic model (the pandera pattern: a check is
a function plus named parameters, and those parameters are its YAML form)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from taxospec.checks.base import Check
from taxospec.errors import ParamsError
from taxospec.spec.model import Spec


def fixed_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields of a params model that cannot be set per check: those the embedding stage shares, and
    those nothing reads any more."""
    stage: frozenset[str] = getattr(model, "STAGE_FIELDS", frozenset())
    unused: frozenset[str] = getattr(model, "UNUSED_FIELDS", frozenset())
    return stage | unused


def params_model(check: Check[Any], spec: Spec) -> type[BaseModel] | None:
    """The pydantic model of `check`'s parameters (None: it takes none)."""
    base = check.params(spec)
    return type(base) if isinstance(base, BaseModel) else None


def params_of(check: Check[Any], spec: Spec) -> Any:
    """`check`'s parameters for `spec`: its defaults, with `spec.checks[code].params` applied (a
    `ParamsError` when they do not validate)."""
    base = check.params(spec)
    setting = spec.checks.get(check.name)
    overrides = dict(setting.params) if setting is not None else {}
    if not overrides:
        return base
    if not isinstance(base, BaseModel):
        raise ParamsError(check.name, [((), f"{check.name} takes no parameters")])
    shared = fixed_fields(type(base))
    refused: list[tuple[tuple[str | int, ...], str]] = [
        ((key,), "cannot be set per check: it is shared by every embedding check (or read by none)")
        for key in overrides
        if key in shared
    ]
    if refused:
        raise ParamsError(check.name, refused)
    try:
        return type(base).model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ParamsError(check.name, [(tuple(error["loc"]), error["msg"]) for error in exc.errors()]) from None


def describe_params(check: Check[Any], spec: Spec | None = None) -> str:
    """`check`'s parameters as `name=value` pairs (its defaults, or its values for `spec`), for listings;
    fields the embedding stage shares are left out (they cannot be set per check)."""
    base = params_of(check, spec if spec is not None else _BARE_SPEC())
    if not isinstance(base, BaseModel):
        return ""
    shared = fixed_fields(type(base))
    values = base.model_dump(mode="json")
    return "  ".join(f"{name}={_shown(values[name])}" for name in type(base).model_fields if name not in shared)


def _shown(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _BARE_SPEC() -> Spec:
    return Spec.model_validate({"taxospec": 1, "name": "defaults", "classes": {"a": {}}})
