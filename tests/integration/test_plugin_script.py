"""The Enterprise plugin script blocks exactly the annotations that `taxospec check` finds missing required
axes or segments out of bounds in: recorded annotations, judged by both, compared in node's test runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import Result

from taxospec import check

from ..conftest import EXAMPLES

pytestmark = pytest.mark.integration
BLOCKING = {"axis-value-missing", "region-attribute-missing", "segment-too-short", "segment-too-long"}
JS_TEST = Path(__file__).resolve().parents[1] / "js" / "plugin.test.js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is missing (make test installs Debian's nodejs)")
def test_plugin_agrees_with_the_checks(run_cli: object, tmp_path: Path) -> None:
    spec = EXAMPLES / "football-signals" / "spec.yaml"
    plugin = tmp_path / "plugin.js"
    result: Result = run_cli("config", spec, "-o", tmp_path / "project.xml", "--plugin", plugin)  # type: ignore[operator]
    assert result.exit_code == 0, result.stderr
    single = []  # each task with its first submitted annotation only, as the editor would save it
    for task in json.loads((EXAMPLES / "football-signals" / "export.json").read_text()):
        submitted = [a for a in task["annotations"] if not a.get("was_cancelled")]
        if submitted:
            single.append({**task, "annotations": submitted[:1]})
    export = tmp_path / "single.json"
    export.write_text(json.dumps(single))
    findings = check(spec, export, config=tmp_path / "project.xml").findings
    blocked = {f.task_id: [] for f in findings if f.code in BLOCKING}
    for f in findings:
        if f.code in BLOCKING:
            blocked[f.task_id].append(f.code)
    assert blocked, "the example should plant some blocking problems"
    cases = [
        {
            "task": t["id"],
            "result": t["annotations"][0]["result"],
            "blocked": t["id"] in blocked,
            "codes": blocked.get(t["id"], []),
        }
        for t in single
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {**os.environ, "TAXOSPEC_PLUGIN": str(plugin), "TAXOSPEC_CASES": str(tmp_path / "cases.json")}
    node = shutil.which("node")
    assert node is not None
    run = subprocess.run([node, "--test", str(JS_TEST)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"# pass {len(cases) + 3}" in run.stdout
