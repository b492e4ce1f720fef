"""Embedding checks that read text: a class's prompts (do the original query and its paraphrases find the
same examples, and every example?), zero-shot axis values (does the picture agree with its annotation?),
and scenarios no example looks like (coverage gaps in embedding space)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from taxospec.checks.base import CheckContext, Outcome, SkipCheck, check
from taxospec.checks.embedding_view import (
    EmbeddingView,
    embedding_params,
    embeddings_off,
    scored,
    view_of,
)
from taxospec.embeddings.space import FloatMatrix
from taxospec.findings import CELL_JOINER, Flag, Severity
from taxospec.scores.chunked import products
from taxospec.spec.model import EmbeddingSpec, Spec


def _prompt_classes(ctx: CheckContext, view: EmbeddingView) -> list[tuple[int, tuple[str, ...]]]:
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    return [
        (ctx.class_names.index(name), cls.prompts)
        for name, cls in ctx.spec.classes.items()
        if cls.prompts and int((view.labels == ctx.class_names.index(name)).sum()) >= 5
    ]


@check("prompt-incoherent", "embeddings", Severity.WARNING, params=embedding_params, skip=embeddings_off)
def prompt_incoherent(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """The original prompt of a class and a paraphrase retrieve different examples of it (overlap of their
    top examples below `min_prompt_overlap`).

    A visually coherent class comes back the same whichever way it is asked for; if not, the class mixes
    looks that the text does not separate."""
    view = view_of(ctx)
    issues = []
    evaluated = 0
    for c, prompts in _prompt_classes(ctx, view):
        if len(prompts) < 2:
            continue
        members = np.flatnonzero(view.labels == c)
        top = max(5, len(members) // 2)
        text = view.space.texts(list(prompts))
        sims = products(view.space.vectors[members], text.T)
        sets = [set(np.argsort(-sims[:, p])[:top].tolist()) for p in range(len(prompts))]
        for p in range(1, len(prompts)):
            evaluated += 1
            overlap = len(sets[0] & sets[p]) / len(sets[0] | sets[p])
            if overlap < params.min_prompt_overlap:
                issues.append(
                    scored(
                        ctx.flag(
                            f"class {ctx.class_names[c]!r}: {prompts[0]!r} and {prompts[p]!r} retrieve different "
                            f"examples (overlap {overlap:.0%} of their top {top})",
                            class_name=ctx.class_names[c],
                            value=prompts[p],
                        ),
                        overlap,
                    )
                )
    return evaluated, issues


@check("positive-unreached", "embeddings", Severity.INFO, skip=embeddings_off)
def positive_unreached(ctx: CheckContext, params: None) -> Outcome:
    """A positive example that none of its class's prompts retrieves (not among the top 2 × class-size
    results of any prompt over the whole dataset).

    Either the example is atypical for its class, or the prompts miss a look the class really has."""
    view = view_of(ctx)
    issues = []
    evaluated = 0
    positives = {ctx.class_names.index(p) for p in ctx.spec.positives}
    for c, prompts in _prompt_classes(ctx, view):
        if c not in positives:
            continue
        members = np.flatnonzero(view.labels == c)
        reach = min(len(view.rows), 2 * len(members))
        sims = products(view.space.vectors, view.space.texts(list(prompts)).T)
        reached: set[int] = set()
        for p in range(len(prompts)):
            reached |= set(np.argsort(-sims[:, p])[:reach].tolist())
        evaluated += len(members)
        for v in members:
            if v not in reached:
                issues.append(
                    scored(
                        view.flag(
                            f"none of the {len(prompts)} prompt(s) of {ctx.class_names[c]!r} retrieves this example",
                            v,
                        ),
                        float(sims[v].max()),
                    )
                )
    return evaluated, issues


@check("axis-value-disputed", "embeddings", Severity.WARNING, params=embedding_params, skip=embeddings_off)
def axis_value_disputed(ctx: CheckContext, params: EmbeddingSpec) -> Outcome:
    """An annotated axis value that a confident zero-shot guess from the axis's value prompts contradicts.

    Catches "night" tagged as "day" and crowds tagged as "none" before they skew the coverage counts."""
    view = view_of(ctx)
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    issues = []
    evaluated = 0
    for a, axis_name in enumerate(ctx.spec.axes):
        prompted = _value_prompts(ctx, view, axis_name)
        if prompted is None:
            continue
        values, text = prompted
        axis = ctx.spec.axes[axis_name]
        text = text / np.linalg.norm(text, axis=1, keepdims=True)
        logits = view.space.logit_scale * products(view.space.vectors, text.T)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        annotated = ctx.columns.axes[a][view.rows]
        for v in np.flatnonzero(annotated >= 0):
            value = axis.values[annotated[v]]
            if value not in values:
                continue
            evaluated += 1
            guess = int(np.argmax(probs[v]))
            if values[guess] != value and probs[v][guess] >= params.zero_shot_confidence:
                issues.append(
                    scored(
                        view.flag(
                            f"annotated {axis_name}={value}, but it looks like {axis_name}={values[guess]} "
                            f"(zero-shot probability {probs[v][guess]:.2f})",
                            v,
                            axis=axis_name,
                            value=values[guess],
                        ),
                        float(probs[v][guess]),
                    )
                )
    return evaluated, issues


@check("scenario-gap", "embeddings", Severity.WARNING, skip=embeddings_off)
def scenario_gap(ctx: CheckContext, params: None) -> Outcome:
    """An axis value, or a cell of a required combination (night × crowd), that no example of a class looks
    like (zero-shot from the values' prompts), whatever the annotations say: a scenario the data does not reach.

    Cross-checks the coverage counts with what the pictures show; collect the scenario if it is missing. A
    combination cell needs prompts for each of its values, and is reported only when each value is reached
    on its own (night pictures and crowd pictures exist, night crowds do not)."""
    view = view_of(ctx)
    if view.space.encode_text is None:
        raise SkipCheck("the embeddings came without a text encoder (precomputed)")
    guesses = _zero_shot_values(ctx, view)
    issues = []
    evaluated = 0
    for name in ctx.spec.classes:
        members = view.labels == ctx.class_names.index(name)
        if int(members.sum()) < MIN_EXAMPLES_FOR_GAPS:
            continue
        wanted = {
            axis: [v for v in values if v in ctx.spec.axis_values_of(name, axis)]
            for axis, (values, _) in guesses.items()
            if axis in ctx.spec.axes_of(name)
        }
        looks = {axis: guesses[axis][1][members].tolist() for axis in wanted}
        for axis, values in wanted.items():
            evaluated += len(values)
            seen = set(looks[axis])
            issues += [_gap(ctx, name, (axis,), (value,), len(looks[axis])) for value in values if value not in seen]
        reported = set()
        for combo in ctx.spec.combinations_of(name):
            if combo.axes in reported or not all(axis in wanted for axis in combo.axes):
                continue
            reported.add(combo.axes)
            seen_cells = set(zip(*(looks[axis] for axis in combo.axes), strict=True))
            reached = [[v for v in wanted[axis] if v in set(looks[axis])] for axis in combo.axes]
            for cell in itertools.product(*reached):
                evaluated += 1
                if cell not in seen_cells:
                    issues.append(_gap(ctx, name, combo.axes, cell, len(looks[combo.axes[0]])))
    return evaluated, issues


MIN_EXAMPLES_FOR_GAPS = 5
"""Examples a class needs before the absence of a scenario among them means anything."""


def _zero_shot_values(ctx: CheckContext, view: EmbeddingView) -> dict[str, tuple[list[str], npt.NDArray[np.object_]]]:
    """Per axis with prompts for at least two values: those values, and each vector's zero-shot value (the
    value whose mean prompt vector is most similar)."""
    guesses = {}
    for axis_name in ctx.spec.axes:
        prompted = _value_prompts(ctx, view, axis_name)
        if prompted is not None:
            values, text = prompted
            best = np.argmax(products(view.space.vectors, text.T), axis=1)
            guesses[axis_name] = (values, np.asarray(values, dtype=object)[best])
    return guesses


def _value_prompts(ctx: CheckContext, view: EmbeddingView, axis_name: str) -> tuple[list[str], FloatMatrix] | None:
    """`value_prompts` with the run's spec and text encoder."""
    return value_prompts(ctx.spec, view.space.texts, axis_name)


def value_prompts(
    spec: Spec, texts: Callable[[list[str]], FloatMatrix], axis_name: str
) -> tuple[list[str], FloatMatrix] | None:
    """The values of an axis that have prompts, and each one's mean prompt vector (unit prompt vectors from
    `texts`); None with fewer than two (nothing to choose between)."""
    axis = spec.axes[axis_name]
    values = [v for v in axis.values if axis.prompts.get(v)]
    if len(values) < 2:
        return None
    return values, np.stack([texts(list(axis.prompts[v])).mean(axis=0) for v in values])


def _gap(ctx: CheckContext, name: str, axes: tuple[str, ...], cell: tuple[str, ...], examples: int) -> Flag:
    where = ", ".join(f"{axis}={value}" for axis, value in zip(axes, cell, strict=True))
    return ctx.flag(
        f"no {name!r} example looks like {where} (zero-shot over {examples} examples): collect that scenario",
        class_name=name,
        axis=CELL_JOINER.join(axes),
        value=CELL_JOINER.join(cell),
    )
