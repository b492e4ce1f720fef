"""The HTML report's tightness section: the per-class tightness table and each class's label-quality
distribution with `likely-mislabel`'s threshold marked (drawn as inline SVG)."""

from __future__ import annotations

import math
from html import escape

from taxospec.report import Report
from taxospec.score_tables import ClassTightness, ScoreSummary, ScoreTables

STATUS_STYLE = {
    "tight": "covered",
    "loose": "under",
    "mixed": "missing",
    "separated": "covered",
    "too close": "missing",
}


def tightness_section(report: Report) -> str:
    """The section (empty when the run had no example scores)."""
    tables = report.scores
    if tables is None or not tables.tightness:
        return ""
    rows = "".join(_row(row) for row in tables.tightness)
    charts = "".join(_histogram(row) for row in tables.tightness if row.label_quality_histogram)
    return (
        '<section id="tightness"><h2>Class tightness</h2>'
        f'<p class="lead">{escape(_how(tables.summary))}</p>'
        "<table><thead><tr><th>class</th><th>role</th><th class='num'>examples</th>"
        "<th class='num'>neighbours agreeing</th><th class='num'>by chance</th><th class='num'>spread</th>"
        "<th class='num'>× typical</th><th class='num'>label noise</th><th class='num'>likely mislabels</th>"
        f"<th>status</th><th>hard negatives</th></tr></thead><tbody>{rows}</tbody></table>"
        "<h3>Label quality per class</h3>"
        '<p class="lead">How many examples of each class have each label quality (0: the evidence says another '
        "class, 1: it agrees; bar heights on a log scale); the red line is the highest quality "
        "<code>likely-mislabel</code> flagged.</p>"
        f'<div class="thumbs" style="max-width:none">{charts}</div>'
        f"{_distributions(tables)}</section>"
    )


def _distributions(tables: ScoreTables) -> str:
    """Each example score's distribution over every embedded example, its threshold marked."""
    rows = tables.examples
    if not rows:
        return ""
    quality = [r.label_quality for r in rows if r.label_quality is not None]
    flagged = [r.label_quality for r in rows if r.mislabel and r.label_quality is not None]
    summary = tables.summary
    relative = (
        summary.duplicate_distance / summary.median_nearest_distance
        if summary.duplicate_distance is not None and summary.median_nearest_distance
        else None
    )
    charts = [
        _chart("label quality", quality, 1.0, max(flagged) if flagged else None, "likely-mislabel flagged up to"),
        _chart("outlier score", [r.outlier_score for r in rows], None, 1.0, "the class's fence"),
        _chart("uniqueness", [r.uniqueness for r in rows], 1.0, None, ""),
        _chart("duplicate score", [r.duplicate_score for r in rows], None, relative, "near-duplicate below"),
    ]
    return (
        "<h3>Score distributions</h3>"
        '<p class="lead">Every embedded example\'s scores (bar heights on a log scale); the red line is where '
        "the check draws its line.</p>"
        f'<div class="thumbs" style="max-width:none">{"".join(charts)}</div>'
    )


def _chart(name: str, values: list[float], high: float | None, cut: float | None, what: str, bins: int = 20) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    top_value = high if high is not None else max(max(finite), (cut or 0.0) * 1.2, 1e-9)
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, max(0, int(v / top_value * bins)))] += 1
    width, height, top = 260, 90, 14
    peak = math.log1p(max(counts) or 1)
    step = width / bins
    bars = "".join(
        f'<rect x="{i * step + 1:.1f}" y="{top + (height - top) * (1 - math.log1p(n) / peak):.1f}" '
        f'width="{step - 2:.1f}" height="{(height - top) * math.log1p(n) / peak:.1f}" fill="#64748b">'
        f"<title>{i * top_value / bins:.2f}–{(i + 1) * top_value / bins:.2f}: {n}</title></rect>"
        for i, n in enumerate(counts)
    )
    line = ""
    if cut is not None and 0 <= cut <= top_value:
        x = width * cut / top_value
        line = (
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2}" y2="{height}" stroke="#dc2626" stroke-width="2">'
            f"<title>{escape(what)} {cut:.2f}</title></line>"
        )
    return (
        f'<figure style="margin:0 12px 8px 0"><svg role="img" aria-label="{escape(name)}" '
        f'viewBox="0 0 {width} {height + 14}" width="{width}">'
        f'<text x="0" y="11" font-size="12" fill="#0f172a">{escape(name)} ({len(finite)})</text>{bars}{line}'
        f'<text x="0" y="{height + 12}" font-size="10" fill="#64748b">0</text>'
        f'<text x="{width}" y="{height + 12}" font-size="10" fill="#64748b" text-anchor="end">{top_value:.2g}</text>'
        "</svg></figure>"
    )


