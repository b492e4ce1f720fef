"""The state folder of the Label Studio plugin, and the per-project lock that keeps writers of one machine
(`check --write-back`, `serve`) from writing one task at the same time.

The folder is `--state-dir`, else `$TAXOSPEC_STATE_DIR`, else `$XDG_STATE_HOME/taxospec`, else
`~/.local/state/taxospec`. A project is named in it by its server and id, never by a token.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taxospec.errors import TaxospecError

STATE_VARIABLE = "TAXOSPEC_STATE_DIR"


def state_dir(given: Path | None = None) -> Path:
    """The state folder (created when missing)."""
    if given is not None:
        folder = given
    elif os.environ.get(STATE_VARIABLE):
        folder = Path(os.environ[STATE_VARIABLE])
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        folder = Path(base) / "taxospec"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TaxospecError(f"cannot use the state folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise TaxospecError(f"cannot use the state folder {folder}: it is not writable (give --state-dir)")
    return folder


def project_key(url: str, project: int) -> str:
    """A file-name-safe name for `project` on the server at `url`."""
    server = url.rstrip("/").lower()
    return f"project-{project}-{hashlib.sha256(server.encode()).hexdigest()[:12]}"


def only_one(path: Path) -> object:
    """Hold `path`'s lock for as long as the returned handle lives; a `TaxospecError` when another process
    holds it (one receiver per project and state folder: two would check every task twice)."""
    handle = open(path, "a+b")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise TaxospecError(
            f"another taxospec serve already runs for this project with this state folder ({path.parent}); "
            "stop it, or give another --state-dir"
        ) from None
    return handle


@contextmanager
def project_lock(folder: Path, url: str, project: int) -> Iterator[None]:
    """Hold the write lock of `project` (waits for another holder on this machine to finish)."""
    path = folder / f"{project_key(url, project)}.lock"
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
