"""The picture pass: what is measured on each still picture with no model involved, in one read of it —
its 256-bit perceptual hash, so that `near-duplicate` finds re-encoded, resized or re-lit copies
(`scores.perceptual`), and its properties for the image-quality checks (`scores.picture_quality`).

Both are kept by media content hash beside the embedding cache (`perceptual-256-1.json`,
`picture-properties-1.json`), so a re-run reads no picture it has measured before. A picture that does not
read or decode is skipped here: the embedding stage reports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taxospec.dataset import Dataset
from taxospec.embeddings.pictures import as_rgb, open_image, orientation_of, upright
from taxospec.media.dispatch import read_media
from taxospec.media.sources import MediaProblem, MediaSources, shown
from taxospec.output import write_atomic
from taxospec.scores.perceptual import BITS, hash_picture
from taxospec.scores.picture_quality import SIDE, PictureProperties, measure

STORE = "perceptual-256-1.json"
"""The file of known hashes (content hash → hash) in the cache folder."""
PROPERTIES = "picture-properties-1.json"
"""The file of known picture properties (content hash → properties)."""
DRAFT = (64, 64)
"""The size a JPEG is decoded at for hashing alone (libjpeg scales by 1/2 to 1/8 while decoding: 8× faster)."""


def wanted(dataset: Dataset) -> bool:
    """Whether the dataset's examples are whole still pictures (the hashes apply to nothing else) and the
    spec asks for it (`duplicates.hash_distance` above 0)."""
    spec = dataset.spec
    return spec.media == "image" and spec.unit == "image" and spec.duplicates.hash_distance > 0


def properties_wanted(dataset: Dataset) -> bool:
    """Whether the dataset's media are still pictures (the image-quality checks measure them)."""
    return dataset.spec.media == "image"


def picture_hashes(
    dataset: Dataset, sources: MediaSources, content_hashes: dict[int, str], cache_root: Path | None
) -> dict[int, int]:
    """The hash of each sample (dataset row) whose picture reads, by its media content hash (the
    embedding stage's), from the store where known."""
    return picture_facts(dataset, sources, content_hashes, cache_root, hashes=True, properties=False)[0]


def picture_facts(
    dataset: Dataset,
    sources: MediaSources,
    content_hashes: dict[int, str],
    cache_root: Path | None,
    *,
    hashes: bool,
    properties: bool,
) -> tuple[dict[int, int], dict[int, PictureProperties]]:
    """Per sample (dataset row) whose picture reads: its hash (with `hashes`) and its picture's properties
    (with `properties`), each read from its store where known, else measured in one read of the picture."""
    known_hashes = _load(cache_root, STORE, _as_hash) if hashes else {}
    known_properties = _load(cache_root, PROPERTIES, PictureProperties.from_json) if properties else {}
    found_hashes: dict[int, int] = {}
    found_properties: dict[int, PictureProperties] = {}
    added = False
    tasks = dataset.columns.task
    for sample, digest in content_hashes.items():
        need_hash = hashes and digest not in known_hashes
        need_properties = properties and digest not in known_properties
        if need_hash or need_properties:
            value, props = _read(dataset.items.media[int(tasks[sample])], sources, need_hash, need_properties)
            if value is not None:
                known_hashes[digest] = value
            if props is not None:
                known_properties[digest] = props
            added = added or value is not None or props is not None
        if digest in known_hashes:
            found_hashes[sample] = known_hashes[digest]
        if digest in known_properties:
            found_properties[sample] = known_properties[digest]
    if added and cache_root is not None:
        if hashes:
            _save(cache_root, STORE, known_hashes)
        if properties:
            _save(cache_root, PROPERTIES, {k: v.as_json() for k, v in known_properties.items()})
    return found_hashes, found_properties


def _read(
    uri: str | None, sources: MediaSources, need_hash: bool, need_properties: bool
) -> tuple[int | None, PictureProperties | None]:
    try:
        data = read_media(uri, sources)
        with open_image(data, shown(uri or "")) as image:
            size, quantization = image.size, getattr(image, "quantization", None)
            if image.format == "JPEG":
                image.draft("RGB", (SIDE * 2, SIDE * 2) if need_properties else DRAFT)
            image.load()
            orientation = orientation_of(image)
            picture = upright(as_rgb(image), orientation)
        if orientation in (5, 6, 7, 8):  # turned a quarter: as shown, the sides swap
            size = (size[1], size[0])
        return (
            hash_picture(picture) if need_hash else None,
            measure(picture, size, len(data), quantization) if need_properties else None,
        )
    except (MediaProblem, OSError, ValueError, SyntaxError):
        return None, None


def _as_hash(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 <= value < 2**BITS else None


def _load(cache_root: Path | None, name: str, read: Callable[[Any], Any]) -> dict[str, Any]:
    if cache_root is None:
        return {}
    try:
        data = json.loads((cache_root / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: measured again
    if not isinstance(data, dict):
        return {}
    out = {}
    for key, value in data.items():
        parsed = read(value)
        if parsed is not None:
            out[str(key)] = parsed
    return out


def _save(cache_root: Path, name: str, known: dict[str, Any]) -> None:
    text = json.dumps(known, separators=(",", ":"), sort_keys=True).encode()
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        write_atomic(cache_root / name, lambda handle: handle.write(text))
    except OSError:
        pass  # a read-only cache: measured again next time
