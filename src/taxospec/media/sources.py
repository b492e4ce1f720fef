"""What the user said media may be read from (`MediaSources`), and media that cannot be had
(`MediaProblem`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class MediaProblem(Exception):
    """Media that cannot be had; `code` is the finding it becomes (media-missing, media-refused, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args, so that it crosses process boundaries
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class MediaRoot:
    """A folder a resolver reads from, which the user names with an option of its own (`--NAME FOLDER`
    on every command that reads media)."""

    name: str
    """The option's name without dashes, and the key in `MediaSources.roots` (`ls-document-root`)."""
    help: str


@dataclass(frozen=True)
class MediaSources:
    """Where media may be read from, as the user configured it."""

    export_dir: Path | None = None
    media_root: Path | None = None
    """The folder plain media paths are under (`--media-root`)."""
    roots: Mapping[str, Path] = field(default_factory=dict)
    """Folders named by resolvers (`MediaRoot`), by name: e.g. the Label Studio plugin's
    `ls-document-root` and `ls-media-root`."""
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
        for name in ("export_dir", "media_root"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))  # accept str from Python callers
        roots = {name: Path(folder) for name, folder in self.roots.items() if folder is not None}
        object.__setattr__(self, "roots", roots)  # a copy of its own (a mapping proxy would not pickle)
        mapped = sorted(((str(p), Path(f)) for p, f in self.mapped), key=lambda m: len(m[0]), reverse=True)
        object.__setattr__(self, "mapped", tuple(mapped))

    def root(self, name: str) -> Path | None:
        """The folder given for the resolver root `name`, or None."""
        return self.roots.get(name)

    def scope(self) -> str:
        """What a media URI's local path depends on: the roots (for remembering resolved paths)."""
        scope = "|".join(os.path.abspath(r) if r is not None else "" for r in (self.export_dir, self.media_root))
        scope += "".join(f"|{name}:{os.path.abspath(folder)}" for name, folder in sorted(self.roots.items()))
        return scope + "".join(f"|{prefix}={os.path.abspath(folder)}" for prefix, folder in self.mapped)

    @property
    def any(self) -> bool:
        """Whether any media source was configured."""
        return any((self.media_root, self.roots, self.allow_http, self.mapped))


def is_inline(uri: str | None) -> bool:
    """Whether `uri` carries the media itself (a `data:` URI) rather than naming a file."""
    return uri is not None and uri[:5].lower() == "data:"


def shown(uri: str, limit: int = 120) -> str:
    """`uri` as messages show it: whole when short, else its start and its length (an inlined picture
    would fill a report)."""
    return uri if len(uri) <= limit else f"{uri[: limit // 2]}… ({len(uri):,} characters)"
