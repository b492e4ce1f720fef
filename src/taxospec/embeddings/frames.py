"""What gets embedded besides whole pictures (`pictures.py`): a box crop with a margin, and frames sampled
inside a video segment (PyAV), turned as the video says."""

from __future__ import annotations

import io
import math
import os
from typing import Any, NamedTuple

from taxospec.media.sources import MediaProblem

DECODING = 2
"""How media becomes pixels, part of every cache identity: 2 shows pictures as a browser (and so Label
Studio) does — turned upright (EXIF orientation; a video's display matrix), transparent parts on white,
16-bit ones by their high byte — where 1 took the stored pixels as they were."""


def crop(image: Any, box: tuple[float, float, float, float], margin: float, rotation: float = 0.0) -> Any:
    """The part of a PIL image that `box` names (see `box_pixels`)."""
    width, height = image.size
    return image.crop(box_pixels(width, height, box, margin, rotation))


def box_pixels(
    width: int, height: int, box: tuple[float, float, float, float], margin: float, rotation: float = 0.0
) -> tuple[int, int, int, int]:
    """Pixel bounds (left, top, right, bottom) of `box` (x, y, width, height in percent of the picture,
    turned `rotation` degrees clockwise about its top-left corner, as Label Studio draws it): the rectangle
    around it, grown by `margin` × its size on each side, clipped to the picture. MediaProblem when the
    box has no area or lies outside the picture."""
    x, y, w, h = (v / 100 for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h, margin, rotation)) or w <= 0 or h <= 0:
        raise MediaProblem("media-unreadable", "the box has no area to crop")
    left, top, box_w, box_h = x * width, y * height, w * width, h * height
    if rotation % 360:  # in pixels: a turn in percent would shear a box on a picture that is not square
        theta = math.radians(rotation)
        cos, sin = math.cos(theta), math.sin(theta)
        corners = ((0, 0), (box_w, 0), (box_w, box_h), (0, box_h))
        xs = [round(left + dx * cos - dy * sin, 6) for dx, dy in corners]  # cos(180°) leaves 1e-14s behind
        ys = [round(top + dx * sin + dy * cos, 6) for dx, dy in corners]
        left, top, box_w, box_h = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    right, bottom = left + box_w * (1 + margin), top + box_h * (1 + margin)
    left, top = max(0, math.floor(left - margin * box_w)), max(0, math.floor(top - margin * box_h))
    right, bottom = min(width, math.ceil(right)), min(height, math.ceil(bottom))
    if right <= left or bottom <= top:
        raise MediaProblem("media-unreadable", "the box lies outside the image")
    return left, top, right, bottom


def sample_times(start: float, end: float, count: int) -> list[float]:
    """`count` instants inside [start, end]: start, middle and end for 3, evenly spaced otherwise."""
    if count <= 1 or end <= start:
        return [(start + end) / 2]
    return [start + (end - start) * i / (count - 1) for i in range(count)]


def segment_times(start_s: float, end_s: float, start_frame: float, end_frame: float, count: int) -> list[float]:
    """`count` instants at frame centres inside a segment of frames `start_frame`..`end_frame` (inclusive)
    that spans `start_s`..`end_s`, so that the first and last samples show the segment's own frames."""
    frames = end_frame - start_frame + 1
    half = (end_s - start_s) / frames / 2 if frames > 0 and math.isfinite(frames) else 0.0
    return sample_times(start_s + half, end_s - half, count)


SEEK_AHEAD = 3.0
"""Seconds: a moment further ahead of the last decoded frame than this is reached by seeking to the
keyframe before it, not by decoding everything in between (a segment near the end of an hour-long video
would otherwise cost the whole hour's decoding)."""


Video = bytes | str
"""A video: its bytes, or the path of a local file (read by FFmpeg as it goes, never whole in memory)."""


def _open(video: Video) -> Any:
    import av

    return av.open(io.BytesIO(video) if isinstance(video, bytes) else video, mode="r")