def _how(summary: ScoreSummary) -> str:
    parts = [f"Measured in the {summary.geometry} geometry"]
    if summary.vote_weight is not None:
        parts.append(
            f"label evidence: {1 - summary.vote_weight:.0%} linear probe, {summary.vote_weight:.0%} neighbour vote"
        )
    if summary.estimated_label_noise is not None:
        parts.append(f"estimated label noise {summary.estimated_label_noise:.1%}")
    if summary.predictions_used:
        parts.append(f"{summary.predictions_used} predictions of your model mixed in")
    return "; ".join(parts) + ". Each measure stands beside what it would be by chance or for the typical class."


def _row(row: ClassTightness) -> str:
    negatives = "".join(
        f'<div><span class="badge {STATUS_STYLE[m.status]}">{escape(m.status)}</span> {escape(m.negative)}: '
        f"margin {m.margin:+.2f}, {m.closer_share:.0%} closer to it</div>"
        for m in row.hard_negatives
    )
    ratio = row.spread / row.typical_spread if row.typical_spread else 0.0
    noise = f"{row.label_noise:.1%}" if row.label_noise is not None else "—"
    return (
        f"<tr><td>{escape(row.class_name)}</td><td>{escape(row.role)}</td><td class='num'>{row.examples}</td>"
        f"<td class='num'>{row.agreement:.0%}</td><td class='num'>{row.agreement_by_chance:.0%}</td>"
        f"<td class='num'>{row.spread:.3g}</td><td class='num'>{ratio:.2f}</td><td class='num'>{noise}</td>"
        f"<td class='num'>{row.flagged}</td>"
        f'<td><span class="badge {STATUS_STYLE[row.status]}">{escape(row.status)}</span></td>'
        f"<td>{negatives or '—'}</td></tr>"
    )


def _histogram(row: ClassTightness) -> str:
    counts = row.label_quality_histogram
    width, height, top = 260, 90, 14
    peak = math.log1p(max(counts) or 1)
    step = width / len(counts)
    bars = "".join(
        f'<rect x="{i * step + 1:.1f}" y="{top + (height - top) * (1 - math.log1p(n) / peak):.1f}" '
        f'width="{step - 2:.1f}" height="{(height - top) * math.log1p(n) / peak:.1f}" fill="#64748b">'
        f"<title>{i / len(counts):.2f}–{(i + 1) / len(counts):.2f}: {n}</title></rect>"
        for i, n in enumerate(counts)
    )
    cut = ""
    if row.label_quality_cut is not None:
        x = width * row.label_quality_cut
        cut = (
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2}" y2="{height}" stroke="#dc2626" stroke-width="2">'
            f"<title>likely-mislabel flagged up to {row.label_quality_cut:.2f}</title></line>"
        )
    return (
        f'<figure style="margin:0 12px 8px 0"><svg role="img" aria-label="label quality of {escape(row.class_name)}" '
        f'viewBox="0 0 {width} {height + 14}" width="{width}">'
        f'<text x="0" y="11" font-size="12" fill="#0f172a">{escape(row.class_name)}</text>{bars}{cut}'
        f'<text x="0" y="{height + 12}" font-size="10" fill="#64748b">0</text>'
        f'<text x="{width}" y="{height + 12}" font-size="10" fill="#64748b" text-anchor="end">1</text>'
        "</svg></figure>"
    )
