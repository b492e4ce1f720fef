"""Image-quality checks: pictures too dark, washed out, blurry, nearly empty, without colour, of an odd size
or shape, or compressed hard — judged against the dataset's own spread, not one fixed line.

Each measure (`scores.picture_quality`) is flagged where a picture lies beyond the dataset's Tukey fence
*and* past an absolute line (a night dataset's dark pictures are its norm; a dataset of bright pictures
does not make a normal one dark) *and*, with a deployment sample, beyond the deployment's fence too (a
dark training picture like the deployed camera's is what the data needs; `deployment-quality-shift`
says when the deployment as a whole differs). A corrupt or truncated picture is `media-unreadable`, never a crash.
Each picture is judged once, however many boxes its task has. They run where the embedding stage read
the pictures (a media source given); `--no-embeddings` skips them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from taxospec.checks.base import Check, CheckContext, Outcome, SkipCheck, check
from taxospec.findings import Flag, Severity
from taxospec.plugins.hookspecs import hookimpl
from taxospec.scores.picture_quality import PictureProperties
from taxospec.spec.model import Spec
from taxospec.spec.types import SpecModel


class QualityParams(SpecModel):
    """Parameters of an image-quality check (`checks.CODE.params` in the spec)."""

    fence: float = Field(default=1.5, gt=0.0, le=10.0)
    """Tukey factor: a picture beyond Q1 − fence·IQR (or Q3 + fence·IQR) of the dataset's values."""
    line: float | None = None
    """The absolute line it must also be past (none for the size check)."""


LINES = {
    "image-dark": 0.40,
    "image-overexposed": 0.55,
    "image-blurry": 0.20,
    "image-low-information": 4.0,
    "image-heavy-compression": 45.0,
    "image-odd-aspect": 0.35,
}
"""Each check's absolute line, where its parameters set none (measured on planted pictures:
`benchmarks/image_quality.py`)."""


def _defaults(code: str, fence: float = 1.5) -> Callable[[Spec], QualityParams]:
    return lambda spec: QualityParams(fence=fence, line=LINES.get(code))


def _not_stills(spec: Spec) -> str | None:
    return None if spec.media == "image" else "the spec's media are videos: the image-quality checks measure stills"


def pictures(ctx: CheckContext) -> dict[int, PictureProperties]:
    """Each task's (row of items) picture properties, where the embedding stage measured them."""

    def compute() -> dict[int, PictureProperties]:
        space = ctx.embeddings
        if space is None or not space.picture_properties:
            raise SkipCheck("no picture was read (give a media source; --no-embeddings skips these checks)")
        task = ctx.columns.task
        return {int(task[sample]): props for sample, props in sorted(space.picture_properties.items())}

    found: dict[int, PictureProperties] = ctx.shared("picture-properties", compute)
    return found


def _deployed(ctx: CheckContext) -> list[PictureProperties]:
    """The deployment sample's picture properties, when the run has one."""
    space = ctx.deployment
    return list(space.properties.values()) if space is not None and space.settings is not None else []


def fences(values: list[float], factor: float) -> tuple[float, float]:
    """Tukey's fences of `values`."""
    q1, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 75])
    return float(q1 - factor * (q3 - q1)), float(q3 + factor * (q3 - q1))


def _judge(
    ctx: CheckContext,
    params: QualityParams,
    value: Callable[[PictureProperties], float | None],
    low: bool,
    describe: Callable[[PictureProperties, float, float], str],
) -> Outcome:
    """Flag each picture whose `value` is beyond the dataset's fence on its side (`low`: below) and past
    the check's line; its score is how far past the fence it lies, in fence widths."""
    line = params.line if params.line is not None else (-math.inf if low else math.inf)
    found = {task: v for task, props in pictures(ctx).items() if (v := value(props)) is not None}
    if len(found) < 4:
        raise SkipCheck(f"{len(found)} picture(s) measured, too few to know the dataset's spread")
    lower, upper = fences(list(found.values()), params.fence)
    deployed = [v for props in _deployed(ctx) if (v := value(props)) is not None]
    if len(deployed) >= 4:  # a picture like the deployment's is no defect, however unlike the data's
        seen_lower, seen_upper = fences(deployed, params.fence)
        lower, upper = min(lower, seen_lower), max(upper, seen_upper)
    edge = min(lower, line) if low else max(upper, line)
    spread = max(1e-9, upper - lower)
    flags = []
    for task, v in sorted(found.items()):
        if (v < edge) if low else (v > edge):
            props = pictures(ctx)[task]
            score = min(1.0, abs(v - edge) / spread)
            flags.append(Flag(describe(props, v, edge), task, score=round(score, 4)))
    return len(found), flags


