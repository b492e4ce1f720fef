"""Decode what gets embedded: an image, a box crop with a margin, or frames sampled inside a video segment."""

from __future__ import annotations

import functools
import io
import math
import re
from typing import Any, NamedTuple

from taxospec.embeddings.media import MediaProblem

DECODING = 2
"""How media becomes pixels, part of every cache identity: 2 shows pictures as a browser (and so Label
Studio) does — turned upright (EXIF orientation; a video's display matrix), 16-bit ones by their high byte —
where 1 took the stored pixels as they were and clipped 16-bit ones to white."""

MAX_PIXELS = 100_000_000
"""Images with more pixels than this are refused (`media-refused`) before they are decoded: a small file
can declare a huge picture (a decompression bomb), and decoding it would take gigabytes."""


def open_image(data: bytes, name: str) -> Any:
    """`data` opened as a PIL image, its pixels not yet decoded: MediaProblem `media-unreadable` when it is
    not an image Pillow reads, `media-refused` when it has more than MAX_PIXELS pixels."""
    from PIL import Image, UnidentifiedImageError

    _pillow_guard()
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        what = "an empty file" if not data else "no image format Pillow knows"
        raise MediaProblem("media-unreadable", f"{name}: not a readable image ({what})") from None
    except Image.DecompressionBombError as exc:  # Pillow's backstop, at twice the limit
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(name, f"{int(pixels[1]):,} pixels" if pixels else "its size") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaProblem("media-unreadable", f"{name}: not a readable image ({exc})") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise _too_large(name, f"{width}×{height} pixels")
    return image


def decode_image(data: bytes, name: str) -> Any:
    """An RGB PIL image, upright as Label Studio shows it (see `upright`), or MediaProblem (see
    `open_image`)."""
    from PIL import Image

    with open_image(data, name) as image:
        try:
            image.load()
            return upright(as_rgb(image), orientation_of(image))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise MediaProblem("media-unreadable", f"{name}: not a readable image ({exc})") from None


def as_rgb(image: Any) -> Any:
    """An opened PIL image as 8-bit RGB, as a browser shows it: 16-bit pictures by their high byte (Pillow's
    own conversion clips them at 255, nearly all white), 32-bit integer ones by their top 8 used bits, and
    floating-point ones stretched over their range."""
    import numpy as np
    from PIL import Image

    if image.mode.startswith("I;16") or image.mode == "I":
        values = np.asarray(image).astype(np.int64)
        if image.mode.startswith("I;16"):
            values = values >> 8
        elif values.size and values.max() > 255:
            values = values >> max(0, int(values.max()).bit_length() - 8)
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        stretched = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        image = Image.fromarray(stretched.astype(np.uint8), "L")
    return image.convert("RGB")


EXIF_ORIENTATION = 0x0112


def orientation_of(image: Any) -> int:
    """The EXIF orientation (1–8) of an opened PIL image; 1 (as stored) when it has none or it is damaged."""
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # Pillow raises many kinds for damaged EXIF; the picture itself is still good
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(image: Any, orientation: int) -> Any:
    """`image` turned as its EXIF `orientation` says, as browsers (and so Label Studio) show it: a phone
    photo stored sideways is boxed upright, and its boxes' percentages are of the upright picture."""
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return image.transpose(method) if method is not None else image


def refuse_huge(data: bytes, name: str) -> None:
    """MediaProblem `media-refused` when the image in `data` has more than MAX_PIXELS pixels, found from its
    header alone (a JPEG's frame header is read directly: a few microseconds, for the GPU path, where the
    host's time per image is what limits throughput); `data` that is no image passes (decoding says so)."""
    size = jpeg_size(data)
    if size is None and data[:3] != b"\xff\xd8\xff":
        try:
            open_image(data, name).close()
        except MediaProblem as problem:
            if problem.code == "media-refused":
                raise
        return
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise _too_large(name, f"{size[0]}×{size[1]} pixels")


