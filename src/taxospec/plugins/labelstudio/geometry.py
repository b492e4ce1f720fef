"""Where a Label Studio region is: boxes, ellipses, polygons, timeline segments and video tracks, as the
kind, geometry and timing rows of `SampleTable`.

Coordinates stay in Label Studio's percent of the picture; areas are fractions of it; times are seconds
from frame numbers at the task's frame rate. A region that cannot be placed is reported through
`report(code, message)` and yields fewer pieces, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from taxospec.dataset import KIND_BOX, KIND_POLYGON, KIND_SEGMENT, KIND_TRACK, NO_GEOMETRY, NO_TIMING, Outline
from taxospec.plugins.labelstudio.results import Region, number

Piece = tuple[int, tuple[float, ...], tuple[float, ...]]
"""One sample's kind, geometry and timing, as `SampleTable.add` takes them."""

Report = Callable[[str, str], None]
"""Called with an issue code and its message for what cannot be placed."""

_NAN = math.nan


def region_pieces(region: Region, fps: float, report: Report) -> list[Piece]:
    """The samples one region makes: one per timeline range, else one."""
    value = region.value or {}
    result_type = region.result_type
    image_w, image_h = number(region.image_w), number(region.image_h)
    if result_type == "timelinelabels":
        return _segments(value, fps, report)
    if result_type == "videorectangle":
        return _track(value, fps, report)
    if result_type in ("polygonlabels", "polygon"):
        return _polygon(value, image_w, image_h, report)
    if result_type in ("ellipselabels", "ellipse"):
        cx, cy = number(value.get("x")), number(value.get("y"))
        rx, ry = number(value.get("radiusX")), number(value.get("radiusY"))
        area = math.pi * rx * ry / 10000
        ex, ey = ellipse_extent(rx, ry, number(value.get("rotation", 0)), image_w, image_h)
        return [(KIND_BOX, (cx - ex, cy - ey, 2 * ex, 2 * ey, 0.0, area, image_w, image_h), NO_TIMING)]
    x, y = number(value.get("x")), number(value.get("y"))
    w, h = number(value.get("width")), number(value.get("height"))
    if any(math.isnan(c) for c in (x, y, w, h)):
        report("malformed-result", "a box lacks numeric x, y, width and height")
    elif any(math.isinf(c) for c in (x, y, w, h)):
        report("malformed-result", "a box has an infinite x, y, width or height")
    geometry = (x, y, w, h, number(value.get("rotation", 0)), w * h / 10000, image_w, image_h)
    return [(KIND_BOX, geometry, NO_TIMING)]


def outline_of(region: Region) -> Outline | None:
    """The exact shape of a polygon or ellipse region, for drawing it (None for other regions, and for one
    whose numbers do not read)."""
    value = region.value or {}
    if region.result_type in ("polygonlabels", "polygon"):
        points = value.get("points")
        if not isinstance(points, list) or len(points) < 3:
            return None
        pairs = [(number(p[0]), number(p[1])) for p in points if isinstance(p, list) and len(p) >= 2]
        if len(pairs) != len(points) or not all(math.isfinite(x) and math.isfinite(y) for x, y in pairs):
            return None
        return Outline("polygon", points=tuple(pairs))
    if region.result_type in ("ellipselabels", "ellipse"):
        numbers = tuple(
            number(value.get(k, 0 if k == "rotation" else None)) for k in ("x", "y", "radiusX", "radiusY", "rotation")
        )
        if not all(math.isfinite(n) for n in numbers):
            return None
        cx, cy, rx, ry, turn = numbers
        return Outline("ellipse", ellipse=(cx, cy, rx, ry, turn))
    return None


def _segments(value: dict[str, Any], fps: float, report: Report) -> list[Piece]:
    ranges = value.get("ranges")
    if not isinstance(ranges, list):
        report("malformed-result", "a timeline result's ranges is not a list")
        return []
    out: list[Piece] = []
    for r in ranges:
        start = number(r.get("start")) if isinstance(r, dict) else _NAN
        end = number(r.get("end")) if isinstance(r, dict) else _NAN
        if math.isnan(start) or math.isnan(end):
            report("malformed-result", "a timeline range has no numeric start and end")
            continue
        out.append((KIND_SEGMENT, NO_GEOMETRY, ((start - 1) / fps, end / fps, start, end, _NAN)))
    return out


