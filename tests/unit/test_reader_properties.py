"""Property tests: whatever a task looks like, reading and checking it yields findings, never an exception."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxospec import check, load_spec
from taxospec.errors import ExportError

from ..conftest import EXAMPLES, FIXTURES

LS = FIXTURES / "label-studio"
SEEDS: list[Any] = (
    json.loads((LS / "img_easy_JSON_with_draft.json").read_text())
    + json.loads((LS / "vid_easy_JSON.json").read_text())
    + json.loads((EXAMPLES / "football-signals" / "export.json").read_text())[:3]
    + json.loads((EXAMPLES / "product-defects" / "export.json").read_text())[:3]
)
SPECS = [
    load_spec(LS / "img_spec.yaml"),
    load_spec(LS / "vid_spec.yaml"),
    load_spec(EXAMPLES / "football-signals" / "spec.yaml"),
    load_spec(EXAMPLES / "product-defects" / "spec.yaml"),
]

junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_tasks(draw: st.DrawFn) -> list[Any]:
    tasks = copy.deepcopy(draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4)))
    for _ in range(draw(st.integers(1, 8))):
        paths = _paths(tasks)
        path = draw(st.sampled_from(paths[1:]))
        parent = tasks
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(junk)
    return tasks


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_tasks(), st.sampled_from(SPECS))
def test_mutated_exports_never_crash(tasks: list[Any], spec: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_text(json.dumps(tasks, allow_nan=True))
        try:
            report = check(spec, path)
        except ExportError:
            return  # e.g. the first element became something that is not a task: a clear message
        assert report.summary.tasks <= len(tasks)
        for finding in report.findings:
            assert finding.message
