"""Turn a task's media URI into bytes, only ever from under a root the user named.

Resolvers are plugins (`taxospec_media_resolvers`); the built-in ones read Label Studio's
`/data/local-files/?d=` (under the local-files document root), `/data/upload/` (under Label Studio's media
folder), plain paths (under `--media-root`, else the export's folder), media inlined in the task as a
`data:` URI and, only when the user allows it, http(s) from an allow-list of hosts with a timeout and a
size limit. URI prefixes the user maps to local folders (`--media-map s3://bucket/=/mnt/mirror`: cloud
storage or a CDN mirrored on disk) are read from there before any resolver is asked. A path that escapes
its root, through `..` or a symbolic link, is refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import stat
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from taxospec.embeddings.http_fetch import FetchFailed, FetchRefused, fetch
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import LocatingResolver, MediaResolver

T = TypeVar("T")


class MediaProblem(Exception):
    """Media that cannot be had; `code` is the finding it becomes (media-missing, media-refused, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args, so that it crosses process boundaries
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class MediaSources:
    """Where media may be read from, as the user configured it."""

    export_dir: Path | None = None
    media_root: Path | None = None
    ls_document_root: Path | None = None
    ls_media_root: Path | None = None
    allow_http: tuple[str, ...] = ()
    http_timeout: float = 10.0
    http_max_bytes: int = 200 * 1024 * 1024
    max_bytes: int = 4 * 1024 * 1024 * 1024
    """The largest file read whole into memory (pictures; remote or inline media); local videos stream."""
    extra: dict[str, str] = field(default_factory=dict)
    mapped: tuple[tuple[str, Path], ...] = ()
    """URI prefixes read from local folders (`--media-map s3://bucket/=/mnt/mirror`): cloud storage or a CDN
    mirrored on disk. A mapping wins over every resolver; the longest matching prefix is used."""

    def __post_init__(self) -> None:
        for name in ("export_dir", "media_root", "ls_document_root", "ls_media_root"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))  # accept str from Python callers
        mapped = sorted(((str(p), Path(f)) for p, f in self.mapped), key=lambda m: len(m[0]), reverse=True)
        object.__setattr__(self, "mapped", tuple(mapped))

    def scope(self) -> str:
        """What a media URI's local path depends on: the roots (for remembering resolved paths)."""
        roots = (self.export_dir, self.media_root, self.ls_document_root, self.ls_media_root)
        scope = "|".join(os.path.abspath(r) if r is not None else "" for r in roots)
        return scope + "".join(f"|{prefix}={os.path.abspath(folder)}" for prefix, folder in self.mapped)

    @property
    def any(self) -> bool:
        """Whether any media source was configured."""
        return any((self.media_root, self.ls_document_root, self.ls_media_root, self.allow_http, self.mapped))


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


_LOCAL_FILES = "/data/local-files/?d="


@dataclass(frozen=True)
class LocalFilesResolver:
    """Label Studio local files: `/data/local-files/?d=relative/path` under the document root."""

    name: str = "label-studio-local-files"

    def claims(self, uri: str) -> bool:
        """`/data/local-files/` URIs."""
        if uri.startswith(_LOCAL_FILES):
            return True
        return urllib.parse.urlsplit(uri).path.rstrip("/").endswith("/data/local-files")

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Read from under `ls_document_root` (or `media_root`)."""
        return read_file(self.locate(uri, sources), sources.max_bytes)

    def locate(self, uri: str, sources: MediaSources) -> str:
        """The local file `uri` names."""
        root = sources.ls_document_root or sources.media_root
        if root is None:
            raise MediaProblem(
                "media-missing", f"{uri}: give --ls-document-root (Label Studio's LOCAL_FILES_DOCUMENT_ROOT)"
            )
        plain = uri[len(_LOCAL_FILES) :] if uri.startswith(_LOCAL_FILES) else None
        if plain is not None and not any(c in plain for c in "%+&#;"):
            relative = plain  # the common form, nothing to decode: skips two URL parses per file
        else:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
            relative = (query.get("d") or [""])[0]
        if not relative:
            raise MediaProblem("media-missing", f"{uri}: no ?d= path")
        return _safe_join(root, relative)


@dataclass(frozen=True)
class UploadResolver:
    """Label Studio uploads: `/data/upload/PROJECT/FILE` under Label Studio's media folder."""

    name: str = "label-studio-upload"

    def claims(self, uri: str) -> bool:
        """`/data/upload/` URIs."""
        return "/data/upload/" in urllib.parse.urlsplit(uri).path

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Read from `ls_media_root/upload/…`."""
        return read_file(self.locate(uri, sources), sources.max_bytes)

    def locate(self, uri: str, sources: MediaSources) -> str:
        """The local file `uri` names."""
        if sources.ls_media_root is None:
            raise MediaProblem("media-missing", f"{uri}: give --ls-media-root (Label Studio's media folder)")
        path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
        relative = "upload/" + path.split("/data/upload/", 1)[1]
        return _safe_join(sources.ls_media_root, relative)


@dataclass(frozen=True)
class HttpResolver:
    """http(s) URLs, only from hosts on the allow-list, with a timeout and a size limit."""

    name: str = "http"

    def claims(self, uri: str) -> bool:
        """Http and https URLs."""
        return urllib.parse.urlsplit(uri).scheme in ("http", "https")

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Download, refusing hosts (and redirects to hosts) not on `allow_http` and bodies above
        `http_max_bytes` (see `http_fetch`)."""
        try:
            body = fetch(uri, sources.allow_http, sources.http_timeout, sources.http_max_bytes)
        except FetchRefused as refused:
            raise MediaProblem("media-refused", f"{shown(uri)}: {refused}") from None
        except FetchFailed as failed:
            raise MediaProblem("media-missing", f"{shown(uri)}: {failed}") from None
        if len(body) > sources.http_max_bytes:
            raise MediaProblem("media-refused", f"{uri}: larger than {sources.http_max_bytes} bytes")
        return body


