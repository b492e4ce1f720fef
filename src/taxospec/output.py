"""Writing files safely: atomically, never over a directory, never half-written."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from taxospec.errors import OutputError


def write_bytes_atomic(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Like `write_text_atomic`, for bytes."""
    return _write_atomic(path, [data], overwrite=overwrite)


def write_pieces_atomic(path: str | Path, pieces: Iterable[bytes], *, overwrite: bool = True) -> Path:
    """Like `write_text_atomic`, for a document made a piece at a time (`pieces` is read as it is written:
    a large report is never whole in memory)."""
    return _write_atomic(path, pieces, overwrite=overwrite)


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and an atomic rename.

    Refuses a directory, a missing parent folder, and (unless `overwrite`) an existing file; the old file
    stays intact if anything fails.
    """
    return _write_atomic(path, [text.encode("utf-8")], overwrite=overwrite)


def _write_atomic(path: str | Path, pieces: Iterable[bytes], *, overwrite: bool) -> Path:
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise OutputError(f"{target}: already exists (use --force to overwrite it)")
    if _written_in_place(target):  # -o /dev/stdout, a pipe: written to, never replaced by a file
        try:
            with open(target, "wb") as handle:
                _write_all(handle, pieces)
        except OSError as exc:
            raise OutputError(f"{target}: cannot be written: {exc.strerror or exc}") from None
        return target
    real = Path(os.path.realpath(target)) if target.is_symlink() else target  # a link: write where it points
    parent = real.parent
    if not parent.is_dir():
        raise OutputError(f"{target}: the folder {parent} does not exist")

    def still_free() -> None:
        if not overwrite and (target.exists() or target.is_symlink()):
            raise OutputError(f"{target}: already exists (use --force to overwrite it)")

    try:
        write_atomic(real, lambda handle: _write_all(handle, pieces), durable=True, before_replace=still_free)
    except OSError as exc:  # a read-only or special folder (/proc), a full disk
        raise OutputError(f"{target}: cannot be written: {exc.strerror or exc}") from None
    return target


def _write_all(handle: BinaryIO, pieces: Iterable[bytes]) -> None:
    for piece in pieces:
        handle.write(piece)


def _written_in_place(target: Path) -> bool:
    """Whether `target` is no place for a new file: a device, a pipe or a socket (the report goes into it),
    or a path under /dev or /proc (`/dev/stdout` links to whatever standard output is)."""
    if os.path.abspath(target).startswith(("/dev/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(os.stat(target).st_mode)
    except OSError:  # nothing there yet (or a dangling link): a new file
        return False


def write_atomic(
    path: Path,
    write: Callable[[BinaryIO], object],
    *,
    durable: bool = False,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Write `path` through a temporary file in its folder, renamed into place (fsynced first when
    `durable`): readers see the old file or the whole new one, never part of it, and a failure leaves no
    temporary file. `before_replace` may refuse at the last moment. Raises `OSError`."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
