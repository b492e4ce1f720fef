"""The perceptual-hash pass: a 64-bit hash of every whole still picture, so that `near-duplicate` finds
re-encoded, resized or re-lit copies with no model involved (`scores.perceptual`).

Hashes are kept by media content hash in `perceptual-256-1.json` beside the embedding cache, so a re-run
reads no picture it has hashed before. A picture that does not read or decode is skipped here: the
embedding stage reports it.
"""

from __future__ import annotations

import json
from pathlib import Path

from taxospec.dataset import Dataset
from taxospec.embeddings.pictures import as_rgb, open_image, orientation_of, upright
from taxospec.media.dispatch import read_media
from taxospec.media.sources import MediaProblem, MediaSources, shown
from taxospec.output import write_atomic
from taxospec.scores.perceptual import BITS, hash_picture

STORE = "perceptual-256-1.json"
"""The file of known hashes (content hash → hash) in the cache folder."""
DRAFT = (64, 64)
"""The size a JPEG is decoded at for hashing (libjpeg scales by 1/2 to 1/8 while decoding: 8× faster)."""


def wanted(dataset: Dataset) -> bool:
    """Whether the dataset's examples are whole still pictures (the pass applies to nothing else) and the
    spec asks for it (`duplicates.hash_distance` above 0)."""
    spec = dataset.spec
    return spec.media == "image" and spec.unit == "image" and spec.duplicates.hash_distance > 0


def picture_hashes(
    dataset: Dataset, sources: MediaSources, content_hashes: dict[int, str], cache_root: Path | None
) -> dict[int, int]:
    """The hash of each sample (dataset row) whose picture reads, by its media content hash (the
    embedding stage's), from the store where known."""
    known = _load(cache_root)
    out: dict[int, int] = {}
    added = False
    tasks = dataset.columns.task
    for sample, digest in content_hashes.items():
        value = known.get(digest)
        if value is None:
            value = _hash_of(dataset.items.media[int(tasks[sample])], sources)
            if value is None:
                continue
            known[digest] = value
            added = True
        out[sample] = value
    if added and cache_root is not None:
        _save(cache_root, known)
    return out


def _hash_of(uri: str | None, sources: MediaSources) -> int | None:
    try:
        data = read_media(uri, sources)
        with open_image(data, shown(uri or "")) as image:
            if image.format == "JPEG":
                image.draft("RGB", DRAFT)
            image.load()
            return hash_picture(upright(as_rgb(image), orientation_of(image)))
    except (MediaProblem, OSError, ValueError, SyntaxError):
        return None


def _load(cache_root: Path | None) -> dict[str, int]:
    if cache_root is None:
        return {}
    try:
        data = json.loads((cache_root / STORE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: hashed again
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and 0 <= v < 2**BITS}


def _save(cache_root: Path, known: dict[str, int]) -> None:
    text = json.dumps(known, separators=(",", ":"), sort_keys=True).encode()
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        write_atomic(cache_root / STORE, lambda handle: handle.write(text))
    except OSError:
        pass  # a read-only cache: the hashes are computed again next time