@check("image-dark", "quality", Severity.WARNING, params=_defaults("image-dark"), skip=_not_stills)
def image_dark(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A picture darker than the dataset's own dark ones: even its brightest pixels are dim (the 99th
    percentile of brightness below the dataset's lower fence and below 0.40).

    A model sees little in it; if deployment is this dark, collect more such pictures rather than drop it."""
    return _judge(
        ctx,
        params,
        lambda p: p.dark,
        True,
        lambda p, v, e: (
            f"the picture is dark: its brightest pixels reach {v:.2f} (of 1; the dataset's dark ones {e:.2f})"
        ),
    )


@check("image-overexposed", "quality", Severity.WARNING, params=_defaults("image-overexposed"), skip=_not_stills)
def image_overexposed(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A washed-out picture: even its darkest pixels are bright (the 5th percentile of brightness above the
    dataset's upper fence and above 0.55)."""
    return _judge(
        ctx,
        params,
        lambda p: p.light,
        False,
        lambda p, v, e: f"the picture is washed out: its darkest pixels are at {v:.2f} of 1 (the dataset's {e:.2f})",
    )


@check("image-blurry", "quality", Severity.WARNING, params=_defaults("image-blurry"), skip=_not_stills)
def image_blurry(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A blurry picture: its edges spread less than the dataset's blurriest (the spread of the grey
    picture's edges over the spread of its grey levels, below the lower fence and below 0.20; a flat picture
    has no edges to judge and is left to image-low-information).

    Blur hides the details a class is told apart by; out-of-focus frames are better dropped or relabeled."""
    return _judge(
        ctx,
        params,
        lambda p: None if p.entropy < 1.0 else p.sharpness,
        True,
        lambda p, v, e: f"the picture is blurry: edge spread {v:.2f} of its contrast (the dataset's blurriest {e:.2f})",
    )


@check(
    "image-low-information", "quality", Severity.WARNING, params=_defaults("image-low-information"), skip=_not_stills
)
def image_low_information(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A nearly empty picture: a flat colour, a lens cap, a blank frame (the entropy of its grey histogram
    below the lower fence and below 4 bits)."""
    return _judge(
        ctx,
        params,
        lambda p: p.entropy,
        True,
        lambda p, v, e: f"the picture holds little: {v:.2f} bits of grey levels (the dataset's least {e:.2f})",
    )


@check(
    "image-heavy-compression",
    "quality",
    Severity.WARNING,
    params=_defaults("image-heavy-compression"),
    skip=_not_stills,
)
def image_heavy_compression(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A JPEG compressed harder than the dataset's others: the quality its tables were made for below the
    lower fence and below 45 (blocks and ringing a deployed camera may not make)."""
    return _judge(
        ctx,
        params,
        lambda p: p.jpeg_quality,
        True,
        lambda p, v, e: f"the JPEG is compressed hard: quality {v:.0f} of 100 (the dataset's lowest usual {e:.0f})",
    )


@check("image-odd-aspect", "quality", Severity.WARNING, params=_defaults("image-odd-aspect"), skip=_not_stills)
def image_odd_aspect(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A picture of an odd shape: a strip (shorter side under 0.35 of the longer) unlike the dataset's.

    Resized to the model's square input it is squashed or mostly padding."""
    return _judge(
        ctx,
        params,
        lambda p: p.aspect,
        True,
        lambda p, v, e: f"the picture is {p.width}×{p.height} px, a strip (sides {v:.2f} to 1)",
    )


@check("image-odd-size", "quality", Severity.WARNING, params=_defaults("image-odd-size", 3.0), skip=_not_stills)
def image_odd_size(ctx: CheckContext, params: QualityParams) -> Outcome:
    """A picture far smaller or larger than the dataset's (√(width × height) beyond Q1 − 3·IQR or Q3 + 3·IQR
    of the dataset's sizes, compared in logarithms).

    A thumbnail among photos has none of their detail; a giant one was likely taken by another camera."""
    factor = params.fence
    sizes = {task: math.log(max(1.0, p.size)) for task, p in pictures(ctx).items()}
    if len(sizes) < 4:
        raise SkipCheck(f"{len(sizes)} picture(s) measured, too few to know the dataset's spread")
    lower, upper = fences(list(sizes.values()), factor)
    typical = math.exp(float(np.median(list(sizes.values()))))
    flags = []
    for task, v in sorted(sizes.items()):
        if v < lower or v > upper:
            p = pictures(ctx)[task]
            what = "small" if v < lower else "large"
            score = min(1.0, abs(v - (lower if v < lower else upper)) / max(1e-9, upper - lower))
            message = (
                f"the picture is {p.width}×{p.height} px, {what} for this dataset (typically ~{typical:.0f} px a side)"
            )
            flags.append(Flag(message, task, score=round(score, 4)))
    return len(sizes), flags


@check("image-grayscale", "quality", Severity.WARNING, skip=_not_stills)
def image_grayscale(ctx: CheckContext, params: None) -> Outcome:
    """A picture without colour in a dataset of colour pictures (fewer than half of them are grey).

    A model trained on colour may lean on it; a grey camera in deployment is a scenario to collect, not
    a stray picture."""
    found = pictures(ctx)
    grey = [task for task, p in found.items() if p.grayscale]
    if len(grey) * 2 >= len(found):
        return len(found), []
    share = len(grey) / max(1, len(found))
    return len(found), [
        Flag(f"the picture has no colour, where {1 - share:.0%} of the dataset's have", task) for task in grey
    ]


QUALITY_CHECKS = [
    image_dark,
    image_overexposed,
    image_blurry,
    image_low_information,
    image_grayscale,
    image_odd_size,
    image_odd_aspect,
    image_heavy_compression,
]


@hookimpl
def taxospec_checks() -> list[Check[Any]]:
    """The image-quality checks."""
    return list(QUALITY_CHECKS)