@dataclass(frozen=True)
class DataUriResolver:
    """Media inlined in the task as a `data:` URI (`data:image/png;base64,…`), as some imports do."""

    name: str = "data-uri"

    def claims(self, uri: str) -> bool:
        """`data:` URIs."""
        return is_inline(uri)

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """The bytes the URI carries (base64 or percent-encoded), up to `max_bytes`."""
        header, comma, payload = uri.partition(",")
        if not comma:
            raise MediaProblem("media-unreadable", f"{shown(uri)}: a data: URI without a comma")
        if len(payload) * 3 // 4 > sources.max_bytes:
            raise MediaProblem("media-refused", f"{shown(uri)}: larger than {sources.max_bytes} bytes")
        try:
            if header.lower().endswith(";base64"):
                return base64.b64decode(payload, validate=True)
            return urllib.parse.unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raise MediaProblem("media-unreadable", f"{shown(uri)}: the data: URI does not decode") from None


def is_inline(uri: str | None) -> bool:
    """Whether `uri` carries the media itself (a `data:` URI) rather than naming a file."""
    return uri is not None and uri[:5].lower() == "data:"


def shown(uri: str, limit: int = 120) -> str:
    """`uri` as messages show it: whole when short, else its start and its length (an inlined picture
    would fill a report)."""
    return uri if len(uri) <= limit else f"{uri[: limit // 2]}… ({len(uri):,} characters)"


@dataclass(frozen=True)
class PathResolver:
    """Plain paths and file:// URIs, under `--media-root` (else the export's folder)."""

    name: str = "local-path"

    def claims(self, uri: str) -> bool:
        """Anything without another scheme."""
        return urllib.parse.urlsplit(uri).scheme in ("", "file")

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Read from under `media_root` or the export's folder; absolute paths must lie under one of them."""
        return read_file(self.locate(uri, sources), sources.max_bytes)

    def locate(self, uri: str, sources: MediaSources) -> Path:
        """The local file `uri` names."""
        parts = urllib.parse.urlsplit(uri)
        path = urllib.parse.unquote(parts.path) if parts.scheme == "file" else uri
        roots = [r for r in (sources.media_root, sources.export_dir) if r is not None]
        if not roots:
            raise MediaProblem("media-missing", f"{uri}: give --media-root")
        if "\0" in path:
            raise MediaProblem("media-refused", f"{shown(repr(uri))}: a path cannot hold a NUL character")
        if Path(path).is_absolute():
            for root in roots:
                try:
                    Path(path).resolve().relative_to(root.resolve())
                except ValueError:
                    continue
                return Path(path).resolve()
            raise MediaProblem("media-refused", f"{uri}: an absolute path outside the media roots")
        return safe_join(roots[0], path)


@hookimpl
def taxospec_media_resolvers() -> list[MediaResolver]:
    """The built-in resolvers, most specific first."""
    return [LocalFilesResolver(), UploadResolver(), HttpResolver(), DataUriResolver(), PathResolver()]


def read_media(uri: str | None, sources: MediaSources) -> bytes:
    """The bytes of `uri` from the first resolver that claims it."""
    if not uri:
        raise MediaProblem("media-missing", "the task names no media")
    _refuse_unencodable(uri)
    local = mapped_path(uri, sources)
    if local is not None:
        return read_file(local, sources.max_bytes)
    resolver = _resolver_for(uri)
    if resolver is None:
        raise MediaProblem("media-refused", f"{shown(uri)}: no resolver reads this kind of URI{_hint(uri)}")
    return resolver.read(uri, sources)


def _refuse_unencodable(uri: str) -> None:
    """MediaProblem `media-refused` for a URI no file system or server can be asked for: one holding a
    lone surrogate (no UTF-8 text can; the export reader mends them, a plugin or a caller may not)."""
    try:
        uri.encode("utf-8")
    except UnicodeEncodeError:
        raise MediaProblem(
            "media-refused", f"{shown(ascii(uri))}: not a possible file name or URL (a lone surrogate)"
        ) from None


def _hint(uri: str) -> str:
    """How to read a URI no resolver reads: a Windows path, or cloud storage to map to a local mirror."""
    if re.match(r"[A-Za-z]:[\\/]", uri):
        return " (a Windows path: give paths relative to --media-root)"
    parts = urllib.parse.urlsplit(uri)  # it parses: `_resolver_for` said so
    if parts.scheme and "://" in uri:
        return f" (read a local copy with --media-map {parts.scheme}://{parts.netloc}/=FOLDER)"
    return ""


def locate_media(uri: str | None, sources: MediaSources) -> str | None:
    """The local file behind `uri`, when its resolver reads local files (None for http and the like)."""
    if not uri:
        return None
    _refuse_unencodable(uri)
    local = mapped_path(uri, sources)
    if local is not None:
        return local
    resolver = _resolver_for(uri)
    if not isinstance(resolver, LocatingResolver):
        return None
    found = resolver.locate(uri, sources)
    return os.fspath(found) if found is not None else None


def _resolver_for(uri: str) -> MediaResolver | None:
    """The first resolver that claims `uri`; MediaProblem `media-refused` for a URI that does not parse
    (`http://[::1`), which every resolver would otherwise trip over in its own way."""
    from taxospec.plugins.registry import media_resolvers

    try:
        urllib.parse.urlsplit(uri)
        return next((r for r in media_resolvers() if r.claims(uri)), None)
    except ValueError as exc:
        raise MediaProblem("media-refused", f"{shown(uri)}: not a valid URI ({exc})") from None
