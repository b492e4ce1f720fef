"""Reading a task's media for the embedding stage: once, hashed as it is read (a local video streams by,
never whole in memory), and decoded only as far as the plan still needs."""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO

from taxospec.embeddings.frames import Video, crop, video_frames
from taxospec.embeddings.pictures import decode_image
from taxospec.embeddings.plan import parse_box_id
from taxospec.media.dispatch import locate_media, read_media
from taxospec.media.files import read_file_and_stat, read_local
from taxospec.media.sources import MediaProblem, MediaSources


def content_hash(data: bytes) -> str:
    """The hash that identifies media by content (cache keys, byte-identical duplicates): xxh3-128, which
    hashes at memory speed where blake2b managed 0.5 GB/s and held back a GPU's pipeline."""
    import xxhash

    return str(xxhash.xxh3_128_hexdigest(data))


def read_task_media(
    uri: str | None, sources: MediaSources, video: bool
) -> tuple[str | None, Video, os.stat_result | None, str]:
    """The local path of `uri` (None for remote media), the media itself — its bytes, or for a local video
    its path, hashed as it streams by and left for FFmpeg to read as it decodes (a long video is never held
    whole in memory) —, its status when local, and its content hash. A located file is opened once, rather
    than resolved again by `read_media`."""
    path = locate_media(uri, sources)
    if path is None:
        data = read_media(uri, sources)
        return None, data, None, content_hash(data)
    if video:
        digest, status = read_local(path, sys.maxsize, streamed_hash)  # no size limit: never in memory
        return path, path, status, digest
    data, status = read_file_and_stat(path, sources.max_bytes)
    return path, data, status, content_hash(data)


def streamed_hash(handle: BinaryIO) -> str:
    """`content_hash` of a file's bytes, read a megabyte at a time."""
    import xxhash

    digest = xxhash.xxh3_128()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    return str(digest.hexdigest())


def images_of(data: Video, name: str, plan: list[tuple[int, int, str]], video: bool) -> dict[str, Any]:
    """Decode only what `plan` still needs: whole images, crops, and frames (with crops for tracks); a box
    with no area inside the image is left out."""
    if not plan:
        return {}
    out: dict[str, Any] = {}
    if video:
        times = sorted({float(what.split(":")[1]) for _, _, what in plan})
        decoded = dict(zip(times, video_frames(data, times, name), strict=True))
        for _, _, what in plan:
            parts = what.split(":")
            frame = decoded[float(parts[1])]
            taken = crop_from(frame, parts[3]) if len(parts) > 3 else frame
            if taken is not None:
                out[what] = taken
        return out
    if not isinstance(data, bytes):
        raise TypeError("still images are read as bytes")  # only videos are left on disk
    image = decode_image(data, name)
    for _, _, what in plan:
        taken = crop_from(image, what[len("box:") :]) if what.startswith("box:") else image
        if taken is not None:
            out[what] = taken
    return out


def crop_from(image: Any, box_id: str) -> Any:
    """The crop a box names, or None for a box with no area inside the image: that example gets no vector
    (its rule findings, `box-degenerate` or `box-outside-image`, say why), the task's other examples do."""
    try:
        return crop(image, *parse_box_id(box_id))
    except MediaProblem:
        return None
