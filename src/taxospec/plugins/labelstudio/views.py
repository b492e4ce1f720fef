"""Data Manager tabs that show the tasks with taxospec findings, by severity and by check.

Label Studio 1.23's Data Manager filters tasks on a fixed set of columns (its `get_all_columns`): task
data fields, counts, dates, annotators, and the predictions' score, model versions and results. It cannot
filter on task meta. The one column that sees a finding's code and severity is "Prediction results", a
text match on each prediction's result as JSON, in which taxospec's prediction carries every finding
once (`"code": "box-too-small"`, `"severity": "error"`, in the `taxospec` key of a result's meta). taxospec
keeps one saved view (a tab) per severity and one per check code with findings, each such a filter, so
that nobody has to write one: "taxospec: errors", "taxospec: box-too-small", …
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from taxospec.plugins.labelstudio.client import requests_about

PREFIX = "taxospec: "
SEVERITY_TABS = {"error": "errors", "warning": "warnings", "info": "infos"}


def severity_title(severity: str) -> str:
    """The tab of one severity: `taxospec: errors`."""
    return PREFIX + SEVERITY_TABS.get(severity, severity)


def code_title(code: str) -> str:
    """The tab of one check: `taxospec: box-too-small`."""
    return PREFIX + code


def view_filters(key: str, value: str) -> dict[str, Any]:
    """The Data Manager filter for predictions whose results say `"key": "value"`."""
    needle = json.dumps({key: value})[1:-1]  # "code": "box-too-small", as the stored JSON spells it
    item = {"filter": "filter:tasks:predictions_results", "operator": "contains", "type": "String", "value": needle}
    return {"conjunction": "and", "items": [item]}


def wanted(found: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """The tabs for findings of these (code, severity) pairs: one per severity, then one per code; by title,
    their filters."""
    pairs = set(found)
    severities = [severity for severity in SEVERITY_TABS if any(s == severity for _, s in pairs)]
    tabs = {severity_title(severity): view_filters("severity", severity) for severity in severities}
    tabs.update({code_title(code): view_filters("code", code) for code in sorted({c for c, _ in pairs})})
    return tabs


def sync_views(client: Any, project: int, found: Iterable[tuple[str, str]], *, prune: bool) -> list[str]:
    """Create or update the taxospec tabs of `project` for findings of these (code, severity) pairs; with
    `prune` (a batch run, which sees every finding), delete the taxospec tabs with no findings now. Tabs
    made by people are never touched. Returns the titles created."""
    tabs = wanted(found)
    created = []
    with requests_about(project):
        existing = {_title(view): view for view in client.views.list(project=project)}
        for title, filters in tabs.items():
            view = existing.get(title)
            data = {"title": title, "filters": filters, "ordering": ["-tasks:predictions_score"]}
            if view is None:
                client.views.create(project=project, data=data)
                created.append(title)
            elif _filters(view) != filters:
                client.views.update(id=str(view.id), project=project, data=data)
        if prune:
            for title, view in existing.items():
                if title.startswith(PREFIX) and title not in tabs:
                    client.views.delete(id=str(view.id))
    return created


def _title(view: Any) -> str:
    data = getattr(view, "data", None) or {}
    return str(data.get("title", "")) if isinstance(data, dict) else ""


def _filters(view: Any) -> Any:
    data = getattr(view, "data", None) or {}
    return data.get("filters") if isinstance(data, dict) else None
