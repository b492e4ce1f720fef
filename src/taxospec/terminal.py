"""Standard output and error as the commands use them: a closed standard output is an error (not output
silently lost), a closed pipe is a message and exit 2 (not rich's silent exit 1), and text no terminal
encoding can carry (a lone surrogate from a hostile spec) is escaped rather than a crash."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any

from taxospec.errors import OutputClosed


class ClosedOutput(io.TextIOBase):
    """What `sys.stdout` is while it is closed: writing to it is an `OutputClosed` error."""

    def write(self, text: str) -> int:
        """Refuse: there is nowhere to write `text`."""
        if not text:
            return 0
        raise OutputClosed(
            "standard output is closed, so the output could not be written (leave it open, or give -o FILE)"
        )

    def isatty(self) -> bool:
        """Not a terminal."""
        return False

    def fileno(self) -> int:
        """No file descriptor."""
        raise io.UnsupportedOperation("standard output is closed")


def prepare_streams() -> None:
    """Make standard output and error safe for the commands: a closed stdout becomes `ClosedOutput`, and
    both escape characters their encoding cannot carry."""
    if sys.stdout is None:
        sys.stdout = ClosedOutput()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, io.UnsupportedOperation):  # a stream that takes no settings
                reconfigure(errors="backslashreplace")


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's last flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        pass


def stdout_console(**options: Any) -> Any:
    """A rich Console on standard output whose broken pipe is a `BrokenPipeError` for the CLI's error
    boundary (rich itself would exit 1, which means findings)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError("the output pipe was closed")

    return _Console(file=sys.stdout, **options)