def _polygon(value: dict[str, Any], image_w: float, image_h: float, report: Report) -> list[Piece]:
    points = value.get("points")
    if not isinstance(points, list) or len(points) < 3:
        n = len(points) if isinstance(points, list) else 0
        report("polygon-too-few-points", f"polygon has {n} point(s); at least 3 make an area")
        return [(KIND_POLYGON, (_NAN, _NAN, 0.0, 0.0, 0.0, 0.0, image_w, image_h), NO_TIMING)]
    xs, ys = [], []
    for point in points:
        if not (isinstance(point, list) and len(point) >= 2):
            report("malformed-result", "a polygon point is not an [x, y] pair")
            return []
        xs.append(number(point[0]))
        ys.append(number(point[1]))
    area = abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2 / 10000
    x0, y0 = min(xs), min(ys)
    return [(KIND_POLYGON, (x0, y0, max(xs) - x0, max(ys) - y0, 0.0, area, image_w, image_h), NO_TIMING)]


def _track(value: dict[str, Any], fps: float, report: Report) -> list[Piece]:
    sequence = value.get("sequence")
    frames_count = number(value.get("framesCount"))
    keyframes = [k for k in sequence if isinstance(k, dict)] if isinstance(sequence, list) else []
    keyframes.sort(key=lambda k: number(k.get("frame")) if not math.isnan(number(k.get("frame"))) else 0)
    enabled = [k for k in keyframes if k.get("enabled", True) is not False]
    if not enabled:
        report("malformed-result", "a video rectangle has no enabled keyframe")
        return []
    _report_leaving_frame(enabled, report)
    start = number(enabled[0].get("frame"))
    last = keyframes[-1]
    end = number(last.get("frame"))
    if last.get("enabled", True) is not False and not math.isnan(frames_count):
        end = frames_count  # an enabled last keyframe keeps the box until the end of the video
    smallest = min(enabled, key=lambda k: number(k.get("width")) * number(k.get("height")))
    x, y = number(smallest.get("x")), number(smallest.get("y"))
    w, h = number(smallest.get("width")), number(smallest.get("height"))
    geometry = (x, y, w, h, number(smallest.get("rotation", 0)), w * h / 10000, _NAN, _NAN)
    return [(KIND_TRACK, geometry, ((start - 1) / fps, end / fps, start, end, frames_count))]


def _report_leaving_frame(keyframes: list[dict[str, Any]], report: Report) -> None:
    """Report the first keyframe whose box leaves the frame."""
    for keyframe in keyframes:
        kx, ky = number(keyframe.get("x")), number(keyframe.get("y"))
        kw, kh = number(keyframe.get("width")), number(keyframe.get("height"))
        if kx < -0.01 or ky < -0.01 or kx + kw > 100.01 or ky + kh > 100.01:
            report(
                "box-outside-image",
                f"the box leaves the frame at keyframe {keyframe.get('frame')} "
                f"(x {kx:.4g}–{kx + kw:.4g} %, y {ky:.4g}–{ky + kh:.4g} %)",
            )
            return


def ellipse_extent(rx: float, ry: float, rotation: float, image_w: float, image_h: float) -> tuple[float, float]:
    """Half the width and height, in percent, of the upright box around an ellipse of radii `rx`, `ry` (in
    percent) turned `rotation` degrees about its centre — as Label Studio turns ellipses — computed in
    pixels where the picture's size is known (a turn in percent would shear it)."""
    theta = math.radians(rotation) if math.isfinite(rotation) else 0.0
    if not theta % (2 * math.pi):
        return rx, ry
    sx = image_w / 100 if math.isfinite(image_w) and image_w > 0 else 1.0
    sy = image_h / 100 if math.isfinite(image_h) and image_h > 0 else 1.0
    a, b, cos, sin = rx * sx, ry * sy, math.cos(theta), math.sin(theta)
    return math.hypot(a * cos, b * sin) / sx, math.hypot(a * sin, b * cos) / sy