def video_frames(data: Video, times: list[float], name: str, *, seek_ahead: float = SEEK_AHEAD) -> list[Any]:
    """The decoded frame shown at each of `times` (seconds), as RGB PIL images, in the order given."""
    import av

    try:
        container = _open(data)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaProblem("media-unreadable", f"{name}: not a readable video ({_plain(exc, data)})") from None
    try:
        if not container.streams.video:
            raise MediaProblem("media-unreadable", f"{name}: has no video stream")
        picture = still_picture_format(container.format.name)
        if picture is not None:
            raise MediaProblem("media-unreadable", f"{name}: is a {picture} picture, not a video")
        try:
            found = _frames_at(container, container.streams.video[0], sorted(set(times)), seek_ahead)
        except (av.error.FFmpegError, ValueError) as exc:
            raise MediaProblem(
                "media-unreadable", f"{name}: the video cannot be decoded ({_plain(exc, data)})"
            ) from None
        if len(found) < len(set(times)):
            raise MediaProblem("media-unreadable", f"{name}: no frame could be decoded")
        return [_upright_frame(found[t]) for t in times]
    finally:
        container.close()


def still_picture_format(container_format: str) -> str | None:
    """The picture format FFmpeg read a "video" as (`png_pipe` → "PNG"), or None for a real video
    container. FFmpeg opens a PNG or JPEG as a one-frame video: a task whose video is a photograph would
    otherwise pass as a clip with one frame."""
    if container_format.endswith("_pipe"):
        return container_format.removesuffix("_pipe").upper()
    return "still" if container_format in ("image2", "png", "bmp", "tiff") else None


def _frames_at(container: Any, stream: Any, wanted: list[float], seek_ahead: float) -> dict[float, Any]:
    """The frame shown at each of the `wanted` moments (ascending): the last one starting by it (the first
    one when none does; the last of the video past its end), decoding forward, and seeking to the keyframe
    before a moment that lies more than `seek_ahead` seconds ahead."""
    found: dict[float, Any] = {}
    decoded = container.decode(stream)
    previous = ahead = None  # the last frame starting by the moment; one decoded past it, kept for the next
    latest = 0.0
    for t in wanted:
        if t - latest > seek_ahead and stream.time_base:
            container.seek(int(t / stream.time_base), stream=stream, backward=True)
            decoded, previous, ahead = container.decode(stream), None, None
        while True:
            frame = ahead if ahead is not None else next(decoded, None)
            ahead = None
            if frame is None:
                break  # the end of the video: the last frame is the closest
            latest = float(frame.time) if frame.time is not None else 0.0
            if latest > t + 1e-6:
                ahead = frame
                break
            previous = frame
        closest = previous if previous is not None else ahead
        if closest is not None:
            found[t] = closest
    return found


def _upright_frame(frame: Any) -> Any:
    """A decoded video frame as an RGB PIL image, turned as the video's display matrix says (phones record
    sideways and mark it so; browsers, and so Label Studio's player and its boxes, show it turned)."""
    image = frame.to_image().convert("RGB")
    rotation = getattr(frame, "rotation", 0) or 0  # degrees counterclockwise, FFmpeg's convention
    quarter = round(float(rotation) / 90) % 4 if math.isfinite(float(rotation)) else 0
    return image.rotate(90 * quarter, expand=True) if quarter else image


def _plain(error: Exception, data: Video) -> str:
    """FFmpeg's complaint without its error number and placeholder file name."""
    if not data or (isinstance(data, str) and os.path.isfile(data) and os.path.getsize(data) == 0):
        return "an empty file"
    text = getattr(error, "strerror", None) or str(error)
    text = str(text).split(": '<none>'")[0].strip()
    if isinstance(data, str):
        text = text.split(f": '{data}'")[0].strip()
    return text or type(error).__name__


class VideoFacts(NamedTuple):
    """What a video file says of itself: its frame rate and its number of frames."""

    fps: float
    frames: int


def probe_video(data: Video) -> VideoFacts | None:
    """The frame rate and frame count of a video, from its container (nothing is decoded); None when the
    container does not say (decoding then reports what is wrong with the file)."""
    import av

    try:
        with _open(data) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            frames = int(stream.frames or 0)
            if frames <= 0 and fps > 0 and container.duration:
                frames = round(container.duration / 1_000_000 * fps)  # av.time_base: microseconds
    except (av.error.FFmpegError, OSError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(fps) and fps > 0 and frames > 0):
        return None
    return VideoFacts(fps, frames)
