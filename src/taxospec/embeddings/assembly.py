"""From parts to the space's matrices: what a run takes straight from the cache (as rows of the cache,
no Python object per vector), what it encodes (per sample, per slot), and how both become one matrix of
unit vectors, the frame vectors of segments and the whole-image vectors of boxes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.cache import EmbeddingCache, item_key
from taxospec.embeddings.plan import CONTEXT_SLOT, WHOLE_IMAGE, PlanEntry
from taxospec.embeddings.space import FloatMatrix, normalize
from taxospec.scores.chunked import nonzero_rows, row_chunks, stored_dtype
from taxospec.scores.mapped_rows import empty

Parts = dict[int, list[tuple[int, Any]]]
"""Per sample, its encoded vectors as (slot, vector)."""


@dataclass
class CachedParts:
    """What a run takes from the cache: per vector its sample, slot and cache row; the content hash of
    each sample's media; and the tasks whose media must be read (changed, new, or not all cached)."""

    samples: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    todo: list[int] = field(default_factory=list)


def take_cached(
    tasks: Sequence[int],
    digests: Sequence[str | None],
    by_task: dict[int, list[int]],
    regions: set[int],
    plan_of: Callable[[int], list[PlanEntry]],
    cache: EmbeddingCache,
) -> CachedParts:
    """The cache rows of every task whose media is unchanged (`digests`, from the content memo) and whose
    every planned vector is cached; the other tasks go to `todo`. Tasks outside `regions` embed only their
    whole image: one lookup serves all their samples, with no plan made."""
    taken = CachedParts()
    samples, slots, rows, hashes, todo = taken.samples, taken.slots, taken.rows, taken.hashes, taken.todo
    row_of = cache.row
    for task, digest in zip(tasks, digests, strict=True):
        if digest is None:
            todo.append(task)
            continue
        if task not in regions:
            row = row_of(item_key(digest, WHOLE_IMAGE))
            if row is None:
                todo.append(task)
                continue
            for sample in by_task[task]:
                samples.append(sample)
                slots.append(0)
                rows.append(row)
                hashes[sample] = digest
            continue
        entries = plan_of(task)
        found = [row_of(item_key(digest, what)) for _, _, what in entries]
        if None in found:
            todo.append(task)
            continue
        for (sample, slot, _), row in zip(entries, found, strict=True):
            samples.append(sample)
            slots.append(slot)
            rows.append(row)  # type: ignore[arg-type]
        for sample in by_task[task]:
            hashes[sample] = digest
    return taken


@dataclass
class Assembled:
    """The space's arrays: which samples have a vector, their unit vectors, and the per-sample extras."""

    samples: npt.NDArray[np.int64]
    vectors: FloatMatrix
    frame_vectors: dict[int, FloatMatrix]
    context_vectors: dict[int, npt.NDArray[np.float32]]


