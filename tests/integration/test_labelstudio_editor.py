"""The findings that `check --write-back` writes show where annotators work, in Label Studio's own pages: a
headless Chromium logs in to the real server, opens the Data Manager on taxospec's "errors" tab, opens the
flagged task, selects the `taxospec` prediction, reads the findings panel, selects the region the finding
is drawn on and reads its message in the region's details. The screenshots are kept in
build/test-artifacts/ for people to look at (the README shows them)."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from ..conftest import EXAMPLES, ROOT
from .browser import page
from .labelstudio_server import PASSWORD, TOKEN, USER, pushed_project

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ls_token")]
SPEC = EXAMPLES / "product-defects" / "spec.yaml"
ARTIFACTS = ROOT / "build" / "test-artifacts"


def _casing_picture() -> str:
    """A brushed-metal casing with a scratch where the planted box is, as a data URI (the editor needs a
    picture that loads; the screenshot is easier to read with one worth looking at)."""
    import base64
    import io

    from PIL import Image, ImageDraw, ImageFilter

    picture = Image.new("RGB", (640, 480), (168, 172, 178))
    draw = ImageDraw.Draw(picture)
    for y in range(0, 480, 3):
        shade = 160 + (y * 7) % 24
        draw.line([(0, y), (640, y)], fill=(shade, shade + 3, shade + 8))
    draw.line([(470, 70), (515, 120)], fill=(70, 70, 75), width=3)  # the scratch, inside the planted box
    picture = picture.filter(ImageFilter.GaussianBlur(0.6))
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return "data:image/png;base64," + base64.b64encode(data.getvalue()).decode()


LEAVES = "[...document.querySelectorAll('*')].filter(e => e.children.length === 0)"
"""The page's innermost elements, where the editor's texts are."""


def _session_cookies(server: str) -> list[http.cookiejar.Cookie]:
    """Log in through Label Studio's login form, as a person would; the session cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server}/user/login/", timeout=30).close()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"email": USER, "password": PASSWORD, "csrfmiddlewaretoken": csrf}).encode()
    request = urllib.request.Request(f"{server}/user/login/", data=form, headers={"Referer": f"{server}/user/login/"})
    opener.open(request, timeout=30).close()
    assert any(c.name == "sessionid" for c in jar), "the login form did not log in"
    return list(jar)


def test_findings_are_drawn_in_the_editor_and_tabbed_in_the_data_manager(
    server: str, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    from label_studio_sdk import LabelStudio

    pushed = run_cli("push", SPEC, "--url", server, "--title", "editor")
    project = pushed_project(pushed.stdout)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    task = json.loads((SPEC.parent / "export.json").read_text())[0]
    result = [r for r in task["annotations"][0]["result"] if r["from_name"] != "lighting"]  # planted: no lighting
    imported = client.projects.import_tasks(
        id=project,
        request=[{"data": {**task["data"], "image": _casing_picture()}, "annotations": [{"result": result}]}],
        return_task_ids=True,
    )
    [task_id] = imported.task_ids or []
    wrote = run_cli("check", SPEC, "--url", server, "--project", str(project), "--write-back")
    assert "wrote findings to 1 task(s)" in wrote.stderr, wrote.stderr
    views = {v.data["title"]: v.id for v in client.views.list(project=project)}
    assert set(views) == {"taxospec: errors", "taxospec: axis-value-missing"}, views
    expected = "[error] axis-value-missing: the task has no value for axis 'lighting' (region N2WTqyI4bC, batch run "

    with page(tmp_path / "profile") as tab:
        for cookie in _session_cookies(server):
            tab.call("Network.setCookie", name=cookie.name, value=cookie.value or "", url=server)
        errors_tab = f"{server}/projects/{project}/data?tab={views['taxospec: errors']}"
        tab.call("Page.navigate", url=errors_tab)
        assert tab.wait_for(f"{LEAVES}.some(e => e.textContent.trim() === 'taxospec: axis-value-missing')")
        footer = "/Tasks:\\s*1\\s*\\/\\s*1/.test(document.body.innerText)"
        assert tab.wait_for(footer), "the errors tab does not list the flagged task"
        tab.screenshot(ARTIFACTS / "labelstudio-data-manager-tabs.png")
        tab.call("Page.navigate", url=f"{errors_tab}&task={task_id}")
        prediction_tab = (
            "[...document.querySelectorAll('.lsf-annotation-button__name')]"
            ".find(e => e.textContent.trim() === 'taxospec')"
        )
        assert tab.wait_for(f"!!{prediction_tab}"), "the editor shows no taxospec prediction tab"
        panel_text = f"{LEAVES}.map(e => e.textContent).find(t => t.startsWith('[error] axis-value-missing'))"
        # select the prediction until its panel shows: a click while the editor still loads can be lost
        panel = tab.wait_for(f"{panel_text} || void {prediction_tab}?.click()", seconds=90)
        drawn = "document.querySelector('.lsf-outliner-item__title')"
        assert tab.wait_for(f"{drawn}?.textContent") == "scratch", "the offending box is not drawn"
        details = "document.querySelector('.lsf-detailed-region__meta-text')?.textContent"
        message = tab.wait_for(f"{details} || void {drawn}.click()", seconds=30)
        tab.screenshot(ARTIFACTS / "labelstudio-editor-findings.png")
    assert panel.startswith(expected), panel
    assert message.startswith(expected), message
