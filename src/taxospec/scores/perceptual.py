"""Perceptual hashes: near-duplicate pictures found with no model at all.

The 64-bit DCT hash (pHash, as in the imagehash package and CleanVision's near-duplicate check): the
picture in grey at 32 × 32, its 2-D discrete cosine transform, the 8 × 8 lowest frequencies without the
constant term, one bit per coefficient for "above their median". A re-encoded JPEG, a resized copy or one
a little brighter changes a few bits at most; different scenes differ in about half of them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

SIZE = 32
LOW = 8


@lru_cache(maxsize=1)
def _dct_matrix() -> npt.NDArray[np.float64]:
    n = np.arange(SIZE)
    matrix = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * SIZE))
    matrix[0] *= np.sqrt(1 / SIZE)
    matrix[1:] *= np.sqrt(2 / SIZE)
    return np.asarray(matrix)


def hash_grey(grey: npt.NDArray[np.float64]) -> int:
    """The 64-bit hash of a SIZE × SIZE grey picture."""
    dct = _dct_matrix()
    coefficients = (dct @ np.asarray(grey, dtype=np.float64) @ dct.T)[:LOW, :LOW].ravel()
    low = coefficients[1:]
    bits = np.concatenate([[0], low > np.median(low)])  # the constant term's bit is always 0
    return int(sum(int(b) << i for i, b in enumerate(bits.tolist())))


def hash_picture(image: Any) -> int:
    """The hash of a Pillow picture (upright, any mode)."""
    from PIL import Image

    grey = image.convert("L").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return hash_grey(np.asarray(grey, dtype=np.float64))


def close_pairs(hashes: npt.NDArray[np.uint64], bits: int, neighbours: int = 16) -> list[tuple[int, int]]:
    """Pairs (a < b) of `hashes` that differ in at most `bits` bits, from each hash's `neighbours` nearest
    (faiss's binary index: exact Hamming search), so groups of up to that many copies are found whole."""
    import faiss

    n = len(hashes)
    if n < 2:
        return []
    packed = np.ascontiguousarray(hashes.astype("<u8")).view(np.uint8).reshape(n, 8)
    index = faiss.IndexBinaryFlat(64)
    index.add(packed)
    distances, ids = index.search(packed, min(n, neighbours + 1))
    pairs = set()
    for a in range(n):
        for b, d in zip(ids[a].tolist(), distances[a].tolist(), strict=True):
            if b >= 0 and b != a and d <= bits:
                pairs.add((min(a, b), max(a, b)))
    return sorted(pairs)