def assemble(
    task_of: npt.NDArray[np.int64], encoded: Parts, taken: CachedParts, cache: EmbeddingCache | None
) -> Assembled:
    """One unit vector per sample that has any: its own vector, or the mean of its frames'. Samples with
    one cached vector (the bulk of a re-run) go to the matrix in one gather; the rest join `encoded`.
    A box's context is its task's whole-image vector. Everything leaves as float32, but the unit vectors of
    a space above `HALF_ABOVE` rows, which leave as float16 (the cache's precision: nothing lost)."""
    parts: Parts = {s: list(p) for s, p in encoded.items()}
    task_context: dict[int, Any] = {}
    lone_samples = np.zeros(0, dtype=np.int64)
    lone_rows = np.zeros(0, dtype=np.intp)
    context_rows: dict[int, int] = {}
    if taken.rows and cache is not None:
        samples = np.asarray(taken.samples, dtype=np.int64)
        slots = np.asarray(taken.slots, dtype=np.int64)
        rows = np.asarray(taken.rows, dtype=np.intp)
        is_context = slots == CONTEXT_SLOT
        context_rows = dict(zip(task_of[samples[is_context]].tolist(), rows[is_context].tolist(), strict=True))
        samples, slots, rows = samples[~is_context], slots[~is_context], rows[~is_context]
        unique, first, counts = np.unique(samples, return_index=True, return_counts=True)
        lone = counts == 1
        lone_samples, lone_rows = unique[lone], rows[first[lone]]
        several = np.isin(samples, unique[~lone])
        if several.any():  # frames of segments: through the general path
            for sample, slot, vector in zip(
                samples[several].tolist(), slots[several].tolist(), cache.gather(rows[several]), strict=True
            ):
                parts.setdefault(sample, []).append((slot, vector))
    for sample, sample_parts in parts.items():
        for slot, vector in sample_parts:
            if slot == CONTEXT_SLOT:
                task_context[int(task_of[sample])] = vector
        parts[sample] = sorted((p for p in sample_parts if p[0] != CONTEXT_SLOT), key=lambda p: p[0])
    general = sorted(s for s, p in parts.items() if p)
    every = np.union1d(lone_samples, np.asarray(general, dtype=np.int64)).astype(np.int64)
    if not len(every):
        return Assembled(every, np.zeros((0, 1), np.float32), {}, {})
    cached = cache if len(lone_rows) else None
    width = cached.gather(lone_rows[:1]).shape[1] if cached is not None else len(parts[general[0]][0][1])
    # float16 for a large space, and memory-mapped (`mapped_rows.MAP_ABOVE`); filled a chunk at a time
    matrix = empty((len(every), width), stored_dtype(len(every)))
    if cached is not None:
        at_lone = np.searchsorted(every, lone_samples)
        for piece in row_chunks(len(lone_rows)):
            matrix[at_lone[piece]] = cached.gather(lone_rows[piece])
    frame_vectors: dict[int, FloatMatrix] = {}
    at = np.searchsorted(every, np.asarray(general, dtype=np.int64)).tolist()
    for sample, position in zip(general, at, strict=True):
        if len(parts[sample]) > 1:
            frames = np.stack([v for _, v in parts[sample]]).astype(np.float32)
            frame_vectors[sample] = frames
            matrix[position] = frames.mean(axis=0)
        else:
            matrix[position] = parts[sample][0][1]
    context_of = _contexts(every, task_of, task_context, context_rows, cache)
    return Assembled(every, normalize(matrix, out=matrix), frame_vectors, context_of)


def without_dead_vectors(assembled: Assembled) -> tuple[Assembled, int]:
    """`assembled` without the samples whose vector has no direction — a model that gives NaN or infinity
    (a damaged checkpoint, an fp16 overflow) leaves zero rows once normalized, which would sit at the same
    distance from everything — and how many were dropped. Context vectors that are not finite go too."""
    alive = nonzero_rows(assembled.vectors)
    contexts = {s: v for s, v in assembled.context_vectors.items() if np.isfinite(v).all() and np.any(v != 0)}
    dead = int((~alive).sum())
    if not dead and len(contexts) == len(assembled.context_vectors):
        return assembled, 0
    kept = set(assembled.samples[alive].tolist())
    return (
        Assembled(
            assembled.samples[alive],
            assembled.vectors[alive],
            {s: v for s, v in assembled.frame_vectors.items() if s in kept},
            {s: v for s, v in contexts.items() if s in kept},
        ),
        dead,
    )


def _contexts(
    samples: npt.NDArray[np.int64],
    task_of: npt.NDArray[np.int64],
    encoded: dict[int, Any],
    rows: dict[int, int],
    cache: EmbeddingCache | None,
) -> dict[int, npt.NDArray[np.float32]]:
    """Per sample with a vector, the whole-image vector of its task, where one was embedded."""
    if not encoded and not rows:
        return {}
    out: dict[int, npt.NDArray[np.float32]] = {}
    cached_samples: list[int] = []
    cached_rows: list[int] = []
    for sample, task in zip(samples.tolist(), task_of[samples].tolist(), strict=True):
        if task in encoded:
            out[sample] = np.asarray(encoded[task], dtype=np.float32)
        elif task in rows:
            cached_samples.append(sample)
            cached_rows.append(rows[task])
    if cached_rows and cache is not None:
        out.update(zip(cached_samples, cache.gather(cached_rows).astype(np.float32), strict=True))
    return out
