"""The built-in media resolvers: plain paths and file:// URIs (under `--media-root`, else the export's
folder), media inlined in the task as a `data:` URI and, only when the user allows it, http(s) from an
allow-list of hosts with a timeout and a size limit."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from taxospec.media.files import read_file, safe_join
from taxospec.media.http_fetch import FetchFailed, FetchRefused, fetch
from taxospec.media.sources import MediaProblem, MediaSources, is_inline, shown
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import MediaResolver


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
    """The built-in resolvers, most specific first (after Label Studio's, which its plugin registers)."""
    return [HttpResolver(), DataUriResolver(), PathResolver()]
