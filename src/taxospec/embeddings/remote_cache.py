"""The embedding cache on object storage (`--cache-dir s3://bucket/prefix`, `gs://…`, `abfs://…`), through
pyarrow's filesystems.

A run works on a local mirror of the remote cache (under the local cache folder, named by the remote
location): it pulls what the mirror lacks before it starts, and pushes what it added after — new batch
files, the content memo, the model records — and deletes the remote batch files that a merge replaced.
Batch files are immutable and uniquely named, so machines that share the remote cache never overwrite
each other's vectors; an object store writes each object whole or not at all, so no reader sees half a
batch. Ray encoders write their batch files straight to the remote cache (`RemoteFolder.write_batch`).

Credentials come from where pyarrow reads them (the environment, the provider's configuration files, or
the URI's query); no message shows more of the URI than its scheme, bucket and path."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.cache import BATCH_PATTERN, batch_name, default_cache_dir, join_strings
from taxospec.errors import OptionError

OBJECT_STORES = ("s3", "gs", "gcs", "abfs", "abfss")
"""URI schemes taken as object storage (each object written whole or not at all)."""
COPY_CHUNK = 8 << 20
"""Bytes moved at a time between the mirror and the remote (a merged batch file may be gigabytes)."""
_SECRET_PARAMETERS = {"access_key", "secret_key", "session_token"}


def is_remote(location: str | Path | None) -> bool:
    """Whether `location` names a remote cache (a URI with a scheme) rather than a folder."""
    return isinstance(location, str) and "://" in location


def shown(uri: str) -> str:
    """`uri` as messages show it: scheme, bucket and path, without credentials or query."""
    try:
        parts = urlsplit(uri)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    except ValueError:  # not even a URI's shape: show the scheme alone
        return f"{uri.partition('://')[0]}://…"


@dataclass(frozen=True)
class RemoteFolder:
    """A folder of the remote cache, as Ray workers receive it (pickled with its filesystem)."""

    filesystem: Any
    path: str
    uri: str

    def write_batch(self, keys: list[str], half: npt.NDArray[np.float16]) -> str:
        """Write one batch file as one object under a name no other writer takes; its path."""
        name = f"{self.path}/{batch_name()}"
        buffer = io.BytesIO()
        np.savez(buffer, keys=join_strings(keys), vectors=half)
        _guarded(self.uri, lambda: _put(self.filesystem, name, buffer.getvalue()))
        return name


@dataclass
class RemoteCache:
    """A remote cache root and the local mirror a run works on."""

    uri: str
    filesystem: Any
    base: str
    mirror: Path
    pulled: set[str]
    """The files the remote held at the last pull or push: of them, the batch files gone from the mirror
    are deleted by the next push."""

    @classmethod
    def open(cls, uri: str, mirrors: Path | None = None) -> RemoteCache:
        """The remote cache at `uri` with its mirror under `mirrors` (default: the local cache folder's
        `remote/`); `OptionError` (exit 2) for a scheme that is not object storage or a URI pyarrow
        cannot open."""
        scheme = uri.partition("://")[0].lower()
        if scheme not in OBJECT_STORES:
            raise OptionError(
                f"--cache-dir {shown(uri)}: {scheme}:// is not object storage taxospec writes to "
                f"({', '.join(s + '://' for s in OBJECT_STORES)}); give a folder every node sees instead"
            )
        try:
            from pyarrow import fs
        except ImportError:
            raise OptionError(
                f"--cache-dir {shown(uri)}: object storage needs pyarrow (pip install 'taxospec[object-storage]')"
            ) from None
        try:
            filesystem, base = fs.FileSystem.from_uri(uri)
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise OptionError(f"cannot open the embedding cache at {shown(uri)}: {_reason(exc, uri)}") from None
        mirror = (mirrors or default_cache_dir() / "remote") / _mirror_name(uri)
        return cls(uri, filesystem, base.rstrip("/"), mirror, set())

    def folder(self, local: Path) -> RemoteFolder:
        """The remote folder that mirrors the local folder `local` (inside the mirror)."""
        relative = local.relative_to(self.mirror).as_posix()
        return RemoteFolder(self.filesystem, f"{self.base}/{relative}", self.uri)

    def pull(self) -> None:
        """Download every remote file the mirror lacks, holds at another size, or holds older (a memo
        another machine rewrote); each gets the remote's modification time, so that a push sends only
        what this run changed."""
        listed = self._listing()
        for relative, (size, mtime_ns) in listed.items():
            local = self.mirror / relative
            if local.is_file():
                known = local.stat()
                immutable = PurePosixPath(relative).match(BATCH_PATTERN)  # never rewritten: its size says enough
                if known.st_size == size and (immutable or mtime_ns is None or known.st_mtime_ns >= mtime_ns):
                    continue
            local.parent.mkdir(parents=True, exist_ok=True)
            part = local.with_name(f".{local.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                _guarded(self.uri, lambda r=relative, to=part: self._download(r, to))
            except OptionError:
                part.unlink(missing_ok=True)
                raise
            if mtime_ns is not None:
                os.utime(part, ns=(mtime_ns, mtime_ns))
            part.replace(local)
        self.pulled = set(listed)

    def _download(self, relative: str, to: Path) -> None:
        with self.filesystem.open_input_stream(f"{self.base}/{relative}") as source, to.open("wb") as target:
            shutil.copyfileobj(source, target, COPY_CHUNK)

    def push(self) -> None:
        """Upload every mirror file the remote lacks, holds at another size, or holds older than the
        mirror's; then delete the remote batch files that were pulled and are gone from the mirror (merged
        into a new one, uploaded first). A batch file that cannot be sent is exit 2 (it stays in the
        mirror, and the next push sends it); the memo and records are only skipped (a read-only bucket
        still serves every run)."""
        present = {
            p.relative_to(self.mirror).as_posix(): p.stat()
            for p in self.mirror.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }
        listed = self._listing()
        sent: list[str] = []
        for relative, local in sorted(present.items()):
            size, mtime_ns = listed.get(relative, (None, None))
            if size == local.st_size and (mtime_ns is None or local.st_mtime_ns <= mtime_ns):
                continue
            if PurePosixPath(relative).match(BATCH_PATTERN):
                try:
                    _guarded(self.uri, lambda r=relative: self._upload(r))
                except OptionError as exc:
                    raise OptionError(
                        f"{exc} (the vectors are kept in {self.mirror}; the next run sends them)"
                    ) from None
            else:  # the memo, the model records, prompt vectors: a cache that will not take them loses speed only
                with contextlib.suppress(OSError, ValueError):
                    self._upload(relative)
                    sent.append(relative)
        for relative in sorted(self.pulled - set(present)):
            if PurePosixPath(relative).match(BATCH_PATTERN) and relative in listed:
                _guarded(self.uri, lambda r=relative: self.filesystem.delete_file(f"{self.base}/{r}"))
        self.pulled = set(present)
        self._stamp(sent)

    def _stamp(self, sent: list[str]) -> None:
        """Give the memo files just sent the remote's modification time, so the next pull keeps them."""
        if not sent:
            return
        listed = self._listing()
        for relative in sent:
            mtime_ns = listed.get(relative, (0, None))[1]
            if mtime_ns is not None:
                with contextlib.suppress(OSError):
                    os.utime(self.mirror / relative, ns=(mtime_ns, mtime_ns))

    def _upload(self, relative: str) -> None:
        """Stream one mirror file to the remote (one object: whole or not at all)."""
        with (
            (self.mirror / relative).open("rb") as source,
            self.filesystem.open_output_stream(f"{self.base}/{relative}") as target,
        ):
            shutil.copyfileobj(source, target, COPY_CHUNK)

    def _listing(self) -> dict[str, tuple[int, int | None]]:
        """Every remote file under the root: relative path → (size, modification time in ns or None); an
        object whose name would leave the mirror (`..`, an absolute path) is not the cache's: left out."""
        from pyarrow import fs

        selector = fs.FileSelector(self.base, recursive=True, allow_not_found=True)
        infos = _guarded(self.uri, lambda: self.filesystem.get_file_info(selector))
        prefix = f"{self.base}/"
        return {
            info.path[len(prefix) :]: (int(info.size), info.mtime_ns)
            for info in infos
            if info.type == fs.FileType.File and info.path.startswith(prefix) and _inside(info.path[len(prefix) :])
        }


