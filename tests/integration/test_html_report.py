"""The HTML report renders in a real headless Chromium: no console errors, no network, a screenshot.

Chromium comes from Debian's `chromium` package, which `make test` installs when it is missing. The
screenshot is written to build/test-artifacts/ (ignored by git) for people to look at.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from taxospec import check
from taxospec.render.html import render_html

from ..conftest import EXAMPLES, ROOT
from .browser import chromium, chromium_env

ARTIFACTS = ROOT / "build" / "test-artifacts"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def _run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with chromium_env() as env:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = EXAMPLES / "football-signals"
    report = check(
        folder / "spec.yaml", folder / "export.json", config=folder / "project.xml", ls_url="http://localhost:8080"
    )
    page = tmp_path_factory.mktemp("html") / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return page


def test_the_detector_sees_console_errors_and_blocked_loads(tmp_path: Path) -> None:
    """Negative control: a page with a script error and an external image is caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "script-src 'unsafe-inline'\"></head><body><img src='https://example.com/x.png'>"
        "<script>notDefined();</script></body></html>"
    )
    messages = _console(_run(page, tmp_path / "profile", "--dump-dom").stderr)
    assert any("Uncaught ReferenceError" in m for m in messages)
    assert any("Content Security Policy" in m for m in messages)


def test_report_renders_without_console_errors(report_page: Path, tmp_path: Path) -> None:
    done = _run(report_page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    assert 'data-ready="yes"' in done.stdout, "the page's script ran to the end"
    for text in ("Class balance", "Coverage", "To collect", "Findings", "lighting × bystanders"):
        assert text in done.stdout


def test_report_screenshot(report_page: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = _run(
        report_page, tmp_path / "profile", "--hide-scrollbars", "--window-size=1280,4000", f"--screenshot={shot}"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    assert shot.exists() and shot.stat().st_size > 50_000, "a rendered page, not a blank one"


def test_report_is_self_contained(report_page: Path) -> None:
    html = report_page.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html
    loads = re.findall(r"""(?:src|href)\s*=\s*['"]((?:https?:)?//[^'"]+)""", html)
    assert all(link.startswith("http://localhost:8080/projects/") for link in loads), "only links to tasks"
    assert not re.search(r"<(?:link|iframe|object|embed)\b", html)
    assert "@import" not in html and "url(" not in html


def test_flagged_tasks_are_pictured_in_the_page(run_cli: Any, tmp_path: Path) -> None:
    """`check -o report.html` with readable media puts a thumbnail (a data: URI) beside each shown finding
    with a task; the browser decodes every one under the page's CSP, and nothing else is loaded."""
    from .browser import page

    demo = EXAMPLES / "synthetic-signals"
    out = tmp_path / "report.html"
    args = ["check", demo / "spec.yaml", demo / "export.json", "--ls-document-root", demo]
    result = run_cli(*args, "--cache-dir", tmp_path / "cache", "--device", "cpu", "-o", out)
    assert result.exit_code in (0, 1), result.stderr
    html = out.read_text(encoding="utf-8")
    pictures = re.findall(r"<img class='thumb' src='(data:image/jpeg;base64,[^']+)' alt='task (\d+)'", html)
    report = json.loads(run_cli(*args, "--cache-dir", tmp_path / "cache", "--format", "json").stdout)
    flagged = {f["task_id"] for f in report["findings"] if f["task_id"] is not None}
    named = {task for f in report["findings"] for task in f["related_tasks"]}
    assert pictures and {int(task) for _, task in pictures} == flagged | named, "every task shown is pictured"
    assert set(report["media"]) == {str(task) for task in flagged | named}
    groups = [f for f in report["findings"] if f["code"] == "near-duplicate"]
    assert groups and all(len(f["related_tasks"]) == f["count"] - 1 for f in groups)
    first = groups[0]["task_id"]
    row = re.search(rf"<div class='thumbs'>((?:<img [^>]+>)+)</div></td><td>(?:<a[^>]*>)?{first}(?:</a>)?</td>", html)
    assert row and row.group(1).count("<img") == groups[0]["count"], "a duplicate group is pictured whole"
    with page(tmp_path / "profile") as tab:
        tab.call("Page.navigate", url=out.as_uri())
        assert tab.wait_for("document.body.dataset.ready === 'yes'", seconds=30)
        thumbs = "Array.from(document.querySelectorAll('img.thumb'))"
        decoded = tab.evaluate(f"{thumbs}.filter(i => i.complete && i.naturalWidth > 0).length")
        assert decoded == len(pictures)
        broken = "Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).length"
        assert tab.evaluate(broken) == 0, "every picture of the page decodes, the explorer's too"
        rows = tab.evaluate("document.querySelectorAll('#tightness tbody tr').length")
        per_class = "#tightness figure svg[aria-label^='label quality of']"
        charts = tab.evaluate(f'document.querySelectorAll("{per_class}").length')
        cuts = tab.evaluate(f'document.querySelectorAll("{per_class} line").length')
        classes = len(report["scores"]["tightness"])
        flagged_classes = sum(1 for row in report["scores"]["tightness"] if row["label_quality_cut"] is not None)
        assert rows == charts == classes == 3 and cuts == flagged_classes >= 1
        drawn = tab.evaluate("document.querySelector('#tightness figure svg').getBoundingClientRect().width")
        assert drawn > 100, "the histograms are laid out, not collapsed"
        tab.evaluate("document.querySelectorAll('#findings details').forEach(d => { d.open = true; })")
        tab.evaluate("document.querySelector('#findings details[data-code=likely-mislabel]').scrollIntoView()")
        tab.screenshot(ARTIFACTS / "report-thumbnails.png")
    bare = tmp_path / "bare.html"
    run_cli(*args, "--cache-dir", tmp_path / "cache", "--no-thumbnails", "-o", bare)
    assert "<img" not in bare.read_text(encoding="utf-8")
    assert '"pictures":[]' in bare.read_text(encoding="utf-8"), "--no-thumbnails leaves the explorer's out too"
