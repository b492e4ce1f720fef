"""The HTML report of `taxospec check`: one self-contained file (inline CSS, SVG and script; no network).

A Content-Security-Policy forbids every external resource, so the page provably opens offline.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping
from html import escape

from taxospec.findings import Finding, Severity
from taxospec.render.deployment_html import deployment_section
from taxospec.render.explorer import ExplorerMedia, explorer_section
from taxospec.render.html_scores import tightness_section
from taxospec.report import CellModel, Report

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SPLIT_COLORS = ["#2563eb", "#f59e0b", "#10b981", "#a855f7", "#ef4444"]
PICTURES_PER_FINDING = 6
"""Pictures beside one finding at most: its task and the first others it names (a duplicate group)."""
HTML_PER_CODE = 50
"""Findings listed per check in the HTML report (the JSON report lists them all)."""
STATUS_TEXT = {"covered": "at quota", "under quota": "under quota", "missing": "missing"}

STYLE = """
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --card:#fff; --bg:#f8fafc; --err:#dc2626; --warn:#d97706;
        --info:#0284c7; --ok:#16a34a; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#0f172a; color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header p { margin:0; color:#cbd5e1; font-size:14px; }
main { max-width:1180px; margin:0 auto; padding:24px 40px 60px; }
nav { display:flex; gap:18px; margin:6px 0 18px; font-size:14px; }
nav a { color:var(--muted); text-decoration:none; } nav a:hover { color:var(--ink); }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; margin:-44px 0 24px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px;
        box-shadow:0 1px 2px rgba(15,23,42,.06); }
.tile b { display:block; font-size:26px; font-weight:650; }
.tile span { color:var(--muted); font-size:13px; }
.tile.err b { color:var(--err); } .tile.warn b { color:var(--warn); } .tile.ok b { color:var(--ok); }
section { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:20px 24px;
          margin:0 0 20px; box-shadow:0 1px 2px rgba(15,23,42,.04); }
