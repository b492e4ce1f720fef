"""The deployment section of the HTML report: how much of the deployment sample the data covers, per
sample; each uncovered scenario described and pictured; per axis, deployment beside the data."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from taxospec.deployment.summary import DeploymentSummary
from taxospec.report import Report


def deployment_section(report: Report, pictures: Mapping[str, str]) -> str:
    """The section (empty without a deployment sample); `pictures`: example → `data:` URI."""
    found = report.deployment
    if found is None:
        return ""
    rows = "".join(
        f"<tr><td>{escape(s.name)}</td><td class='num'>{s.pictures}</td><td class='num'>{s.uncovered:.0%}</td>"
        f"<td class='num'>{'' if s.shift_auc is None else f'{s.shift_auc:.2f}'}</td>"
        f"<td class='num'>{s.unreadable}</td></tr>"
        for s in found.samples
    )
    parts = [
        '<section id="deployment"><h2>Deployment</h2>',
        f"<p class='lead'>{found.uncovered:.0%} of {found.pictures} deployment pictures have no labeled example "
        f"like them; {len(found.scenarios)} scenario(s) of them, {found.scattered} scattered. Shift: how well a "
        "linear probe tells a sample from the labeled data (AUC; 0.5 alike, 1 apart).</p>",
        "<table><tr><th>sample</th><th>pictures</th><th>not covered</th><th>shift AUC</th><th>unreadable</th></tr>",
        rows,
        "</table>",
        _scenarios(found, pictures),
        _axes(found),
        "</section>",
    ]
    return "\n".join(parts)


def _scenarios(found: DeploymentSummary, pictures: Mapping[str, str]) -> str:
    items = []
    for s in found.scenarios:
        images = "".join(
            f"<img class='thumb' src='{escape(pictures[e])}' alt='{escape(e)}' title='{escape(e)}'>"
            for e in s.examples
            if e in pictures
        )
        names = "" if images else "<br>" + ", ".join(f"<code>{escape(e)}</code>" for e in s.examples)
        like = f", looks like <b>{escape(s.looks_like)}</b>" if s.looks_like else ""
        items.append(
            f"<li><div><b>Scenario {s.number}</b>: {s.pictures} pictures ({s.share:.0%}) seen by "
            f"{escape(s.sample)}, {escape(s.description)}{like}{names}</div>"
            f"<div class='thumbs'>{images}</div></li>"
        )
    return f"<h3>Uncovered scenarios</h3><ol class='todo'>{''.join(items)}</ol>" if items else ""


def _axes(found: DeploymentSummary) -> str:
    if not found.axes:
        return ""
    rows = []
    for axis, values in found.axes.items():
        for v in values:
            annotated = "" if v.annotated is None else f"{v.annotated:.0%}"
            rows.append(
                f"<tr><td>{escape(axis)}</td><td>{escape(v.value)}</td><td class='num'>{v.deployment:.0%}</td>"
                f"<td class='num'>{v.data:.0%}</td><td class='num'>{annotated}</td></tr>"
            )
    return (
        "<h3>Axes: deployment beside the data</h3><table><tr><th>axis</th><th>value</th>"
        "<th>deployment (zero-shot)</th><th>data (zero-shot)</th><th>data (annotated)</th></tr>"
        + "".join(rows)
        + "</table>"
    )
