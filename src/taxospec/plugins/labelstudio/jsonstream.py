"""Stream the elements of a (possibly gzip-compressed) top-level JSON array without loading the file.

Each element is decoded with the C JSON scanner (`JSONDecoder.raw_decode`) from a sliding text buffer, so
memory holds one buffer and one element at a time, and speed is that of `json.loads`. An element larger
than the buffer is read in chunks that double in size, so that decoding it again from its start after
each refill costs at most twice its length in all (linear, not quadratic, in a task of a million
regions); an element beyond `MAX_ELEMENT_CHARS` is refused (one task of that size is no labeling task).
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from taxospec.errors import ExportError
from taxospec.inputs import open_input

CHUNK_CHARS = 1 << 22
MAX_ELEMENT_CHARS = 1 << 26
"""Characters one element of the export (one task) may span: 64 Mi, some 280,000 boxes (the largest real
tasks seen hold tens of thousands of regions, a few megabytes)."""
GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()
_SURROGATE = re.compile("[\ud800-\udfff]")


def open_binary(path: str | Path) -> IO[bytes]:
    """Open `path` for reading bytes, transparently decompressing gzip; clear errors for the usual failures."""
    handle = open_input(path, "an export file", lambda reason: ExportError(f"{path}: {reason}"))
    magic = handle.read(2)
    handle.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def read_head(path: str | Path, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of the (decompressed) file."""
    with open_binary(path) as handle:
        try:
            return handle.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise ExportError(f"{path}: the compressed file is damaged or truncated: {exc}") from None


class _TextBuffer:
    """A sliding window of decoded text over a binary stream."""

    def __init__(self, handle: IO[bytes], path: str) -> None:
        self.handle = handle
        self.path = path
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self.text = ""
        self.pos = 0
        self.eof = False
        self.consumed_chars = 0

    def fill(self, size: int | None = None) -> bool:
        """Append the next `size` bytes (default `CHUNK_CHARS`); False at the end of the stream."""
        if self.eof:
            return False
        try:
            raw = self.handle.read(size or CHUNK_CHARS)
            chunk = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise ExportError(f"{self.path}: is not UTF-8 text (a binary file?)") from None
        except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a damaged deflate stream
            raise ExportError(f"{self.path}: the compressed file is damaged or truncated: {exc}") from None
        if not raw:
            self.eof = True
        if self.pos:
            self.consumed_chars += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += chunk
        return bool(raw) or bool(chunk)

    def skip_whitespace(self) -> str:
        """The next non-whitespace character ('' at the end), without consuming it."""
        while True:
            text, pos = self.text, self.pos
            n = len(text)
            while pos < n and text[pos] in _WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < n:
                return text[pos]
            if not self.fill():
                return ""

    def decode_value(self) -> Any:
        """Decode one JSON value at the cursor, reading more text until it is complete."""
        more = CHUNK_CHARS
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if not self.eof and self._may_be_incomplete(exc):
                    self._grow(more)
                    more *= 2
                    continue
                raise self._error(exc) from None
            except RecursionError:
                raise ExportError(f"{self.path}: JSON nested too deeply") from None
            if end == len(self.text) and not self.eof:
                # a number at the very end of the buffer may continue in the next chunk
                if self.fill():
                    continue
            text, start = self.text, self.pos
            self.pos = end
            if text.find("\\ud", start, end) < 0 and text.find("\\uD", start, end) < 0:
                return value  # no escaped surrogate (\uD800-\uDFFF) in it: nothing to mend
            try:
                return without_lone_surrogates(value)
            except RecursionError:
                raise ExportError(f"{self.path}: JSON nested too deeply") from None

    def _grow(self, size: int) -> None:
        """Read `size` more bytes for the value at the cursor, refusing a value beyond MAX_ELEMENT_CHARS."""
        if len(self.text) - self.pos > MAX_ELEMENT_CHARS:
            start = self.consumed_chars + self.pos
            raise ExportError(
                f"{self.path}: the element starting at character {start} is longer than "
                f"{MAX_ELEMENT_CHARS // (1 << 20)} Mi characters: no task of an export is that large (a damaged or "
                "hostile file?)"
            )
        self.fill(size)

    def _may_be_incomplete(self, exc: json.JSONDecodeError) -> bool:
        return exc.pos >= len(self.text) - 1 or "Unterminated string" in exc.msg or exc.pos >= len(self.text) - 64

    def _error(self, exc: json.JSONDecodeError) -> ExportError:
        offset = self.consumed_chars + exc.pos
        if self.eof and exc.pos >= len(self.text.rstrip()) - 1:
            return ExportError(f"{self.path}: the JSON ends unexpectedly at character {offset} (truncated export?)")
        return ExportError(f"{self.path}: invalid JSON at character {offset}: {exc.msg}")


def iter_json(path: str | Path) -> Iterator[Any]:
    """Yield each element of the top-level JSON array in `path`, or the one value if it is not an array.

    Raises `ExportError` for an empty file, invalid or truncated JSON, and text that is not UTF-8.
    """
    name = str(path)
    with open_binary(path) as handle:
        buffer = _TextBuffer(handle, name)
        first = buffer.skip_whitespace()
        if first == "":
            raise ExportError(f"{name}: the export is empty")
        if first != "[":
            value = buffer.decode_value()
            if buffer.skip_whitespace() != "":
                raise ExportError(f"{name}: unexpected text after the JSON value")
            yield value
            return
        buffer.pos += 1
        if buffer.skip_whitespace() == "]":
            buffer.pos += 1
            _expect_end(buffer)
            return
        while True:
            if buffer.skip_whitespace() == "":
                raise ExportError(f"{name}: the JSON ends unexpectedly (truncated export?)")
            yield buffer.decode_value()
            separator = buffer.skip_whitespace()
            if separator == ",":
                buffer.pos += 1
                continue
            if separator == "]":
                buffer.pos += 1
                _expect_end(buffer)
                return
            if separator == "":
                raise ExportError(f"{name}: the JSON ends unexpectedly (truncated export?)")
            raise ExportError(
                f"{name}: invalid JSON at character {buffer.consumed_chars + buffer.pos}: expected ',' or ']'"
            )


def without_lone_surrogates(value: Any) -> Any:
    r"""`value` (decoded JSON) with every lone surrogate (`"\udcff"` is valid JSON, yet no UTF-8 text can
    hold it: it would break every report written later) replaced by U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


def _expect_end(buffer: _TextBuffer) -> None:
    if buffer.skip_whitespace() != "":
        raise ExportError(f"{buffer.path}: unexpected text after the end of the JSON array")
