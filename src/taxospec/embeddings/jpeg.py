"""A JPEG's size and EXIF orientation read straight from its headers, without decoding anything: a few
microseconds, for the GPU path, where the host's time per image limits throughput and nvJPEG applies no
orientation."""

from __future__ import annotations

from typing import Any

EXIF_ORIENTATION = 0x0112
"""The EXIF tag of a picture's orientation (1–8; 1: as stored)."""

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
