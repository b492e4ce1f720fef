"""The HTML explorer in a real headless Chromium, driven with real mouse input over the DevTools protocol:
the map draws every embedded example, a shift-drag lasso selects exactly the examples inside it, a header
click sorts, hovering shows the picture, a click opens the example with its findings and neighbours, a
flagged segment shows its strip of frames; no console error, no network request. Screenshots go to
build/test-artifacts/ (the README shows them)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ..conftest import EXAMPLES, ROOT
from .browser import Page, page

pytestmark = pytest.mark.integration
ARTIFACTS = ROOT / "build" / "test-artifacts"
DEMO = EXAMPLES / "synthetic-signals"


def _report(tmp_path: Path, kind: str) -> Path:
    """The demo's HTML report, made by the CLI as a user makes it (offline, the demo's own CLIP)."""
    out = tmp_path / f"report{kind}.html"
    done = subprocess.run(
        [sys.executable, "-m", "taxospec", "check", str(DEMO / f"spec{kind}.yaml"), str(DEMO / f"export{kind}.json")]
        + ["--ls-document-root", str(DEMO), "--cache-dir", str(ROOT / "build" / "demo" / "cache"), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stderr
    return out


def _open(tab: Page, report: Path) -> None:
    tab.call("Runtime.enable")
    tab.call("Network.enable")
    tab.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
    tab.call("Page.navigate", url=report.as_uri())
    assert tab.wait_for("document.body.dataset.explorer === 'ready'", seconds=30), tab.errors()


def _mouse(tab: Page, kind: str, x: float, y: float, shift: bool = False) -> None:
    tab.call(
        "Input.dispatchMouseEvent",
        type=kind,
        x=x,
        y=y,
        button="left" if kind != "mouseMoved" else "none",
        buttons=1 if kind == "mouseMoved" and shift else 0,
        clickCount=1,
        modifiers=8 if shift else 0,
    )


def _canvas(tab: Page) -> dict[str, float]:
    tab.evaluate("document.getElementById('map-canvas').scrollIntoView({block: 'center'})")
    time.sleep(0.2)
    box: dict[str, float] = tab.evaluate(
        "(() => { const r = document.getElementById('map-canvas').getBoundingClientRect();"
        " return {x: r.left, y: r.top, w: r.width, h: r.height}; })()"
    )
    return box


def _screen(tab: Page, box: dict[str, float]) -> list[list[float] | None]:
    points: list[list[float] | None] = tab.evaluate(
        "(() => { const x = window.taxospecExplorer, out = [];"
        " for (let i = 0; i < x.examples(); i++) out.push(x.hasPoint(i) ? x.toScreen(i) : null); return out; })()"
    )
    return [[p[0] + box["x"], p[1] + box["y"]] if p else None for p in points]


def test_the_map_lasso_sort_hover_and_one_example(tmp_path: Path) -> None:
    from taxospec import check
    from taxospec.media.sources import MediaSources

    report_file = _report(tmp_path, "-boxes")
    embedded = len(
        check(
            DEMO / "spec-boxes.yaml",
            DEMO / "export-boxes.json",
            media=MediaSources(roots={"ls-document-root": DEMO}),
            cache_dir=ROOT / "build" / "demo" / "cache",
        ).scores.examples  # type: ignore[union-attr]
    )
    with page(tmp_path / "profile") as tab:
        _open(tab, report_file)
        explorer: dict[str, Any] = tab.evaluate(
            "({n: taxospecExplorer.examples(), onMap: taxospecExplorer.pointsOnMap(),"
            " drawn: taxospecExplorer.stats.pointsDrawn})"
        )
        assert explorer == {"n": embedded, "onMap": embedded, "drawn": embedded}
        charts = tab.evaluate(
            "[...document.querySelectorAll('#tightness svg[aria-label]')].map(s => s.getAttribute('aria-label'))"
        )
        assert {"label quality", "outlier score", "uniqueness", "duplicate score"} <= set(charts)
        box = _canvas(tab)
        tab.screenshot(ARTIFACTS / "explorer-map.png")
        points = _screen(tab, box)
        # a lasso (shift-drag) around the left third of the map, drawn with the mouse
        x0, x1, y0, y1 = box["x"] + 5, box["x"] + box["w"] / 3, box["y"] + 5, box["y"] + box["h"] - 5
        path = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)]
        _mouse(tab, "mousePressed", *path[0], shift=True)
        for x, y in path[1:]:
            _mouse(tab, "mouseMoved", x, y, shift=True)
        _mouse(tab, "mouseReleased", *path[-1], shift=True)
        inside = {i for i, p in enumerate(points) if p and x0 < p[0] < x1 and y0 < p[1] < y1}
        selected = set(tab.evaluate("[...taxospecExplorer.state.selected]"))
        assert inside and selected == inside, (len(selected), len(inside))
        assert set(tab.evaluate("taxospecExplorer.rowsShown()")) == inside, "the table lists the selection"
        tab.evaluate("document.getElementById('clear-selection').click()")
        # sort by label quality with a click on its header, then the other way
        header = "document.querySelector('#examples-head [data-key=quality]')"
        tab.evaluate(f"{header}.click()")
        rows = tab.evaluate("taxospecExplorer.rowsShown()")
        quality = tab.evaluate("JSON.parse(document.getElementById('explorer-data').textContent).examples.quality")
        ranked = [quality[i] for i in rows if quality[i] is not None]
        assert ranked == sorted(ranked) and len(ranked) == embedded
        first_row = tab.evaluate("document.querySelector('#examples-rows .row').dataset.example")
        assert int(first_row) == rows[0], "the first row drawn is the lowest label quality"
        tab.evaluate(f"{header}.click()")
        ranked = [quality[i] for i in tab.evaluate("taxospecExplorer.rowsShown()") if quality[i] is not None]
        assert ranked == sorted(ranked, reverse=True)
        # filter by a score: label quality below 0.5
        tab.evaluate(
            "(() => { const s = document.getElementById('filter-score'); s.value = 'quality';"
            " s.dispatchEvent(new Event('change')); const b = document.getElementById('filter-bound');"
            " b.value = '0.5'; b.dispatchEvent(new Event('input')); })()"
        )
        low = tab.evaluate("taxospecExplorer.rowsShown()")
        assert low and set(low) == {i for i, q in enumerate(quality) if q is not None and q < 0.5}
        tab.evaluate(
            "(() => { const b = document.getElementById('filter-bound'); b.value = '';"
            " b.dispatchEvent(new Event('input')); })()"
        )
        # hover over a flagged example: its picture; click it: the example with its findings and neighbours
        flagged = tab.evaluate("JSON.parse(document.getElementById('explorer-data').textContent).examples.flags")
        box = _canvas(tab)
        points = _screen(tab, box)

        def alone(i: int) -> bool:
            here = points[i]
            return here is not None and all(
                j == i or p is None or (p[0] - here[0]) ** 2 + (p[1] - here[1]) ** 2 > 64 for j, p in enumerate(points)
            )

        target = next(i for i, f in enumerate(flagged) if f and alone(i))
        x, y = points[target]  # type: ignore[misc]
        _mouse(tab, "mouseMoved", x, y)
        assert tab.wait_for("!document.getElementById('map-tip').hidden && !!document.querySelector('#map-tip img')")
        _mouse(tab, "mousePressed", x, y)
        _mouse(tab, "mouseReleased", x, y)
        assert tab.wait_for("taxospecExplorer.state.focus") == target
        panel = tab.evaluate("document.getElementById('example').innerText")
        codes = tab.evaluate(f"taxospecExplorer.codesOf({target})")
        assert codes and all(code in panel for code in codes)
        assert tab.evaluate("document.querySelectorAll('#example .neighbour').length") == 8
        assert tab.evaluate("!!document.querySelector('#example .pic canvas')"), "the box drawn on the picture"
        tab.evaluate("document.getElementById('example').scrollIntoView()")
        time.sleep(0.3)
        tab.screenshot(ARTIFACTS / "explorer-example.png")
        assert tab.errors() == []
        assert [url for url in tab.requests() if not url.startswith("data:")] == [report_file.as_uri()]


def test_a_flagged_segment_shows_its_strip_of_frames(tmp_path: Path) -> None:
    report_file = _report(tmp_path, "-clips")
    with page(tmp_path / "profile") as tab:
        _open(tab, report_file)
        strips = tab.evaluate("Object.keys(JSON.parse(document.getElementById('explorer-data').textContent).strips)")
        assert strips, "the demo's loose segments have strips"
        tab.evaluate(f"taxospecExplorer.openExample({strips[0]})")
        assert tab.wait_for("document.querySelectorAll('#example .strip figure').length") == 7
        assert tab.evaluate("document.querySelectorAll('#example .strip figure.inside').length") >= 3
        tab.evaluate("document.getElementById('example').scrollIntoView()")
        time.sleep(0.3)
        tab.screenshot(ARTIFACTS / "explorer-segment.png")
        assert tab.errors() == []
