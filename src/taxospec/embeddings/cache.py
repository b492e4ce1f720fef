"""The on-disk embedding cache: float16 vectors keyed by media content, region, frame, model and preprocessing.

One folder per model and preprocessing; each encoded batch is one `.npz` file written to a temporary name
and renamed into place, so an interrupted run keeps every finished batch, never leaves a half-written one,
and a re-run encodes only what is not there yet. At the end of a run that left many batch files they are
merged into one (written first, the merged ones removed after), so that the next run loads one file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.space import EmbeddingError


def default_cache_dir() -> Path:
    """`$TAXOSPEC_CACHE_DIR`, else `$XDG_CACHE_HOME/taxospec`, else `~/.cache/taxospec`."""
    if os.environ.get("TAXOSPEC_CACHE_DIR"):
        return Path(os.environ["TAXOSPEC_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "taxospec"


FORMAT = 2
"""The cache's key format (2: xxh3-128 content hash and what was taken, in plain text)."""
COMPACT_ABOVE = 8
"""Batch files above which `compact` merges them into one."""


def item_key(content_hash: str, what: str) -> str:
    """The cache key of one embedded thing: the media's content hash plus what was taken from it."""
    return f"{content_hash}|{what}"


class EmbeddingCache:
    """Vectors of one model and preprocessing, loaded once, extended batch by batch."""

    def __init__(self, root: Path, model_id: str, preprocess_id: str) -> None:
        digest = hashlib.sha1(f"{FORMAT}|{model_id}|{preprocess_id}".encode()).hexdigest()[:16]
        self.root = root
        self.folder = root / "embeddings" / digest
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "model.txt").write_text(f"{model_id}\n{preprocess_id}\n", encoding="utf-8")
        except OSError as exc:
            raise EmbeddingError(f"the embedding cache {self.folder} cannot be written: {exc}") from None
        self._vectors: dict[str, npt.NDArray[np.float16]] = {}
        self._files: list[Path] = []
        for path in sorted(self.folder.glob("batch-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as data:
                    self._vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
                self._files.append(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
                path.unlink(missing_ok=True)  # a damaged batch is dropped and re-encoded
        for stale in self.folder.glob(".batch-*.tmp*"):
            stale.unlink(missing_ok=True)
        self.memo = ContentMemo(root)

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: object) -> bool:
        return key in self._vectors

    def get(self, key: str) -> npt.NDArray[np.float32] | None:
        """The vector under `key`, as float32, or None."""
        vector = self._vectors.get(key)
        return None if vector is None else vector.astype(np.float32)

    def get_half(self, key: str) -> npt.NDArray[np.float16] | None:
        """The vector under `key` as stored (float16), or None: for callers that convert many at once."""
        return self._vectors.get(key)

    def put(self, keys: list[str], vectors: npt.NDArray[np.float32]) -> None:
        """Store one batch durably (atomic file write), then in memory."""
        if not keys:
            return
        half = np.asarray(vectors, dtype=np.float16)
        self._files.append(self._write(keys, half))
        for key, vector in zip(keys, half, strict=True):
            self._vectors[key] = vector

    def compact(self) -> None:
        """Merge the batch files into one when there are more than `COMPACT_ABOVE` (the merged file is
        complete on disk before any batch file goes, so an interruption loses nothing)."""
        if len(self._files) <= COMPACT_ABOVE:
            return
        keys = list(self._vectors)
        merged = self._write(keys, np.stack([self._vectors[key] for key in keys]))
        for path in self._files:
            path.unlink(missing_ok=True)
        self._files = [merged]

    def _write(self, keys: list[str], half: npt.NDArray[np.float16]) -> Path:
        """Write one batch file atomically; its final path."""
        fd, tmp = tempfile.mkstemp(prefix=".batch-", suffix=".tmp.npz", dir=self.folder)
        final = self.folder / f"batch-{uuid.uuid4().hex}.npz"
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, keys=np.asarray(keys), vectors=half)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return final


class ContentMemo:
    """Content hashes of local media files by path, size and modification time, so that a re-run need not
    read unchanged files to know they are unchanged; and the path each media URI resolved to, per set of
    media roots, so that it need not resolve them again either (a path that no longer matches its size and
    time is resolved and read afresh)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "content-hashes.json"
        self._entries: dict[str, list[object]] = {}
        self._paths: dict[str, dict[str, str]] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict) and isinstance(loaded.get("files"), dict):
                self._entries = loaded["files"]
                uris = loaded.get("uris")
                self._paths = uris if isinstance(uris, dict) else {}
        except (OSError, ValueError):
            pass

    def path_of(self, scope: str, uri: str | None) -> str | None:
        """The local path `uri` resolved to under these media roots (`scope`) when last read."""
        found = self._paths.get(scope, {}).get(uri or "")
        return found if isinstance(found, str) else None

    def lookup(self, path: str | Path, stat: os.stat_result) -> str | None:
        """The remembered hash of `path` if its size and modification time are unchanged."""
        entry = self._entries.get(os.fspath(path))
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return str(entry[2])
        return None

    def store(
        self, path: str | Path, stat: os.stat_result, digest: str, *, uri: str | None = None, scope: str = ""
    ) -> None:
        """Remember the hash of `path` at this size and modification time (and that `uri` names it)."""
        self._entries[os.fspath(path)] = [stat.st_size, stat.st_mtime_ns, digest]
        if uri:
            self._paths.setdefault(scope, {})[uri] = os.fspath(path)

    def save(self) -> None:
        """Write the memo atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".content-hashes.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"files": self._entries, "uris": self._paths}))  # C encoder: 5x json.dump
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
