"""Writing files safely: atomically, never over a directory, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from taxospec.errors import TaxospecError


class OutputError(TaxospecError):
    """An output file that cannot be written where the user asked."""


def write_bytes_atomic(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Like `write_text_atomic`, for bytes."""
    return _write_atomic(path, data, overwrite=overwrite)


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and an atomic rename.

    Refuses a directory, a missing parent folder, and (unless `overwrite`) an existing file; the old file
    stays intact if anything fails.
    """
    return _write_atomic(path, text.encode("utf-8"), overwrite=overwrite)


def _write_atomic(path: str | Path, data: bytes, *, overwrite: bool) -> Path:
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{target}: the folder {parent} does not exist")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise OutputError(f"{target}: already exists (use --force to overwrite it)")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:  # a read-only or special folder (/proc), a full disk
        raise OutputError(f"{target}: cannot be written: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp_name, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not overwrite and (target.exists() or target.is_symlink()):
            raise OutputError(f"{target}: already exists (use --force to overwrite it)")
        os.replace(tmp_name, target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot be written: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
