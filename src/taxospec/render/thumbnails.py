"""Small pictures of the flagged tasks, for the HTML report: read through the same safe media roots as the
embedding checks, shrunk and embedded as `data:` URIs (the report's Content-Security-Policy allows only
those), so the page still opens offline and a reviewer sees the problem next to its finding."""

from __future__ import annotations

import base64
import io
import itertools
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from taxospec.media.dispatch import locate_media, read_media
from taxospec.media.sources import MediaProblem, MediaSources
from taxospec.render.html import PICTURES_PER_FINDING
from taxospec.report import Report

SIZE = 112
"""Longest side of a thumbnail, in pixels."""
LIMIT = 400
"""Thumbnails per report at most (about 4 kB each)."""


Picture = tuple[int, "float | None"]
"""What a thumbnail shows: a task's media, at a moment (seconds) for a video, or None (an image; a video's
middle)."""


def thumbnails(
    report: Report, sources: MediaSources, *, per_code: int, video: bool = False, limit: int = LIMIT
) -> dict[Picture, str]:
    """(task id, moment) → `data:image/jpeg;base64,…` for what the HTML report shows: the first `per_code`
    findings of each check, each with up to `PICTURES_PER_FINDING` tasks (a duplicate group is pictured
    whole); for `video`, the frame at the finding's moment (the middle of its segment). Media that cannot
    be read or decoded simply has none."""
    wanted: dict[int, list[float | None]] = {}
    counted: dict[str, int] = defaultdict(int)
    for finding in report.findings:
        if finding.task_id is None or counted[finding.code] >= per_code:
            continue
        counted[finding.code] += 1
        at = finding.at_seconds if video else None
        for task, moment in [(finding.task_id, at)] + [
            (t, None) for t in finding.related_tasks[: PICTURES_PER_FINDING - 1]
        ]:
            if report.picture_source(task) is not None and moment not in wanted.setdefault(task, []):
                wanted[task].append(moment)
    tasks = list(itertools.islice(wanted, limit))
    out: dict[Picture, str] = {}

    def pictures_of(task: int) -> dict[Picture, str]:
        return _pictures_of_task(task, report.picture_source(task) or "", wanted[task], sources, video)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # decoding releases the GIL
        for pictures in pool.map(pictures_of, tasks):
            for key, picture in pictures.items():
                if len(out) < limit:
                    out[key] = picture
    return out


def _pictures_of_task(
    task: int,
    uri: str,
    moments: list[float | None],
    sources: MediaSources,
    video: bool,
    size: int = SIZE,
    quality: int = 80,
) -> dict[Picture, str]:
    from PIL import Image

    from taxospec.embeddings.frames import probe_video, video_frames
    from taxospec.embeddings.pictures import as_rgb, open_image, orientation_of, upright

    try:
        local = locate_media(uri, sources) if video else None
        if local is not None and os.path.isfile(local):  # a local video: FFmpeg reads only what it needs
            data: bytes | str = local
        else:
            data = read_media(uri, sources)
        if isinstance(data, bytes) and not video:
            with open_image(data, uri) as image:
                image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a fraction of full size
                return {(task, None): _encoded(upright(as_rgb(image), orientation_of(image)), size, quality)}
        facts = probe_video(data)
        middle = facts.frames / facts.fps / 2 if facts else 0.0
        frames = video_frames(data, [middle if m is None else m for m in moments], uri)
        return {(task, m): _encoded(frame, size, quality) for m, frame in zip(moments, frames, strict=True)}
    except (MediaProblem, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return {}


def deployment_pictures(report: Report, media: MediaSources) -> dict[str, str]:
    """Each scenario example's thumbnail (example → `data:` URI): a folder sample's pictures read from
    under its folder only, an export sample's through the run's media sources."""
    found = report.deployment
    if found is None:
        return {}
    folders = {s.name: s.folder for s in found.samples}
    out = {}
    for scenario in found.scenarios:
        folder = folders.get(scenario.sample)
        for example in scenario.examples:
            if folder is not None:
                root = Path(folder)
                try:
                    uri, sources = Path(example).relative_to(root).as_posix(), MediaSources(media_root=root)
                except ValueError:
                    continue
            else:
                uri, sources = example, media
            picture = picture_thumbnail(uri, sources)
            if picture is not None:
                out[example] = picture
    return out


def picture_thumbnail(uri: str, sources: MediaSources) -> str | None:
    """A still picture's thumbnail as a `data:` URI, read through `sources`; None when it cannot be read."""
    return _pictures_of_task(0, uri, [None], sources, video=False).get((0, None))


def _encoded(picture: Any, size: int = SIZE, quality: int = 80) -> str:
    picture.thumbnail((size, size))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