_MARKERS_BEFORE_FRAME = 256
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})
_START_OF_FRAME = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as stored, from a JPEG's frame header, or None when `data` is no JPEG or its header is
    cut."""
    header = jpeg_header(data)
    return (header[0], header[1]) if header is not None else None


def jpeg_header(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, EXIF orientation) from a JPEG's headers (orientation 1 when there is none), read
    directly: a few microseconds, for the GPU path, where nvJPEG applies no orientation."""
    if data[:2] != b"\xff\xd8":
        return None
    at, orientation = 2, 1
    for _ in range(_MARKERS_BEFORE_FRAME):
        if at + 4 > len(data):
            return None
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _NO_LENGTH:  # markers without a length
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _START_OF_FRAME:
            if at + 9 > len(data):
                return None
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height, orientation
        if marker == 0xDA or length < 2:  # image data began before any frame header: not a JPEG we know
            return None
        if marker == 0xE1 and data[at + 4 : at + 10] == b"Exif\0\0":
            orientation = _exif_orientation(data[at + 10 : at + 2 + length])
        at += 2 + length
    return None  # no frame header among the first markers: decoding decides


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag of the first image directory of an EXIF block (1 when absent or damaged)."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    endian: Any = order
    directory = int.from_bytes(tiff[4:8], endian)
    count = int.from_bytes(tiff[directory : directory + 2], endian)
    for entry in range(directory + 2, min(directory + 2 + 12 * count, len(tiff) - 11), 12):
        if int.from_bytes(tiff[entry : entry + 2], endian) == EXIF_ORIENTATION:
            value = int.from_bytes(tiff[entry + 8 : entry + 10], endian)
            return value if 1 <= value <= 8 else 1
    return 1


def _too_large(name: str, size: str) -> MediaProblem:
    return MediaProblem(
        "media-refused", f"{name}: {size}, above the limit of {MAX_PIXELS:,} pixels (refused before decoding)"
    )


@functools.cache
def _pillow_guard() -> None:
    """Pillow's own guard stays as a backstop (it refuses at twice its limit), without the warning it prints
    between its limit and twice it: `open_image` refuses those itself, with the file's name."""
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def crop(image: Any, box: tuple[float, float, float, float], margin: float) -> Any:
    """The region `box` (x, y, width, height in percent of the image) grown by `margin` × its size, clipped."""
    width, height = image.size
    x, y, w, h = (v / 100 for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise MediaProblem("media-unreadable", "the box has no area to crop")
    left, top = (x - margin * w) * width, (y - margin * h) * height
    right, bottom = (x + w + margin * w) * width, (y + h + margin * h) * height
    left, top = max(0, math.floor(left)), max(0, math.floor(top))
    right, bottom = min(width, math.ceil(right)), min(height, math.ceil(bottom))
    if right <= left or bottom <= top:
        raise MediaProblem("media-unreadable", "the box lies outside the image")
    return image.crop((left, top, right, bottom))


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


def video_frames(data: bytes, times: list[float], name: str) -> list[Any]:
    """The decoded frame shown at each of `times` (seconds), as RGB PIL images, in the order given."""
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaProblem("media-unreadable", f"{name}: not a readable video ({_plain(exc, data)})") from None
    try:
        if not container.streams.video:
            raise MediaProblem("media-unreadable", f"{name}: has no video stream")
        stream = container.streams.video[0]
        wanted = sorted(set(times))
        found: dict[float, Any] = {}
        previous = None
        try:
            for frame in container.decode(stream):
                when = float(frame.time) if frame.time is not None else 0.0
                while wanted and when > wanted[0] + 1e-6:  # the frame shown at t is the last one starting by t
                    found[wanted.pop(0)] = previous if previous is not None else frame
                previous = frame
                if not wanted:
                    break
        except (av.error.FFmpegError, ValueError) as exc:
            raise MediaProblem(
                "media-unreadable", f"{name}: the video cannot be decoded ({_plain(exc, data)})"
            ) from None
        for t in wanted:  # past the last frame: the last frame is the closest
            if previous is None:
                raise MediaProblem("media-unreadable", f"{name}: no frame could be decoded")
            found[t] = previous
        return [_upright_frame(found[t]) for t in times]
    finally:
        container.close()


def _upright_frame(frame: Any) -> Any:
    """A decoded video frame as an RGB PIL image, turned as the video's display matrix says (phones record
    sideways and mark it so; browsers, and so Label Studio's player and its boxes, show it turned)."""
    image = frame.to_image().convert("RGB")
    rotation = getattr(frame, "rotation", 0) or 0  # degrees counterclockwise, FFmpeg's convention
    quarter = round(float(rotation) / 90) % 4 if math.isfinite(float(rotation)) else 0
    return image.rotate(90 * quarter, expand=True) if quarter else image


def _plain(error: Exception, data: bytes) -> str:
    """FFmpeg's complaint without its error number and placeholder file name."""
    if not data:
        return "an empty file"
    text = getattr(error, "strerror", None) or str(error)
    return str(text).split(": '<none>'")[0].strip() or type(error).__name__


class VideoFacts(NamedTuple):
    """What a video file says of itself: its frame rate and its number of frames."""

    fps: float
    frames: int


def probe_video(data: bytes) -> VideoFacts | None:
    """The frame rate and frame count of a video, from its container (nothing is decoded); None when the
    container does not say (decoding then reports what is wrong with the file)."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
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
