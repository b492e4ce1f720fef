"""What pictures show, by the spec's own words: each picture's zero-shot value on every axis with value
prompts, and its zero-shot class from the class prompts; a group of pictures described as "mostly night
(80 %), far (70 %)"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taxospec.checks.embedding_text import value_prompts
from taxospec.scores.chunked import Matrix, products
from taxospec.spec.model import Spec

Texts = Callable[[list[str]], npt.NDArray[np.float32]]
"""Unit vectors of prompts (`EmbeddingSpace.texts`)."""
MOSTLY = 0.5
"""Share of a group's pictures one value must reach to describe the group."""


@dataclass(frozen=True)
class ZeroShot:
    """Each picture's zero-shot value per prompted axis, and its zero-shot class where classes have
    prompts."""

    values: dict[str, list[str]]
    """Per axis with prompts for at least two values: each picture's most similar value."""
    classes: list[str] | None
    """Each picture's most similar class (None when fewer than two classes have prompts)."""

    def shares(self, axis: str, rows: npt.NDArray[np.int64] | None = None) -> dict[str, float]:
        """The share of each value of `axis` among pictures `rows` (default all), most common first."""
        guessed = self.values[axis] if rows is None else [self.values[axis][int(r)] for r in rows]
        if not guessed:
            return {}
        return {value: n / len(guessed) for value, n in Counter(guessed).most_common()}

    def describe(self, rows: npt.NDArray[np.int64]) -> dict[str, tuple[str, float]]:
        """Per axis, the value most of `rows` show and its share, where one reaches `MOSTLY`."""
        out = {}
        for axis in self.values:
            shares = self.shares(axis, rows)
            value, share = next(iter(shares.items()), ("", 0.0))
            if share >= MOSTLY:
                out[axis] = (value, share)
        return out

    def likely_class(self, rows: npt.NDArray[np.int64]) -> str | None:
        """The class most of `rows` look like, by the class prompts."""
        if self.classes is None or not len(rows):
            return None
        return Counter(self.classes[int(r)] for r in rows).most_common(1)[0][0]


def zero_shot(spec: Spec, texts: Texts | None, vectors: Matrix) -> ZeroShot:
    """The zero-shot values and classes of `vectors` (unit image vectors, float32 or a large space's
    float16, read a chunk of rows at a time) by `spec`'s prompts."""
    if texts is None or not len(vectors):
        return ZeroShot({}, None)
    values = {}
    for name in spec.axes:
        found = value_prompts(spec, texts, name)  # as the zero-shot checks of the labeled data use them
        if found is not None:
            prompted, text = found
            values[name] = [prompted[int(i)] for i in np.argmax(products(vectors, text.T), axis=1)]
    named = [c for c, cls in spec.classes.items() if cls.prompts]
    classes = None
    if len(named) >= 2:
        text = np.stack([texts(list(spec.classes[c].prompts)).mean(axis=0) for c in named])
        classes = [named[int(i)] for i in np.argmax(products(vectors, text.T), axis=1)]
    return ZeroShot(values, classes)


def in_words(described: dict[str, tuple[str, float]]) -> str:
    """`{"lighting": ("night", .8)}` as "mostly night (80 %)"; "no one condition" when empty."""
    if not described:
        return "no one condition stands out"
    return "mostly " + ", ".join(f"{value} ({share:.0%})" for value, share in described.values())
