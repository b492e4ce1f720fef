"""The building blocks of the spec's models: the frozen, strict base model and the constrained names and
numbers every section uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ClassName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$"),
]
AxisName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$"),
]
AxisValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$"),
]
Prompt = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0.0)]


class SpecModel(BaseModel):
    """Base of every spec model: frozen, strict types, unknown keys rejected."""

    model_config = ConfigDict(
        strict=True, frozen=True, extra="forbid", allow_inf_nan=False, use_attribute_docstrings=True
    )
