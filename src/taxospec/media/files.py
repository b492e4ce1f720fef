"""Reading local media safely: never outside its root (through `..` or a symbolic link), never a pipe,
a device or an oversized file, never leaking a descriptor."""

from __future__ import annotations

import functools
import os
import stat
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from taxospec.media.sources import MediaProblem, MediaSources, shown

T = TypeVar("T")


def mapped_path(uri: str, sources: MediaSources) -> str | None:
    """The local file a `--media-map` prefix maps `uri` to (under its folder, never outside it), or None
    when no prefix matches. For http(s) prefixes the query and fragment are dropped and the path unquoted
    (a signed URL's file is the same file)."""
    for prefix, folder in sources.mapped:
        if uri.startswith(prefix):
            rest = uri[len(prefix) :]
            if prefix.startswith(("http://", "https://")):
                rest = urllib.parse.unquote(rest.split("#", 1)[0].split("?", 1)[0])
            return _safe_join(folder, rest)
    return None


def safe_join(root: Path, relative: str) -> Path:
    """`root / relative` with every symbolic link resolved, refused (MediaProblem `media-refused`) when the
    result escapes `root`."""
    return Path(_safe_join(root, relative))


def _safe_join(root: Path, relative: str) -> str:
    """`safe_join` as a string (the resolvers' hot path: a `Path` costs more to build and print than the
    checks cost to run)."""
    if "\0" in relative:
        raise MediaProblem("media-refused", f"{shown(repr(relative))}: a path cannot hold a NUL character")
    base = _real_path(str(root))
    folder, name = os.path.split(os.path.join(base, relative.lstrip("/")))
    candidate = os.path.join(_real_path(folder), name)
    if os.path.islink(candidate) or name in ("", ".", ".."):
        candidate = os.path.realpath(candidate)
    if candidate != base and not candidate.startswith(base.rstrip(os.sep) + os.sep):
        raise MediaProblem("media-refused", f"{relative!r} escapes its root {root}")
    return candidate


@functools.lru_cache(maxsize=4096)
def _real_path(path: str) -> str:
    """A folder with its links resolved, remembered for the run: thousands of media files share a few
    folders, and resolving every path component of every file was most of a re-run's time."""
    return os.path.realpath(path)


def forget_resolved_folders() -> None:
    """Drop the remembered folders (each embedding run starts with this: a folder may have become a link
    since the last run)."""
    _real_path.cache_clear()


def read_file(path: str | Path, limit: int) -> bytes:
    """The bytes of a local file, with clear problems for missing, unreadable and oversized files."""
    return read_file_and_stat(path, limit)[0]


def read_file_and_stat(path: str | Path, limit: int) -> tuple[bytes, os.stat_result]:
    """`read_file`, and the file's status from the same open file (size and time, for the content memo)."""
    return read_local(path, limit, lambda handle: handle.read())


def read_local(path: str | Path, limit: int, read: Callable[[BinaryIO], T]) -> tuple[T, os.stat_result]:
    """`read(handle)` of a local file opened for reading, and the file's status from the same open file:
    MediaProblem for a missing, unreadable, special (a named pipe, a folder) or oversized file."""
    try:
        # O_NONBLOCK: a named pipe planted among the media must not hang the run (no effect on files)
        with _opened(path) as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise MediaProblem("media-missing", f"{shown(os.fspath(path))} is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):  # planted among the media: never read
                raise MediaProblem(
                    "media-refused", f"{shown(os.fspath(path))} is {_special_kind(info.st_mode)}, not a file: refused"
                )
            if info.st_size > limit:
                raise MediaProblem(
                    "media-refused", f"{shown(os.fspath(path))} is {info.st_size} bytes, above the limit of {limit}"
                )
            return read(handle), info
    except ValueError:  # a NUL character, or a name the file system cannot encode
        raise MediaProblem("media-refused", f"{shown(repr(os.fspath(path)))}: not a possible file name") from None
    except IsADirectoryError:
        raise MediaProblem("media-missing", f"{shown(os.fspath(path))} is a folder, not a file") from None
    except FileNotFoundError:
        raise MediaProblem("media-missing", f"{shown(os.fspath(path))} does not exist") from None
    except PermissionError:
        raise MediaProblem("media-missing", f"{shown(os.fspath(path))}: permission denied") from None
    except OSError as exc:
        raise MediaProblem("media-missing", f"{shown(os.fspath(path))}: {exc.strerror or exc}") from None


def _opened(path: str | Path) -> BinaryIO:
    """`path` opened for reading without blocking on a pipe; the descriptor is closed again when it cannot
    become a file object (a folder), or it would leak: a run over many such URIs ran out of descriptors."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _special_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"
