"""The findings that `check --write-back` writes show in Label Studio's own labeling editor: a headless
Chromium logs in to the real server, opens a flagged task, selects the `taxospec` prediction and reads the
findings panel. The screenshot is kept in build/test-artifacts/ for people to look at."""

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
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGNsYGBiYAAAApIAhPd8o1gAAAAASUVORK5CYII="
)
"""A 2 by 2 grey PNG: the editor needs an image that loads."""
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


def test_the_editor_shows_the_findings_panel(server: str, run_cli: Callable[..., Result], tmp_path: Path) -> None:
    from label_studio_sdk import LabelStudio

    pushed = run_cli("push", SPEC, "--url", server, "--title", "editor")
    project = pushed_project(pushed.stdout)
    client = LabelStudio(base_url=server, api_key=TOKEN)
    task = json.loads((SPEC.parent / "export.json").read_text())[0]
    result = [r for r in task["annotations"][0]["result"] if r["from_name"] != "lighting"]  # planted: no lighting
    imported = client.projects.import_tasks(
        id=project,
        request=[{"data": {**task["data"], "image": PNG}, "annotations": [{"result": result}]}],
        return_task_ids=True,
    )
    [task_id] = imported.task_ids or []
    wrote = run_cli("check", SPEC, "--url", server, "--project", str(project), "--write-back")
    assert "wrote findings to 1 task(s)" in wrote.stderr, wrote.stderr

    with page(tmp_path / "profile") as tab:
        for cookie in _session_cookies(server):
            tab.call("Network.setCookie", name=cookie.name, value=cookie.value or "", url=server)
        tab.call("Page.navigate", url=f"{server}/projects/{project}/data?task={task_id}")
        prediction_tab = f"{LEAVES}.find(e => e.textContent.trim() === 'taxospec')"
        assert tab.wait_for(f"!!{prediction_tab}"), "the editor shows no taxospec prediction tab"
        panel_text = f"{LEAVES}.map(e => e.textContent).find(t => t.startsWith('[error] axis-value-missing'))"
        # select the prediction until its panel shows: a click while the editor still loads can be lost
        panel = tab.wait_for(f"{panel_text} || void {prediction_tab}?.click()", seconds=90)
        tab.evaluate(f"{LEAVES}.find(e => e.textContent.startsWith('taxospec findings')).scrollIntoView()")
        tab.screenshot(ROOT / "build" / "test-artifacts" / "labelstudio-editor-findings.png")
    assert panel == "[error] axis-value-missing: the task has no value for axis 'lighting' (region N2WTqyI4bC)"
