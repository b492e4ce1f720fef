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

from taxospec.embeddings.media import MediaProblem, MediaSources, read_media
from taxospec.render.html import PICTURES_PER_FINDING
from taxospec.report import Report

SIZE = 112
"""Longest side of a thumbnail, in pixels."""
LIMIT = 400
"""Thumbnails per report at most (about 4 kB each)."""


def thumbnails(report: Report, sources: MediaSources, *, per_code: int, limit: int = LIMIT) -> dict[int, str]:
    """Task id → `data:image/jpeg;base64,…` for the tasks the HTML report shows (the first `per_code`
    findings of each check, with up to `PICTURES_PER_FINDING` tasks each: a duplicate group is pictured whole), images
    only; media that cannot be read or decoded simply has none."""
    shown: dict[str, list[int]] = defaultdict(list)
    counted: dict[str, int] = defaultdict(int)
    for finding in report.findings:
        if finding.task_id is not None and counted[finding.code] < per_code:
            counted[finding.code] += 1
            shown[finding.code] += [finding.task_id, *finding.related_tasks[: PICTURES_PER_FINDING - 1]]
    wanted = [t for t in dict.fromkeys(itertools.chain.from_iterable(shown.values())) if t in report.media]
    out: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # decoding releases the GIL
        for start in range(0, len(wanted), 32):
            if len(out) >= limit:
                break
            chunk = wanted[start : start + 32]
            pictures = pool.map(lambda t: _thumbnail(report.media[t], sources), chunk)
            for task_id, picture in zip(chunk, pictures, strict=True):
                if picture is not None and len(out) < limit:
                    out[task_id] = picture
    return out


def _thumbnail(uri: str, sources: MediaSources) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        data = read_media(uri, sources)
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (SIZE * 2, SIZE * 2))  # JPEG: decode at a fraction of full size
            picture = image.convert("RGB")
            picture.thumbnail((SIZE, SIZE))
    except (MediaProblem, UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
