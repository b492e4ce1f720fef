"""Still pictures as a browser — and so Label Studio, whose boxes are drawn on what it shows — shows them:
refused before decoding when they declare too many pixels, turned upright by their EXIF orientation, deep
ones brought to 8 bits."""

from __future__ import annotations

import functools
import io
import re
from typing import Any

from taxospec.embeddings.jpeg import EXIF_ORIENTATION, jpeg_size
from taxospec.media.sources import MediaProblem

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
    """An opened PIL image as 8-bit RGB, as a browser shows it: transparent parts on white (Pillow's own
    conversion shows whatever colour they hold, mostly black), 16-bit pictures by their high byte (Pillow
    clips them at 255, nearly all white), 32-bit integer ones by their top 8 used bits, and
    floating-point ones stretched over their range."""
    import numpy as np
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        solid = image.convert("RGBA")
        shown = Image.new("RGB", solid.size, (255, 255, 255))
        shown.paste(solid, mask=solid.getchannel("A"))
        return shown

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
