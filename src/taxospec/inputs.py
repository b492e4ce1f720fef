"""Opening the files a user names (spec, export, config), with one wording for the usual failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO


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
        return p.open("rb")
    except FileNotFoundError:
        raise fail("no such file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
