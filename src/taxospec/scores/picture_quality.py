"""What a still picture is like, measured on the picture alone (no model): how bright, how sharp, how much
it holds, whether it has colour, its size and shape, how hard it was compressed. The image-quality checks
(`checks.quality`) judge these against the dataset's own spread.

The measures follow CleanVision's where it has one, so that the two can be compared on the same pictures:
brightness is √(.241 R² + .691 G² + .068 B²), its 99th percentile for darkness and its 5th for
overexposure; sharpness is the spread of the edges of the grey picture at 256 px over the spread of its grey levels
(CleanVision's edges at 64 px miss a blur of a few pixels, and a dark picture is not a blurry one); information is the
entropy of the grey histogram. Compression is the JPEG quality its quantization tables were made for
(the IJG scale, 1-100), or the bits per pixel of other formats.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

STANDARD_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip
"""The JPEG standard's luminance quantization table (ITU T.81, annex K), the one IJG quality 50 uses."""
SIDE = 256
"""The longest side a picture is measured at (measures of brightness and colour do not need more)."""


@dataclass(frozen=True)
class PictureProperties:
    """What one picture is like."""

    width: int
    height: int
    dark: float
    """The 99th percentile of brightness (0..1): low, the whole picture is dark."""
    light: float
    """The 5th percentile of brightness: high, even its darkest parts are bright (washed out)."""
    sharpness: float
    """The spread of the grey picture's edges at 256 px over the spread of its grey levels: low, blurry."""
    entropy: float
    """Bits of information in the grey histogram (0..8): low, a flat or nearly empty picture."""
    grayscale: bool
    jpeg_quality: float | None
    """The IJG quality its luminance table was scaled for (1..100), for a JPEG."""
    bits_per_pixel: float

    @property
    def size(self) -> float:
        """√(width × height): the side of a square of as many pixels."""
        return math.sqrt(self.width * self.height)

    @property
    def aspect(self) -> float:
        """min(w/h, h/w): 1 for a square, small for a strip."""
        return min(self.width, self.height) / max(self.width, self.height, 1)

    def as_json(self) -> dict[str, Any]:
        """The form kept in the cache."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> PictureProperties | None:
        """Read back from the cache (None when the entry is not one)."""
        try:
            return cls(**data)
        except TypeError:
            return None


def measure(image: Any, original: tuple[int, int], data_bytes: int, quantization: Any) -> PictureProperties:
    """The properties of `image` (an opened RGB PIL image, possibly decoded smaller than it is), of
    `original` size in pixels, `data_bytes` long as a file, with the JPEG `quantization` tables when it is
    one."""
    from PIL import ImageFilter

    small = image.copy()
    small.thumbnail((SIDE, SIDE))
    rgb = np.asarray(small.convert("RGB"), dtype=np.float32) / 255.0
    brightness = np.sqrt(0.241 * rgb[..., 0] ** 2 + 0.691 * rgb[..., 1] ** 2 + 0.068 * rgb[..., 2] ** 2)
    low, high = np.percentile(brightness, [5, 99])
    grey = small.convert("L")
    # PIL copies the border pixels through unfiltered: they are brightness, not edges
    edges = np.asarray(grey.filter(ImageFilter.FIND_EDGES), dtype=np.float32)[1:-1, 1:-1]
    contrast = max(1.0, float(np.asarray(grey, dtype=np.float32).std()))
    histogram = np.asarray(grey.histogram(), dtype=np.float64)
    p = histogram[histogram > 0] / histogram.sum()
    spread = np.max(np.abs(rgb - rgb.mean(axis=2, keepdims=True)), axis=2)
    width, height = original
    return PictureProperties(
        width=int(width),
        height=int(height),
        dark=round(float(high), 4),
        light=round(float(low), 4),
        sharpness=round(float(edges.std()) / contrast, 4),
        entropy=round(float(-(p * np.log2(p)).sum()), 4),
        grayscale=bool(np.percentile(spread, 99) < 2.5 / 255),
        jpeg_quality=jpeg_quality(quantization),
        bits_per_pixel=round(8.0 * data_bytes / max(1, width * height), 4),
    )


def jpeg_quality(quantization: Any) -> float | None:
    """The IJG quality (1..100) a JPEG's luminance table was scaled for, from `image.quantization`; None
    when there is no table."""
    if not isinstance(quantization, dict) or 0 not in quantization:
        return None
    table = np.asarray(list(quantization[0]), dtype=np.float64)
    if table.size != 64:
        return None
    # IJG: table = (standard * scale + 50) // 100, scale = 5000 / q below 50, 200 - 2 q above
    scale = float(np.median(np.clip(table, 1, None) * 100 / STANDARD_LUMA))
    quality = 5000 / scale if scale > 100 else (200 - scale) / 2
    return round(float(np.clip(quality, 1, 100)), 1)
