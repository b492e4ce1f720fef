"""Pictures of flagged tasks for the HTML report: only media read through the safe roots, only images
that decode, and the page stays self-contained."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from taxospec import check
from taxospec.findings import Finding, Severity
from taxospec.media.sources import MediaSources
from taxospec.render.html import render_html
from taxospec.render.thumbnails import thumbnails

from .tiny_model import boxes_export, pipeline_spec, png


def test_thumbnails_come_only_from_safe_readable_images(tmp_path: Path, tiny_weights: Path) -> None:
    from PIL import Image

    root, export = boxes_export(tmp_path, 6)
    png(tmp_path / "outside.png", (1, 2, 3))
    sources = MediaSources(roots={"ls-document-root": root})
    report = check(pipeline_spec(tmp_path, tiny_weights), export, media=sources, cache_dir=tmp_path / "c")
    (root / "img" / "1.png").write_bytes(b"\x89PNG broken now")
    media = {task: f"/data/local-files/?d=img/{task - 1}.png" for task in range(1, 7)}
    media[3] = "/data/local-files/?d=../outside.png"  # escapes its root: refused
    media[4] = "/data/local-files/?d=img/missing.png"
    findings = [Finding(code="outlier", severity=Severity.WARNING, message=f"odd {t}", task_id=t) for t in media]
    flagged = report.model_copy(update={"media": media, "findings": findings})
    pictures = thumbnails(flagged, sources, per_code=50)
    assert set(pictures) == {(1, None), (5, None), (6, None)}, "2 no longer decodes, 3 escapes its root, 4 is gone"
    for uri in pictures.values():
        picture = Image.open(io.BytesIO(base64.b64decode(uri.removeprefix("data:image/jpeg;base64,"))))
        assert picture.format == "JPEG" and max(picture.size) <= 112
    html = render_html(flagged, thumbnails=pictures)
    assert html.count("<img class='thumb'") == len(pictures) and "<th>picture</th>" in html
    assert "<img" not in render_html(flagged) and "outside" not in "".join(pictures.values())
    assert list(thumbnails(flagged, sources, per_code=50, limit=1)) == [(1, None)]
    assert list(thumbnails(flagged, sources, per_code=1)) == [(1, None)], "only the tasks the page shows"


def test_a_video_finding_is_pictured_at_its_moment(tmp_path: Path, tiny_weights: Path) -> None:
    """Each frame of the clip has its own grey (frame i: 12·i): the picture of a finding at 1.05 s is
    frame 10's grey, one at 0.25 s frame 2's, and a task named without a moment shows the clip's middle."""
    from PIL import Image

    from .test_embedding_pipeline import _two_segments

    _two_segments(tmp_path, tiny_weights)  # writes clips/one.mp4: 20 frames at 10 fps
    sources = MediaSources(media_root=tmp_path)
    report = check(pipeline_spec(tmp_path, tiny_weights), *boxes_export(tmp_path, 1)[1:], cache_dir=tmp_path / "c")
    findings = [
        Finding(
            code="outlier", severity=Severity.WARNING, message="late", task_id=1, at_seconds=1.05, related_tasks=[2]
        ),
        Finding(code="likely-mislabel", severity=Severity.WARNING, message="early", task_id=1, at_seconds=0.25),
    ]
    media = {1: "clips/one.mp4", 2: "clips/one.mp4"}
    flagged = report.model_copy(update={"media": media, "findings": findings})
    pictures = thumbnails(flagged, sources, per_code=50, video=True)

    def grey(key: tuple[int, float | None]) -> float:
        data = base64.b64decode(pictures[key].removeprefix("data:image/jpeg;base64,"))
        return float(np.asarray(Image.open(io.BytesIO(data)).convert("L")).mean())

    assert set(pictures) == {(1, 1.05), (1, 0.25), (2, None)}
    assert abs(grey((1, 1.05)) - 120) < 8 and abs(grey((1, 0.25)) - 24) < 8 and abs(grey((2, None)) - 120) < 8
    html = render_html(flagged, thumbnails=pictures)
    assert html.count("<img class='thumb'") == 3, "the late finding shows its frame and task 2; the early one its own"
    assert "<small>at 1.05 s</small>" in html and "<small>at 0.25 s</small>" in html


def test_pictures_inlined_in_the_tasks_are_pictured_but_kept_out_of_the_json(
    tmp_path: Path, tiny_weights: Path, run_cli: Any
) -> None:
    """A flagged task that carries its picture as a `data:` URI is pictured in the HTML report (no media
    option needed); the JSON report's `media` leaves it out (no file to open; it can be megabytes)."""
    import json

    from .tiny_model import box_task

    png(tmp_path / "one.png", (200, 30, 30))
    inline = "data:image/png;base64," + base64.b64encode((tmp_path / "one.png").read_bytes()).decode()
    tasks = [box_task(1, inline, "a"), box_task(2, inline, "not-a-class"), box_task(3, inline, "b")]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    spec = pipeline_spec(tmp_path, tiny_weights)
    base = ["check", spec, export, "--cache-dir", tmp_path / "cache", "--device", "cpu"]
    result = run_cli(*base, "-o", tmp_path / "report.html")
    assert result.exit_code in (0, 1), result.stderr
    html = (tmp_path / "report.html").read_text()
    assert "not-a-class" in html and html.count("<img class='thumb'") >= 1
    result = run_cli(*base, "--format", "json")
    report = json.loads(result.stdout)
    assert any(f["code"] == "unknown-label" and f["task_id"] == 2 for f in report["findings"])
    assert report["media"] == {} and inline not in result.stdout
    flagged = check(spec, export, cache_dir=tmp_path / "cache", device="cpu")
    assert flagged.picture_source(2) == inline and flagged.has_inline_media
