"""What to embed of one task: per sample, the whole image, a box crop, or frames of a video segment.

A plan entry is (sample, slot, what): `what` names the thing taken from the task's media ("image",
"box:…", "frame:…[:box:…]") and, with the media's content hash, is its cache key; `slot` orders a sample's
vectors (frames in time order), with `CONTEXT_SLOT` for a box's whole image.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from taxospec.dataset import KIND_BOX, KIND_POLYGON, KIND_SEGMENT, KIND_TRACK
from taxospec.embeddings.frames import segment_times

CONTEXT_SLOT = -1
"""Slot of a box sample's whole-image vector (its context), kept apart from the sample's own vector."""
REGION_KINDS = (KIND_SEGMENT, KIND_TRACK, KIND_BOX, KIND_POLYGON)
"""Sample kinds that embed part of the media rather than all of it."""
WHOLE_IMAGE = "image"

PlanEntry = tuple[int, int, str]


def region_tasks(cols: Any) -> set[int]:
    """The tasks with at least one sample that is a region (box, polygon, segment, track): the others'
    samples all embed the whole image, which a re-run can look up without planning."""
    return set(np.asarray(cols.task)[np.isin(np.asarray(cols.kind), REGION_KINDS)].tolist())


def plan(cols: Any, samples: list[int], frames: int, margin: float) -> list[PlanEntry]:
    """(sample, slot, what) for everything to embed of one task's samples."""
    entries: list[PlanEntry] = []
    context_planned = False
    for s in samples:
        kind = int(cols.kind[s])
        if kind not in REGION_KINDS:
            entries.append((s, 0, WHOLE_IMAGE))  # the common case first: no box to read
            continue
        box = (float(cols.x[s]), float(cols.y[s]), float(cols.w[s]), float(cols.h[s]))
        turn = float(cols.rotation[s])
        if kind in (KIND_SEGMENT, KIND_TRACK):
            times = segment_times(
                float(cols.start_s[s]),
                float(cols.end_s[s]),
                float(cols.start_frame[s]),
                float(cols.end_frame[s]),
                frames,
            )
            for slot, t in enumerate(times):
                what = f"frame:{t:.3f}" + (f":box:{box_id(box, margin, turn)}" if kind == KIND_TRACK else "")
                entries.append((s, slot, what))
        elif kind in (KIND_BOX, KIND_POLYGON):
            entries.append((s, 0, f"box:{box_id(box, margin, turn)}"))
            if not context_planned:  # the whole image once per task, to tell a box from its background
                entries.append((s, CONTEXT_SLOT, WHOLE_IMAGE))
                context_planned = True
    return entries


def box_id(box: tuple[float, float, float, float], margin: float, rotation: float = 0.0) -> str:
    """The box, margin and rotation as they appear in a cache key (four decimals of percent); an unturned
    box says nothing of rotation, so its keys are those it always had."""
    text = ",".join(f"{v:.4f}" for v in box) + f";m={margin:g}"
    turn = rotation % 360 if math.isfinite(rotation) else 0.0
    return text + (f";r={turn:.4f}" if turn else "")


def parse_box_id(text: str) -> tuple[tuple[float, float, float, float], float, float]:
    """(box, margin, rotation) back from `box_id`'s text."""
    fields = text.split(";")
    x, y, w, h = (float(v) for v in fields[0].split(","))
    named = dict(field.split("=", 1) for field in fields[1:])
    return (x, y, w, h), float(named.get("m", 0)), float(named.get("r", 0))