@contextlib.contextmanager
def mirrored(uri: str, mirrors: Path | None = None) -> Iterator[RemoteCache]:
    """The remote cache at `uri`, pulled into its mirror before the block and pushed after it — also after
    a failure, so the batches a failed run finished are kept (not after an interrupt)."""
    remote = RemoteCache.open(uri, mirrors)
    remote.pull()
    try:
        yield remote
    except KeyboardInterrupt:
        raise
    except BaseException:
        with contextlib.suppress(OptionError, OSError):
            remote.push()
        raise
    remote.push()


@contextlib.contextmanager
def cache_root(cache_dir: str | Path | None) -> Iterator[Path]:
    """The local folder a run uses as its cache root: the folder `location` finds, or the mirror of the
    remote cache it names (pulled before the block, pushed after)."""
    found = location(cache_dir)
    if not isinstance(found, str):
        yield found
        return
    with mirrored(found) as remote:
        yield remote.mirror


def location(cache_dir: str | Path | None) -> Path | str:
    """Where the cache is: `cache_dir`, else `$TAXOSPEC_CACHE_DIR`, else the default folder — a `Path`
    for a folder, the URI (a string) for a remote cache."""
    given = cache_dir or os.environ.get("TAXOSPEC_CACHE_DIR") or None
    if is_remote(given):
        return str(given)
    return Path(given) if given else default_cache_dir()


def _inside(relative: str) -> bool:
    """Whether the relative object name `relative` stays inside the folder it is joined to."""
    parts = PurePosixPath(relative).parts
    return bool(parts) and not relative.startswith("/") and ".." not in parts and "" not in parts


def _put(filesystem: Any, path: str, data: bytes) -> None:
    with filesystem.open_output_stream(path) as stream:
        stream.write(data)


def _guarded(uri: str, call: Any) -> Any:
    """`call()`, with the filesystem's failures as one clear `OptionError` (exit 2) naming the cache."""
    try:
        return call()
    except (OSError, ValueError) as exc:
        raise OptionError(f"the embedding cache at {shown(uri)} cannot be used: {_reason(exc, uri)}") from None


def _reason(exc: BaseException, uri: str) -> str:
    """The first line of the filesystem's message, with the URI as `shown` and any credential in it
    masked (pyarrow quotes a URI it cannot parse whole)."""
    message = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    message = message.replace(uri, shown(uri))
    userinfo = uri.partition("://")[2].partition("/")[0].rpartition("@")[0]
    for secret in (userinfo, *userinfo.split(":")):
        if secret:
            message = message.replace(secret, "***")
    return message


def _mirror_name(uri: str) -> str:
    """A folder name for the mirror of `uri`: its location and endpoint, never its credentials."""
    query = uri.partition("?")[2]
    kept = sorted((k, v) for k, v in parse_qsl(query) if k not in _SECRET_PARAMETERS)
    return hashlib.sha1(f"{shown(uri)}|{kept}".encode()).hexdigest()[:16]
