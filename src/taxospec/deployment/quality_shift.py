"""How a deployment sample's pictures differ in quality from the labeled data's: per sample and measure,
its median against the labeled data's middle half (the inter-quartile range)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from taxospec.deployment.embed import UnlabeledSpace
from taxospec.scores.picture_quality import PictureProperties

MIN_PICTURES = 5
"""Pictures a side needs before its median means anything."""


@dataclass(frozen=True)
class Measure:
    """One picture measure and how a shift in it reads."""

    value: Callable[[PictureProperties], float | None]
    low: bool
    """The deployment's median below the data's first quartile is the shift (else above the third)."""
    words: str
    unit: str


MEASURES = {
    "darker": Measure(lambda p: p.dark, True, "darker", "its brightest pixels reach"),
    "washed-out": Measure(lambda p: p.light, False, "more washed out", "its darkest pixels sit at"),
    "blurrier": Measure(lambda p: p.sharpness, True, "blurrier", "edge spread"),
    "smaller": Measure(lambda p: p.size, True, "smaller", "pixels a side"),
    "more-compressed": Measure(lambda p: p.jpeg_quality, True, "more compressed", "JPEG quality"),
}
"""The measures compared, by the shift they would show."""


def quality_shifts(space: UnlabeledSpace, labeled: list[PictureProperties]) -> tuple[int, list[tuple[str, str, float]]]:
    """How many (sample, measure) pairs were compared, and (sample, message, score) for each sample whose
    pictures are darker, washed out, blurrier, smaller, more compressed or greyer than `labeled`."""
    evaluated, out = 0, []
    for name in space.media:
        mine = [space.properties[int(r)] for r in space.rows_of(name) if int(r) in space.properties]
        if len(mine) < MIN_PICTURES or len(labeled) < MIN_PICTURES:
            continue
        for measure in MEASURES.values():
            theirs = [v for p in labeled if (v := measure.value(p)) is not None]
            ours = [v for p in mine if (v := measure.value(p)) is not None]
            if len(ours) < MIN_PICTURES or len(theirs) < MIN_PICTURES:
                continue
            evaluated += 1
            q1, q3 = (float(q) for q in np.percentile(theirs, [25, 75]))
            median = float(np.median(ours))
            if (median < q1) if measure.low else (median > q3):
                share = float(np.mean([(v < q1) if measure.low else (v > q3) for v in ours]))
                out.append((name, _message(name, measure, median, q1, q3, share), round(share, 4)))
        evaluated += 1
        grey, data_grey = np.mean([p.grayscale for p in mine]), np.mean([p.grayscale for p in labeled])
        if grey >= 0.5 > data_grey * 2:
            out.append(
                (
                    name,
                    f"deployment sample {name!r} is mostly grey ({grey:.0%}), your data {data_grey:.0%}",
                    float(grey),
                )
            )
    return evaluated, out


def _message(name: str, measure: Measure, median: float, q1: float, q3: float, share: float) -> str:
    return (
        f"deployment sample {name!r} is {measure.words} than your data: {measure.unit} {median:.2f} in the "
        f"middle of its pictures, {q1:.2f}–{q3:.2f} in the middle half of yours ({share:.0%} of its pictures "
        "lie beyond); train on pictures like the deployed camera's"
    )