h2 { font-size:18px; margin:0 0 12px; } h3 { font-size:15px; margin:18px 0 8px; }
p.lead { color:var(--muted); margin:0 0 14px; font-size:14px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12.5px; text-transform:uppercase; letter-spacing:.02em; }
tbody th { text-transform:none; letter-spacing:0; color:var(--ink); font-size:13.5px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.heat td.cell { text-align:center; font-variant-numeric:tabular-nums; min-width:64px; border:2px solid #fff;
                border-radius:6px; }
.heat td.cell small { display:block; font-size:11px; opacity:.8; }
.covered { background:#dcfce7; color:#14532d; } .under { background:#fef3c7; color:#78350f; }
.missing { background:#fee2e2; color:#7f1d1d; font-weight:600; } .na { background:#f1f5f9; color:#94a3b8; }
.legend { display:flex; gap:14px; font-size:12.5px; color:var(--muted); margin:6px 0 0; }
.legend i { display:inline-block; width:12px; height:12px; border-radius:3px; margin-right:5px; vertical-align:-1px; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
.badge.error { background:#fee2e2; color:var(--err); } .badge.warning { background:#fef3c7; color:var(--warn); }
.badge.info { background:#e0f2fe; color:var(--info); }
details { border:1px solid var(--line); border-radius:10px; margin:0 0 10px; }
details > summary { cursor:pointer; padding:10px 14px; list-style:none; display:flex; gap:10px; align-items:center; }
details > summary::-webkit-details-marker { display:none; }
details > summary code { font-weight:600; } details > summary .count { margin-left:auto; color:var(--muted); }
details .body { padding:0 14px 12px; } details .doc { color:var(--muted); font-size:13.5px; margin:0 0 8px; }
ol.todo { padding-left:0; list-style:none; margin:0; counter-reset:todo; }
ol.todo li { display:flex; gap:12px; padding:9px 0; border-bottom:1px solid var(--line); }
ol.todo li input { margin-top:4px; } ol.todo .meta { color:var(--muted); font-size:12.5px; }
a { color:#1d4ed8; } code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
input.filter { width:100%; padding:8px 10px; border:1px solid var(--line); border-radius:8px; margin:0 0 12px;
               font:inherit; }
img.thumb { display:block; max-width:112px; max-height:112px; border-radius:6px; border:1px solid var(--line); }
.thumbs { display:flex; flex-wrap:wrap; gap:4px; max-width:360px; }
footer { color:var(--muted); font-size:12.5px; text-align:center; padding:10px; }
"""

SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('filter');
  var groups = document.querySelectorAll('#findings details');
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    groups.forEach(function (group) {
      var shown = 0;
      group.querySelectorAll('tbody tr').forEach(function (row) {
        var hit = !q || row.textContent.toLowerCase().indexOf(q) >= 0 || group.dataset.code.indexOf(q) >= 0;
        row.style.display = hit ? '' : 'none';
        if (hit) { shown += 1; }
      });
      group.style.display = shown ? '' : 'none';
      if (q && shown) { group.open = true; }
    });
  });
  document.body.dataset.ready = 'yes';
});
"""


def render_html(
    report: Report,
    *,
    per_code: int = HTML_PER_CODE,
    thumbnails: Mapping[tuple[int, float | None], str] | None = None,
    explorer: ExplorerMedia | None = None,
    deployment: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML document; `thumbnails` ((task id, moment) → `data:` URI, from
    `render.thumbnails`) puts a picture of the task (at the finding's moment, for a video) beside it. With
    the report's `examples`, the explorer (`render.explorer`) comes first, with `explorer`'s pictures;
    `deployment` pictures the deployment scenarios (example → `data:` URI)."""
    s = report.summary
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>taxospec · {escape(report.spec_name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header>",
        f"<h1>{escape(report.spec_name)}</h1>",
        f"<p>{escape(report.export_path)} · {escape(report.export_format)} · "
        f"taxospec {escape(report.taxospec_version)}</p>",
        "</header><main>",
        _tiles(report),
        "<nav>"
        + ('<a href="#map">Map</a><a href="#examples">Examples</a>' if report.examples is not None else "")
        + '<a href="#classes">Classes</a><a href="#coverage">Coverage</a><a href="#todo">To collect</a>'
        + ('<a href="#tightness">Tightness</a>' if report.scores and report.scores.tightness else "")
        + ('<a href="#deployment">Deployment</a>' if report.deployment is not None else "")
        + '<a href="#findings">Findings</a><a href="#checks">Checks</a></nav>',
        explorer_section(report, explorer),
        _classes(report),
        _coverage(report),
        _todo(report),
        deployment_section(report, deployment or {}),
        tightness_section(report),
        _findings(report, per_code, thumbnails or {}),
        _checks(report),
    ]
    if report.notes:
        parts.append("<section><h2>Notes</h2><ul>")
        parts += [f"<li>{escape(note)}</li>" for note in report.notes]
        parts.append("</ul></section>")
    parts += [
        f"<footer>{s.tasks} tasks · {s.annotations} annotations · {s.samples} examples</footer>",
        f"</main><script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _tiles(report: Report) -> str:
    s, c = report.summary, report.coverage
    tiles = [
        ("", f"{s.samples:,}", "examples"),
        ("", f"{s.tasks:,}", "tasks"),
        ("err" if s.findings["error"] else "ok", f"{s.findings['error']:,}", "errors"),
        ("warn" if s.findings["warning"] else "ok", f"{s.findings['warning']:,}", "warnings"),
        ("ok" if c.cells_covered >= 0.999 else "warn", f"{c.cells_covered:.0%}", "coverage cells at quota"),
        ("", f"{sum(i.missing for i in report.todo):,}", "captures to collect"),
    ]
    cards = "".join(
        f'<div class="tile {kind}"><b>{value}</b><span>{label}</span></div>' for kind, value, label in tiles
    )
    return f'<div class="tiles">{cards}</div>'


def _classes(report: Report) -> str:
    splits = sorted({split for c in report.classes.values() for split in c.by_split})
    colors = {split: SPLIT_COLORS[i % len(SPLIT_COLORS)] for i, split in enumerate(splits)}
    peak = max([c.total for c in report.classes.values()] + [c.minimum for c in report.classes.values()] + [1])
    width, label_w, row_h = 900, 150, 30
    height = row_h * len(report.classes) + 10
    bars = []
    for row, (name, count) in enumerate(report.classes.items()):
        y = 5 + row * row_h
        bars.append(
            f'<text x="{label_w - 10}" y="{y + 19}" text-anchor="end" font-size="13" fill="#0f172a">'
            f"{escape(name)}</text>"
        )
        x = float(label_w)
        parts = count.by_split.items() if count.by_split else [("all", count.total)]
        for split, n in parts:
            w = (width - label_w - 60) * n / peak
            color = colors.get(split, "#64748b")
            bars.append(
                f'<rect x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="18" rx="3" fill="{color}">'
                f"<title>{escape(name)} · {escape(split)}: {n}</title></rect>"
            )
            x += w
        bars.append(f'<text x="{x + 6:.1f}" y="{y + 19}" font-size="12.5" fill="#475569">{count.total}</text>')
        mx = label_w + (width - label_w - 60) * count.minimum / peak
        bars.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y + 1}" y2="{y + 27}" stroke="#dc2626" stroke-width="2" '
            f'stroke-dasharray="3 2"><title>minimum {count.minimum}</title></line>'
        )
    legend = "".join(f'<span><i style="background:{c}"></i>{escape(s)}</span>' for s, c in colors.items())
    legend += '<span><i style="background:#dc2626"></i>minimum (dashed)</span>'
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{c.role}</td><td class='num'>{c.total}</td><td class='num'>{c.minimum}</td>"
        + "".join(f"<td class='num'>{c.by_split.get(s, 0)}</td>" for s in splits)
        + "</tr>"
        for name, c in report.classes.items()
    )
    head = "".join(f"<th class='num'>{escape(s)}</th>" for s in splits)
    return (
        '<section id="classes"><h2>Class balance</h2>'
        '<p class="lead">Examples per class and split; the dashed line is the class minimum.</p>'
        f'<svg role="img" aria-label="examples per class" viewBox="0 0 {width} {height}" width="100%">'
        + "".join(bars)
        + f'</svg><div class="legend">{legend}</div>'
        f"<h3>Counts</h3><table><thead><tr><th>class</th><th>role</th><th class='num'>examples</th>"
        f"<th class='num'>minimum</th>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _status_class(cell: CellModel) -> str:
    return {"covered": "covered", "under quota": "under", "missing": "missing"}[cell.status]


def _coverage(report: Report) -> str:
    overall = [c for c in report.cells if c.split is None]
    one_way: dict[str, dict[tuple[str, str], CellModel]] = defaultdict(dict)
    combos: dict[tuple[str, ...], dict[str, list[CellModel]]] = defaultdict(lambda: defaultdict(list))
    for cell in overall:
        if len(cell.axes) == 1:
            one_way[cell.axes[0]][(cell.class_name, cell.values[0])] = cell
        elif len(cell.axes) > 1:
            combos[tuple(cell.axes)][cell.class_name].append(cell)
    c = report.coverage
    splits = ", ".join(f"{escape(k)} {v:.0%}" for k, v in c.by_split.items())
    out = [
        '<section id="coverage"><h2>Coverage</h2>',
        f'<p class="lead">{c.quota_fill:.1%} of all quota units filled; {c.cells_covered:.1%} of the cells at quota'
        + (f" (within the splits: {splits})" if splits else "")
        + ". Each cell shows examples / quota. One occurrence is not coverage.</p>",
        '<div class="legend"><span><i class="covered"></i>at quota</span><span><i class="under"></i>under quota'
        '</span><span><i class="missing"></i>missing</span><span><i class="na"></i>not required</span></div>',
    ]
    classes = list(report.classes)
    for axis, cells in one_way.items():
        values = list(dict.fromkeys(v for (_, v) in cells))
        head = "".join(f"<th>{escape(v)}</th>" for v in values)
        rows = []
        for name in classes:
            if not any(k[0] == name for k in cells):
                continue
            row = [f"<th>{escape(name)}</th>"]
            row += [_heat_cell(cells.get((name, value))) for value in values]
            missing = report.axis_counts.get(axis, {}).get(name, {}).get("(missing)", 0)
            row.append(f"<td class='num'>{missing or ''}</td>")
            rows.append("<tr>" + "".join(row) + "</tr>")
        out.append(
            f"<h3>{escape(axis)}</h3><table class='heat'><thead><tr><th>class</th>{head}<th class='num'>untagged</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    for axes, by_class in combos.items():
        out.append(f"<h3>{' × '.join(escape(a) for a in axes)}</h3>")
        for name, grid in by_class.items():
            out.append(_combination_grid(name, list(axes), grid))
    out.append("</section>")
    return "\n".join(out)


def _heat_cell(cell: CellModel | None) -> str:
    if cell is None:
        return "<td class='cell na'>–</td>"
    title = f"{cell.count} of {cell.quota} ({STATUS_TEXT[cell.status]})"
    return (
        f"<td class='cell {_status_class(cell)}' title='{escape(title)}'>{cell.count}<small>/ {cell.quota}</small></td>"
    )


def _combination_grid(class_name: str, axes: list[str], cells: list[CellModel]) -> str:
    by_values = {tuple(c.values): c for c in cells}
    rows_axis, cols_axes = axes[0], axes[1:]
    row_values = list(dict.fromkeys(c.values[0] for c in cells))
    col_values = list(dict.fromkeys(tuple(c.values[1:]) for c in cells))
    head = "".join(f"<th>{escape(' · '.join(v))}</th>" for v in col_values)
    body = []
    for rv in row_values:
        tds = "".join(_heat_cell(by_values.get((rv, *cv))) for cv in col_values)
        body.append(f"<tr><th>{escape(rv)}</th>{tds}</tr>")
    corner = f"{escape(rows_axis)} \\ {escape(' · '.join(cols_axes))}"
    return (
        f"<p class='lead' style='margin:10px 0 4px'><b>{escape(class_name)}</b></p>"
        f"<table class='heat'><thead><tr><th>{corner}</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _todo(report: Report) -> str:
    if not report.todo:
        return (
            '<section id="todo"><h2>To collect</h2><p class="lead">Nothing: every class meets its quotas.</p></section>'
        )
    total = sum(i.missing for i in report.todo)
    items = []
    for item in report.todo:
        split = f" · split <b>{escape(item.split)}</b>" if item.split else ""
        items.append(
            f"<li><input type='checkbox' aria-label='done'><div>{escape(item.instruction)}"
            f"<div class='meta'>#{item.rank} · {escape(item.kind)} · have {item.have}, need {item.need}, "
            f"{escape(item.status)}{split}</div></div></li>"
        )
    return (
        f'<section id="todo"><h2>To collect</h2><p class="lead">{len(report.todo)} items, {total} captures, '
        "most important first (missing cells before thin ones, larger gaps first).</p>"
        f"<ol class='todo'>{''.join(items)}</ol></section>"
    )


def _findings(report: Report, per_code: int, thumbnails: Mapping[tuple[int, float | None], str]) -> str:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        grouped[finding.code].append(finding)
    docs = {stat.code: stat for stat in report.checks}
    out = [
        '<section id="findings"><h2>Findings</h2>',
        '<input id="filter" class="filter" type="search" placeholder="Filter by text, class, task or code…">',
    ]
    if not grouped:
        out.append('<p class="lead">No findings.</p>')
    for code, findings in grouped.items():
        severity = findings[0].severity
        stat = docs.get(code)
        opened = " open" if severity == Severity.ERROR else ""
        rows = []
        shown = list(itertools.islice(findings, per_code))
        pictured = [_pictures(f, thumbnails) for f in shown]
        pictures = any(pictured)
        for finding, images in zip(shown, pictured, strict=True):
            task = str(finding.task_id) if finding.task_id is not None else ""
            if finding.link and task:
                task = f"<a href='{escape(finding.link)}'>{task}</a>"
            picture = f"<td>{images}</td>" if pictures else ""
            rows.append(
                f"<tr>{picture}<td>{task}</td><td><code>{escape(finding.region_id or '')}</code>{_moment(finding)}</td>"
                f"<td>{escape(finding.class_name or '')}</td><td>{escape(finding.message)}</td></tr>"
            )
        more = (
            f"<p class='doc'>… and {len(findings) - per_code} more (the JSON report lists them all).</p>"
            if len(findings) > per_code
            else ""
        )
        family = f" · {escape(stat.family)}" if stat else ""
        out.append(
            f"<details{opened} data-code='{escape(code)}'><summary><span class='badge {severity.value}'>"
            f"{severity.value}</span><code>{escape(code)}</code><span class='count'>{len(findings)}{family}</span>"
            f"</summary><div class='body'><table><thead><tr>{'<th>picture</th>' if pictures else ''}"
            f"<th>task</th><th>region</th><th>class</th>"
            f"<th>finding</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}</div></details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _moment(finding: Finding) -> str:
    return f"<br><small>at {finding.at_seconds:g} s</small>" if finding.at_seconds is not None else ""


def _pictures(finding: Finding, thumbnails: Mapping[tuple[int, float | None], str]) -> str:
    """The finding's task pictured (at its moment, for a video), and the other tasks it names (a duplicate
    group) beside it."""
    if finding.task_id is None:
        return ""
    shown = [(finding.task_id, finding.at_seconds), *((t, None) for t in finding.related_tasks)]
    images = []
    for task, moment in shown[:PICTURES_PER_FINDING]:
        uri = thumbnails.get((task, moment)) or thumbnails.get((task, None))
        if uri:
            images.append(f"<img class='thumb' src='{escape(uri)}' alt='task {task}' title='task {task}'>")
    return f"<div class='thumbs'>{''.join(images)}</div>" if images else ""


def _checks(report: Report) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(c.code)}</code></td><td>{escape(c.family)}</td>"
        f"<td><span class='badge {c.severity.value}'>{c.severity.value}</span></td>"
        f"<td class='num'>{c.evaluated}</td><td class='num'>{c.passed}</td><td class='num'>{c.failed}</td>"
        f"<td>{escape(c.skipped or '')}</td></tr>"
        for c in report.checks
    )
    return (
        '<section id="checks"><h2>Checks</h2><table><thead><tr><th>check</th><th>family</th><th>severity</th>'
        "<th class='num'>evaluated</th><th class='num'>passed</th><th class='num'>failed</th><th>skipped</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )
