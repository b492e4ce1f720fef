"""The on-disk embedding cache: float16 vectors keyed by media content, region, frame, model and preprocessing.

One folder per model and preprocessing; each encoded batch is one `.npz` file written to a temporary name
and renamed into place, so an interrupted run keeps every finished batch, never leaves a half-written one,
and a re-run encodes only what is not there yet. At the end of a run that left many batch files they are
merged (written first, the merged ones removed after; a large earlier merge is left alone), so that the
next run loads one or two files.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import time
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from taxospec.errors import EmbeddingError
from taxospec.output import write_atomic
from taxospec.scores.mapped_rows import npz_array


def default_cache_dir() -> Path:
    """`$TAXOSPEC_CACHE_DIR` (a folder; a URI there names a remote cache, `remote_cache.location`), else
    `$XDG_CACHE_HOME/taxospec`, else `~/.cache/taxospec`: the local folder."""
    given = os.environ.get("TAXOSPEC_CACHE_DIR")
    if given and "://" not in given:
        return Path(given)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "taxospec"


FORMAT = 3
"""The cache's format (3: keys of xxh3-128 content hash and what was taken, stored as one NUL-joined UTF-8
array per batch file, which loads several times faster than an array of fixed-width strings)."""
COMPACT_ABOVE = 8
"""Batch files above which `compact` merges them."""
BATCH_PATTERN = "batch-*.npz"
"""The names of batch files (`batch_name`), which sort in the order they were written."""


def batch_name() -> str:
    """A new batch file's name: the time it was written, then a part no other writer takes."""
    return f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.npz"


def item_key(content_hash: str, what: str) -> str:
    """The cache key of one embedded thing: the media's content hash plus what was taken from it."""
    return f"{content_hash}|{what}"


class EmbeddingCache:
    """Vectors of one model and preprocessing, loaded once, extended batch by batch.

    Every key maps to a row of one of the loaded or written blocks (one per batch file), so loading makes
    no Python object per vector and a re-run can take all its cached vectors in one `gather`."""

    def __init__(self, root: Path, model_id: str, preprocess_id: str) -> None:
        self.root = root
        self.folder = self.folder_for(root, model_id, preprocess_id)
        label = f"{model_id}\n{preprocess_id}\n"
        try:
            if _text_of(self.folder / "model.txt") != label:  # a cache there already needs no write (read-only)
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / "model.txt").write_text(label, encoding="utf-8")
        except OSError as exc:
            raise EmbeddingError(f"the embedding cache {self.folder} cannot be written: {exc}") from None
        self._rows: dict[str, int] = {}
        self._blocks: list[npt.NDArray[np.float16]] = []
        self._starts: list[int] = []
        self._block_files: list[Path] = []
        """The file each block is kept in (parallel to `_blocks`)."""
        for path in sorted(self.folder.glob(BATCH_PATTERN)):  # in the order written: a key's latest vector wins
            try:
                with np.load(path, allow_pickle=False) as data:  # a large block is mapped where it lies
                    vectors = npz_array(path, data, "vectors")
                    keys = split_strings(data["keys"], len(vectors))
                if vectors.ndim != 2 or len(keys) != len(vectors) or (self._blocks and vectors.shape[1] != self._width):
                    raise ValueError("keys and vectors do not match")
                self._add(keys, vectors.astype(np.float16, copy=False))
                self._block_files.append(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
                with contextlib.suppress(OSError):  # (not on a read-only cache)
                    path.unlink(missing_ok=True)  # a damaged batch is dropped and re-encoded
        for stale in self.folder.glob(".batch-*.tmp*"):
            with contextlib.suppress(OSError):
                stale.unlink(missing_ok=True)
        self.memo = ContentMemo(root)

    @staticmethod
    def folder_for(root: Path, model_id: str, preprocess_id: str) -> Path:
        """The folder that keeps the vectors of one model and preprocessing under `root`."""
        digest = hashlib.sha1(f"{FORMAT}|{model_id}|{preprocess_id}".encode()).hexdigest()[:16]
        return root / "embeddings" / digest

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def row(self, key: str) -> int | None:
        """The row of `key`'s vector, for `gather`; None when not cached."""
        return self._rows.get(key)

    def gather(self, rows: Sequence[int] | npt.NDArray[np.intp]) -> npt.NDArray[np.float16]:
        """The vectors at `rows` (from `row`), as stored (float16), one per row: taken from each block,
        never from one copy of them all (a large block is mapped from its file: `mapped_rows.npz_array`)."""
        wanted = np.asarray(rows, dtype=np.intp)
        if len(self._blocks) == 1:
            return self._blocks[0][wanted]
        out = np.empty((len(wanted), self._width if self._blocks else 1), dtype=np.float16)
        block = np.searchsorted(np.asarray(self._starts), wanted, side="right") - 1
        order = np.argsort(block, kind="stable")
        ordered = block[order]
        for b in np.unique(block).tolist():
            at = order[np.searchsorted(ordered, b) : np.searchsorted(ordered, b, side="right")]
            out[at] = self._blocks[b][wanted[at] - self._starts[b]]
        return out

    def get(self, key: str) -> npt.NDArray[np.float32] | None:
        """The vector under `key`, as float32, or None."""
        row = self._rows.get(key)
        if row is None:
            return None
        block = bisect.bisect_right(self._starts, row) - 1
        vector: npt.NDArray[np.float32] = self._blocks[block][row - self._starts[block]].astype(np.float32)
        return vector

    def put(self, keys: list[str], vectors: npt.NDArray[np.float32]) -> None:
        """Store one batch durably (atomic file write), then in memory. Vectors without a direction (NaN,
        infinite or zero: a broken model) are not kept: the next run tries them again."""
        keys, half = usable_rows(keys, vectors)
        if not keys:
            return
        self._block_files.append(self._write(keys, half))
        self._add(keys, half)

    def compact(self) -> None:
        """When there are more than `COMPACT_ABOVE` batch files, merge them: all into one while the largest
        (an earlier merge) holds fewer vectors than the others together, else all but the largest — so a
        re-run that adds a few batches to a large cache rewrites those, not the whole cache. The merged file
        is complete on disk before any merged batch file goes, so an interruption loses nothing."""
        files = list(dict.fromkeys(self._block_files))
        if len(files) <= COMPACT_ABOVE:
            return
        held: dict[Path, int] = dict.fromkeys(files, 0)
        for path, block in zip(self._block_files, self._blocks, strict=True):
            held[path] += len(block)
        largest = max(files, key=held.__getitem__)
        kept = {largest} if held[largest] > sum(held.values()) - held[largest] else set()
        merging = np.asarray([path not in kept for path in self._block_files])
        keys = list(self._rows)
        rows = np.fromiter(self._rows.values(), dtype=np.intp, count=len(keys))
        chosen = merging[np.searchsorted(np.asarray(self._starts), rows, side="right") - 1]
        try:
            merged = self._write(
                [k for k, take in zip(keys, chosen.tolist(), strict=True) if take], self.gather(rows[chosen])
            )
        except EmbeddingError:  # a cache that cannot be written (read-only) keeps its batch files
            return
        for path in files:
            if path not in kept:
                path.unlink(missing_ok=True)
        self._block_files = [path if path in kept else merged for path in self._block_files]

    @property
    def _width(self) -> int:
        return int(self._blocks[0].shape[1])

    def _add(self, keys: list[str], half: npt.NDArray[np.float16]) -> None:
        start = self._starts[-1] + len(self._blocks[-1]) if self._blocks else 0
        self._starts.append(start)
        self._blocks.append(half)
        self._rows.update(zip(keys, range(start, start + len(keys)), strict=True))

    def _write(self, keys: list[str], half: npt.NDArray[np.float16]) -> Path:
        return write_batch(self.folder, keys, half)


def write_batch(folder: Path, keys: list[str], half: npt.NDArray[np.float16]) -> Path:
    """Write one batch file into a cache `folder` atomically (and durably, under a name no other writer
    takes); its final path. Writers on several machines may share the folder."""
    final = folder / batch_name()
    try:
        write_atomic(final, lambda handle: np.savez(handle, keys=join_strings(keys), vectors=half), durable=True)
    except OSError as exc:
        raise EmbeddingError(f"the embedding cache {folder} cannot be written: {exc}") from None
    return final


def usable_rows(keys: list[str], vectors: npt.NDArray[np.float32]) -> tuple[list[str], npt.NDArray[np.float16]]:
    """The keys and float16 vectors worth keeping: not NaN, infinite or zero (a broken model's)."""
    half = np.asarray(vectors, dtype=np.float16)
    usable = np.isfinite(half).all(axis=1) & np.any(half != 0, axis=1)
    if not usable.all():
        keys, half = [k for k, ok in zip(keys, usable.tolist(), strict=True) if ok], half[usable]
    return keys, half


class ContentMemo:
    """Content hashes of local media files by path, size and modification time, so that a re-run need not
    read unchanged files to know they are unchanged; and the path each media URI resolved to, per set of
    media roots, so that it need not resolve them again either (a file that no longer has its size and
    time is resolved and read afresh).

    Stored as arrays (`content-hashes.npz`: the strings joined by NUL, which no path holds, and the numbers
    as int64), which loads and saves several times faster than the same table as JSON."""

    def __init__(self, root: Path) -> None:
        self.path = root / "content-hashes.npz"
        self._files: list[str] = []
        self._index: dict[str, int] = {}
        self._sizes: list[int] = []
        self._mtimes: list[int] = []
        self._digests: list[str] = []
        self._uris: dict[str, dict[str, str]] = {}
        self._facts: dict[int, tuple[float, int]] = {}
        self._changed = False
        try:
            self._load()
        except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError, zipfile.BadZipFile, EOFError):
            self._clear()  # a damaged memo is started afresh

    def _clear(self) -> None:
        self._files, self._index, self._sizes, self._mtimes, self._digests, self._uris = [], {}, [], [], [], {}
        self._facts = {}

    def _load(self) -> None:
        if not self.path.exists():
            return
        with np.load(self.path, allow_pickle=False) as data:
            sizes, mtimes = data["sizes"].astype(np.int64).tolist(), data["mtimes"].astype(np.int64).tolist()
            files = split_strings(data["files"], len(sizes))
            digests = split_strings(data["digests"], len(sizes))
            scopes = split_strings(data["scopes"], int(data["scope_count"]))
            uri_scope, uri_file = data["uri_scope"].astype(np.int64), data["uri_file"].tolist()
            uris = split_strings(data["uris"], len(uri_scope))
            fact_file = data["fact_file"].tolist() if "fact_file" in data else []
            facts = (
                zip(fact_file, data["fact_fps"].tolist(), data["fact_frames"].tolist(), strict=True)
                if fact_file
                else ()
            )
            self._facts = {int(f): (float(fps), int(frames)) for f, fps, frames in facts}
        if not len(files) == len(mtimes) == len(digests) or len(uris) != len(uri_file):
            raise ValueError("the memo's columns differ in length")
        if not (_within(uri_file, len(files)) and _within(list(self._facts), len(files))):
            raise ValueError("the memo refers to rows it does not have")
        if not np.all(np.diff(uri_scope) >= 0):
            raise ValueError("the memo refers to rows it does not have")
        self._files, self._sizes, self._mtimes, self._digests = files, sizes, mtimes, digests
        self._index = dict(zip(files, range(len(files)), strict=True))
        bounds = np.searchsorted(uri_scope, np.arange(len(scopes) + 1)).tolist()  # the URIs are grouped by scope
        for n, scope in enumerate(scopes):
            first, last = bounds[n], bounds[n + 1]
            self._uris[scope] = dict(zip(uris[first:last], map(files.__getitem__, uri_file[first:last]), strict=True))

    def unchanged(self, scope: str, uris: Sequence[str | None]) -> list[str | None]:
        """The content hash of each URI's file as last read under these media roots (`scope`), where that
        file still has the size and modification time it had then; None where it was never read or has
        changed. One `stat` per known file, and no other work: this is all a re-run does for unchanged media."""
        paths = self._uris.get(scope, {})
        index, sizes, mtimes, digests = self._index, self._sizes, self._mtimes, self._digests
        stat = os.stat
        found: list[str | None] = []
        for uri in uris:
            digest = None
            path = paths.get(uri or "")
            at = index.get(path) if path is not None else None
            if at is not None:
                try:
                    status = stat(path)  # type: ignore[arg-type]
                    if sizes[at] == status.st_size and mtimes[at] == status.st_mtime_ns:
                        digest = digests[at]
                except OSError:
                    pass
            found.append(digest)
        return found

    def facts(self, scope: str, uris: Sequence[str | None]) -> list[tuple[float, int] | None]:
        """What was learnt of each URI's file when it was last read under these media roots (a video's frame
        rate and frame count), where anything was; meant for files `unchanged` vouches for."""
        paths = self._uris.get(scope, {})
        found: list[tuple[float, int] | None] = []
        for uri in uris:
            path = paths.get(uri or "")
            at = self._index.get(path) if path is not None else None
            found.append(self._facts.get(at) if at is not None else None)
        return found

    def store(
        self,
        path: str | Path,
        stat: os.stat_result,
        digest: str,
        *,
        uri: str | None = None,
        scope: str = "",
        facts: tuple[float, int] | None = None,
    ) -> None:
        """Remember the hash of `path` at this size and modification time (and that `uri` names it, and
        `facts` learnt from it: a video's frame rate and frame count)."""
        path = os.fspath(path)
        if "\0" in path or "\0" in digest or "\0" in scope:
            return
        at = self._index.get(path)
        if at is None:
            self._index[path] = len(self._files)
            self._files.append(path)
            self._sizes.append(stat.st_size)
            self._mtimes.append(stat.st_mtime_ns)
            self._digests.append(digest)
        else:
            self._sizes[at], self._mtimes[at], self._digests[at] = stat.st_size, stat.st_mtime_ns, digest
        at = self._index[path]
        if facts is not None:
            self._facts[at] = (float(facts[0]), int(facts[1]))
        else:
            self._facts.pop(at, None)
        if uri and "\0" not in uri:
            self._uris.setdefault(scope, {})[uri] = path
        self._changed = True

    def save(self) -> None:
        """Write the memo atomically, when anything was stored since it was read."""
        if not self._changed:
            return
        scopes = list(self._uris)
        uri_scope = [n for n, scope in enumerate(scopes) for _ in self._uris[scope]]
        uris = [uri for scope in scopes for uri in self._uris[scope]]
        uri_file = [self._index[path] for scope in scopes for path in self._uris[scope].values()]
        arrays = {
            "files": join_strings(self._files),
            "sizes": np.asarray(self._sizes, dtype=np.int64),
            "mtimes": np.asarray(self._mtimes, dtype=np.int64),
            "digests": join_strings(self._digests),
            "scopes": join_strings(scopes),
            "scope_count": np.asarray(len(scopes)),
            "uris": join_strings(uris),
            "uri_scope": np.asarray(uri_scope, dtype=np.int64),
            "uri_file": np.asarray(uri_file, dtype=np.int64),
            "fact_file": np.asarray(list(self._facts), dtype=np.int64),
            "fact_fps": np.asarray([fps for fps, _ in self._facts.values()], dtype=np.float64),
            "fact_frames": np.asarray([frames for _, frames in self._facts.values()], dtype=np.int64),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]
            (self.path.parent / "content-hashes.json").unlink(missing_ok=True)  # taxospec 0.x's memo
        except OSError as exc:
            raise EmbeddingError(f"the embedding cache {self.path.parent} cannot be written: {exc}") from None
        self._changed = False


def _text_of(path: Path) -> str | None:
    """The text of a small file, or None when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _within(indexes: list[int], size: int) -> bool:
    return not indexes or (min(indexes) >= 0 and max(indexes) < size)


def join_strings(strings: list[str]) -> npt.NDArray[np.uint8]:
    """Strings (none holding NUL) as one array of UTF-8 bytes, NUL between them; any surrogate kept."""
    joined = "\0".join(strings)
    if joined.count("\0") != max(len(strings) - 1, 0):
        raise ValueError("a string to store holds NUL")
    return np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def split_strings(joined: npt.NDArray[np.uint8], count: int) -> list[str]:
    """The `count` strings `join_strings` made (a mismatch is a damaged file: ValueError)."""
    if count == 0:
        return []
    strings = joined.tobytes().decode("utf-8", "surrogatepass").split("\0")
    if len(strings) != count:
        raise ValueError("the stored strings do not match their count")
    return strings
