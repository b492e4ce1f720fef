"""Pictures of flagged tasks for the HTML report: only media read through the safe roots, only images
that decode, and the page stays self-contained."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from taxospec import check
from taxospec.embeddings.media import MediaSources
from taxospec.findings import Finding, Severity
from taxospec.render.html import render_html
from taxospec.render.thumbnails import thumbnails

from .tiny_model import boxes_export, pipeline_spec, png


def test_thumbnails_come_only_from_safe_readable_images(tmp_path: Path, tiny_weights: Path) -> None:
    from PIL import Image

    root, export = boxes_export(tmp_path, 6)
    png(tmp_path / "outside.png", (1, 2, 3))
    sources = MediaSources(ls_document_root=root)
    report = check(pipeline_spec(tmp_path, tiny_weights), export, media=sources, cache_dir=tmp_path / "c")
    (root / "img" / "1.png").write_bytes(b"\x89PNG broken now")
    media = {task: f"/data/local-files/?d=img/{task - 1}.png" for task in range(1, 7)}
    media[3] = "/data/local-files/?d=../outside.png"  # escapes its root: refused
    media[4] = "/data/local-files/?d=img/missing.png"
    findings = [Finding(code="outlier", severity=Severity.WARNING, message=f"odd {t}", task_id=t) for t in media]
    flagged = report.model_copy(update={"media": media, "findings": findings})
    pictures = thumbnails(flagged, sources, per_code=50)
    assert set(pictures) == {1, 5, 6}, "task 2 no longer decodes, 3 escapes its root, 4 is missing"
    for uri in pictures.values():
        picture = Image.open(io.BytesIO(base64.b64decode(uri.removeprefix("data:image/jpeg;base64,"))))
        assert picture.format == "JPEG" and max(picture.size) <= 112
    html = render_html(flagged, thumbnails=pictures)
    assert html.count("<img class='thumb'") == len(pictures) and "<th>picture</th>" in html
    assert "<img" not in render_html(flagged) and "outside" not in "".join(pictures.values())
    assert list(thumbnails(flagged, sources, per_code=50, limit=1)) == [1]
    assert list(thumbnails(flagged, sources, per_code=1)) == [1], "only the tasks the page shows"
