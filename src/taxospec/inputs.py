"""Opening the files a user names (spec, export, config), with one wording for the usual failures."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def open_input(
    path: str | Path, what: str, fail: Callable[[str], Exception], *, max_bytes: int | None = None
) -> IO[bytes]:
    """Open `path` for reading bytes; every failure becomes `fail(reason)`, the reason in plain words.

    `what` names the expected kind of file ("a spec file", "an export file") for the directory case;
    `max_bytes` refuses files too large to be what they claim.
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise fail(f"is a directory, not {what}")
        if max_bytes is not None and (size := p.stat().st_size) > max_bytes:
            raise fail(f"is {size} bytes, too large for {what} (limit {max_bytes})")
        return io.BufferedReader(_Guarded(p.open("rb", buffering=0), fail), buffer_size=1 << 20)
    except FileNotFoundError:
        raise fail("no such file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None


def read_input(path: str | Path, what: str, fail: Callable[[str], Exception], *, max_bytes: int) -> bytes:
    """The bytes of `path` (see `open_input`), at most `max_bytes` of them: a file that says it is small but
    goes on (a device such as /dev/zero, a pipe, a file under /proc: their size reads as 0) is refused
    once it passes the limit, instead of being read until memory runs out."""
    with open_input(path, what, fail, max_bytes=max_bytes) as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise fail(f"goes on past {max_bytes} bytes, too large for {what} (limit {max_bytes})")
    return raw


class _Guarded(io.RawIOBase):
    """A raw file whose read errors (a disk that fails mid-file, a special file such as /proc/self/mem)
    become `fail(reason)`, like the errors of opening it."""

    def __init__(self, raw: Any, fail: Callable[[str], Exception]) -> None:
        super().__init__()
        self._raw = raw
        self._fail = fail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._raw.readinto(buffer))
        except OSError as exc:
            raise self._fail(f"cannot be read: {exc.strerror or exc}") from None

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return int(self._raw.seek(offset, whence))
        except OSError as exc:
            raise self._fail(f"cannot be read: {exc.strerror or exc}") from None

    def tell(self) -> int:
        return int(self._raw.tell())

    def close(self) -> None:
        self._raw.close()
        super().close()


def is_file(path: str | Path) -> bool:
    """Whether `path` is a regular file; False for any path the file system refuses to look at (a name too
    long, a NUL character, a loop of links), where `Path.is_file` raises for some of them."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def exists(path: str | Path) -> bool:
    """Whether anything is at `path`; False where the file system refuses to look (as `is_file`)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False
