"""The one place that turns a URI into bytes or a local file: a `--media-map` prefix first (cloud storage
or a CDN mirrored on disk), else the first resolver that claims the URI."""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import cast

from taxospec.media.files import mapped_path, read_file
from taxospec.media.sources import MediaProblem, MediaSources, shown
from taxospec.plugins.interfaces import LocatingResolver, MediaResolver
from taxospec.plugins.registry import media_resolvers


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
    if resolver is None or not _locating(resolver):
        return None
    found = cast(LocatingResolver, resolver).locate(uri, sources)
    return os.fspath(found) if found is not None else None


_LOCATING: dict[int, tuple[MediaResolver, bool]] = {}


def _locating(resolver: MediaResolver) -> bool:
    """Whether `resolver` is a `LocatingResolver`, asked once per resolver: a protocol `isinstance` costs
    more than the rest of locating a file (it was 12 of 26 µs per picture)."""
    known = _LOCATING.get(id(resolver))
    if known is None or known[0] is not resolver:
        known = _LOCATING[id(resolver)] = (resolver, isinstance(resolver, LocatingResolver))
    return known[1]


def _resolver_for(uri: str) -> MediaResolver | None:
    """The first resolver that claims `uri`; MediaProblem `media-refused` for a URI that does not parse
    (`http://[::1`), which every resolver would otherwise trip over in its own way."""
    try:
        urllib.parse.urlsplit(uri)
        return next((r for r in media_resolvers() if r.claims(uri)), None)
    except ValueError as exc:
        raise MediaProblem("media-refused", f"{shown(uri)}: not a valid URI ({exc})") from None
