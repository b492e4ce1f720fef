"""Label Studio's media URIs: `/data/local-files/?d=` under the local-files document root and
`/data/upload/` under Label Studio's media folder."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from taxospec.media.files import _safe_join, read_file
from taxospec.media.sources import MediaProblem, MediaRoot, MediaSources
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import MediaResolver

_LOCAL_FILES = "/data/local-files/?d="
DOCUMENT_ROOT = MediaRoot(
    "ls-document-root", "Label Studio's LOCAL_FILES_DOCUMENT_ROOT, for /data/local-files/?d= URIs."
)
MEDIA_ROOT = MediaRoot("ls-media-root", "Label Studio's media folder, for /data/upload/ URIs.")


@dataclass(frozen=True)
class LocalFilesResolver:
    """Label Studio local files: `/data/local-files/?d=relative/path` under the document root."""

    name: str = "label-studio-local-files"

    def roots(self) -> list[MediaRoot]:
        """`--ls-document-root`."""
        return [DOCUMENT_ROOT]

    def claims(self, uri: str) -> bool:
        """`/data/local-files/` URIs."""
        if uri.startswith(_LOCAL_FILES):
            return True
        return urllib.parse.urlsplit(uri).path.rstrip("/").endswith("/data/local-files")

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Read from under the `ls-document-root` (or `media_root`)."""
        return read_file(self.locate(uri, sources), sources.max_bytes)

    def locate(self, uri: str, sources: MediaSources) -> str:
        """The local file `uri` names."""
        root = sources.root(DOCUMENT_ROOT.name) or sources.media_root
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

    def roots(self) -> list[MediaRoot]:
        """`--ls-media-root`."""
        return [MEDIA_ROOT]

    def claims(self, uri: str) -> bool:
        """`/data/upload/` URIs."""
        return "/data/upload/" in urllib.parse.urlsplit(uri).path

    def read(self, uri: str, sources: MediaSources) -> bytes:
        """Read from `upload/…` under the `ls-media-root`."""
        return read_file(self.locate(uri, sources), sources.max_bytes)

    def locate(self, uri: str, sources: MediaSources) -> str:
        """The local file `uri` names."""
        root = sources.root(MEDIA_ROOT.name)
        if root is None:
            raise MediaProblem("media-missing", f"{uri}: give --ls-media-root (Label Studio's media folder)")
        path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
        relative = "upload/" + path.split("/data/upload/", 1)[1]
        return _safe_join(root, relative)


@hookimpl
def taxospec_media_resolvers() -> list[MediaResolver]:
    """Label Studio's resolvers (registered before the built-in generic ones, which they must precede: a
    `/data/local-files/` URI also looks like a plain path)."""
    return [LocalFilesResolver(), UploadResolver()]
