"""The embedding space the embedding checks share: one unit vector per example, plus prompt vectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.dataset import ReadIssue
from taxospec.errors import EmbeddingError
from taxospec.scores.chunked import Matrix, held_dtype, nonzero_rows, row_chunks, stored, unit_rows
from taxospec.scores.mapped_rows import empty, mapped, npz_array
from taxospec.scores.picture_quality import PictureProperties

FloatMatrix = npt.NDArray[np.float32]


def normalize(vectors: npt.ArrayLike, out: Matrix | None = None) -> FloatMatrix:
    """Rows scaled to unit length (zero rows stay zero), a chunk of rows at a time, as float32 — or as
    float16 where the rows are float16 or more than `HALF_ABOVE` (`scores.chunked.held_dtype`); into `out`
    where given (which may be `vectors` itself), else into a new matrix (memory-mapped above
    `mapped_rows.MAP_ABOVE` rows)."""
    matrix = np.asarray(vectors)
    if matrix.ndim != 2:
        raise EmbeddingError(f"embeddings must be a 2-D matrix, got shape {matrix.shape}")
    out = empty(matrix.shape, held_dtype(matrix)) if out is None else out
    for piece in row_chunks(len(matrix)):
        rows = np.asarray(matrix[piece], dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        out[piece] = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out  # float16 above HALF_ABOVE: every reader converts chunks


@dataclass
class EmbeddingSpace:
    """Unit vectors for some of the dataset's samples, and a way to embed text in the same space.

    `samples[i]` is the row of the dataset's sample table that `vectors[i]` belongs to; samples without a
    vector (media missing, no embedding given) are simply absent. `encode_text` is None when the vectors
    came without a text encoder (precomputed embeddings), and the prompt checks then skip.
    """

    samples: npt.NDArray[np.int64]
    vectors: FloatMatrix
    model_id: str
    encode_text: Callable[[list[str]], FloatMatrix] | None = None
    frame_vectors: dict[int, FloatMatrix] = field(default_factory=dict)
    """Per sample (dataset row), the vectors of its sampled frames (video segments), in time order."""
    context_vectors: dict[int, npt.NDArray[np.float32]] = field(default_factory=dict)
    """Per box sample (dataset row), the vector of the whole image the box is in."""
    content_hashes: dict[int, str] = field(default_factory=dict)
    """Per sample (dataset row), the hash of its media bytes, where the media was read."""
    logit_scale: float = 100.0
    """The model's own temperature for zero-shot probabilities (CLIP's is 100)."""
    search_device: str = "auto"
    """Where the neighbour search runs: "cpu", "cuda" or "auto" (see `NeighborIndex`); embeddings computed
    on a GPU are searched there."""
    features: FloatMatrix | None = None
    """The vectors as given, before they were scaled to unit length (precomputed embeddings or features:
    their lengths carry meaning the example scores' geometry may use); None: the unit vectors are all.
    Above `scores.chunked.HALF_ABOVE` rows both are held in float16 (half the memory; the cache's
    precision), and every reader converts a chunk of rows at a time."""
    issues: list[ReadIssue] = field(default_factory=list)
    """What the embedding stage found wrong with the media (`media-missing`, `media-unreadable`,
    `media-refused`), as the reader's issues are: the checks of those codes report them."""
    notes: list[str] = field(default_factory=list)
    """What the stage assumed or left out, for the report's notes (vectors left out, a file's rows)."""
    video_facts: dict[int, tuple[float, int]] = field(default_factory=dict)
    """Per task (row of the dataset's items), what its video file says of itself (frame rate, frame
    count), where the stage read it: for the checks of real timing."""
    picture_properties: dict[int, PictureProperties] = field(default_factory=dict)
    """Per sample (dataset row) of a still picture, what its picture is like (brightness, sharpness, size,
    compression: `scores.picture_quality`), for the image-quality checks."""
    perceptual_hashes: dict[int, int] = field(default_factory=dict)
    """Per sample (dataset row), the 256-bit perceptual hash of its whole picture (still images whose unit
    is the image), for near-duplicates no model is needed to see."""

    unavailable_because: str | None = None
    """Why there are no vectors at all (the embedding checks skip, saying so), for a space that could not
    be made; None for every space that could."""

    @classmethod
    def unavailable(cls, reason: str) -> EmbeddingSpace:
        """A space with no vectors, for a run whose embeddings could not be made for `reason`."""
        empty = np.zeros((0, 1), dtype=np.float32)
        return cls(np.zeros(0, dtype=np.int64), empty, "none", notes=[reason], unavailable_because=reason)

    def __post_init__(self) -> None:
        if len(self.samples) != len(self.vectors):
            raise EmbeddingError(f"{len(self.samples)} samples but {len(self.vectors)} vectors")
        if self.features is not None and self.features.shape != np.shape(self.vectors):
            raise EmbeddingError(
                f"features of shape {self.features.shape} for vectors of shape {np.shape(self.vectors)}"
            )
        if self.features is not None:
            features = np.asarray(self.features)
            # float16 above HALF_ABOVE rows, at one scale for all rows first (float16 ends at 65,504)
            to_half = held_dtype(features) == np.float16 and features.dtype != np.float16
            self.features = _scaled(features, np.float16) if to_half else stored(features)
        if not len(self.vectors):
            self.vectors = np.zeros((0, 1), dtype=np.float32)
        elif not _unit_kept(self.vectors):
            self.vectors = normalize(self.vectors)  # (unit rows in their stored dtype are kept: no copy)
        self._map_large_rows()

    def _map_large_rows(self) -> None:
        """The vectors and features moved into memory-mapped temporary files above `MAP_ABOVE` rows."""
        self.vectors, note = mapped(self.vectors)
        if self.features is not None and note is None:
            self.features, note = mapped(self.features)
        if note is not None:
            self.notes.append(note)

    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
        return int(self.vectors.shape[1])

    @cached_property
    def row_of(self) -> dict[int, int]:
        """Dataset sample row → row of `vectors`."""
        return {int(s): i for i, s in enumerate(self.samples)}

    def texts(self, prompts: list[str]) -> FloatMatrix:
        """Unit vectors of `prompts` (raises when there is no text encoder)."""
        if self.encode_text is None:
            raise EmbeddingError("these embeddings came without a text encoder")
        vectors = normalize(self.encode_text(prompts))
        dead = [prompt for prompt, vector in zip(prompts, vectors, strict=True) if not vector.any()]
        if dead:
            raise EmbeddingError(
                f"the model's text encoder gave no usable vector (NaN, infinite or zero) for {len(dead)} of "
                f"{len(prompts)} prompts, e.g. {dead[0]!r}: damaged weights? (on a GPU, an fp16 overflow: try "
                "--device cpu)"
            )
        return vectors


def load_precomputed(
    path: str | Path,
    task_ids: npt.NDArray[np.int64],
    region_ids: list[str | None],
) -> EmbeddingSpace:
    """Embeddings a team computed with its own model, matched to samples by task id and region id (what
    was left out is said in the space's `notes`).

    Accepted: `.npz` with arrays `task_id`, `region_id` and `embedding` (or `vectors`); `.npy` holding a
    structured array with those fields; `.parquet` with those columns (needs pyarrow). Whole-image
    examples have an empty region id. A file that cannot be used as a whole (columns of different lengths,
    not a matrix, NaN) is an `EmbeddingError`; rows that can be left out (all zeros: no direction to
    compare; a key given twice: the last row wins) are, with a line in `notes`.
    """
    p = Path(path)
    tasks, regions, matrix = _read_matrix(p, str(path))
    # unit rows (CLIP's, normalized by whoever exported them) are their own features: one array for both
    unit = bool(len(matrix)) and unit_rows(matrix, 1e-3)
    features = None if unit else _scaled(matrix, held_dtype(matrix))
    if not unit:
        matrix = _rows_to_peak_one(matrix)
    try:
        keys = [(int(t), str(r) if r not in (None, "") else "") for t, r in zip(tasks, regions, strict=True)]
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{path}: task_id must hold task ids (integers): {exc}") from None
    notes: list[str] = []
    lookup = dict(zip(keys, range(len(keys)), strict=True))
    if len(lookup) < len(keys):
        notes.append(
            f"{path}: {len(keys) - len(lookup)} (task, region) key(s) given twice; the last row of each is used"
        )
    rows, found, zero = _match(lookup, ~nonzero_rows(matrix), task_ids, region_ids)
    if not found:
        why = f"all {zero} that match are all zeros" if zero else "none matches a task and region id of the export"
        raise EmbeddingError(f"{path}: no usable embedding: {why}")
    if zero:
        notes.append(f"{path}: {zero} embedding(s) are all zeros and were left out (no direction to compare)")
    distinct = distinct_directions(matrix, np.asarray(found, dtype=np.int64))
    if distinct * 2 < len(found):
        notes.append(
            f"{path}: only {distinct} distinct embedding(s) among {len(found)}: unless the examples really are "
            "copies, the file is wrong (a repeated row, a wrong column?) and the neighbour-based findings "
            "(likely-mislabel, hard-negative-confusion, outlier, near-duplicate) say nothing about the data"
        )
    every = len(found) == len(matrix) and bool(np.all(np.asarray(found) == np.arange(len(matrix))))
    return EmbeddingSpace(
        np.asarray(rows, dtype=np.int64),
        matrix if every else matrix[found],
        model_id=f"precomputed:{p.name}",
        features=features if every or features is None else features[found],
        notes=notes,
    )


def _scaled(matrix: Matrix, dtype: type[np.floating[Any]]) -> Matrix:
    """`matrix` over its largest absolute value, as `dtype`, a chunk of rows at a time: one scale for all
    rows, so distances keep their proportions (no value exceeds the largest: no overflow)."""
    pieces = row_chunks(len(matrix))
    overall = max((float(np.abs(matrix[piece]).max()) for piece in pieces if matrix[piece].size), default=1.0)
    out = empty(matrix.shape, dtype)
    for piece in pieces:  # (dividing by overall, not multiplying by 1/overall, which may overflow)
        out[piece] = matrix[piece] / np.float32(overall) if overall > 0 else matrix[piece]
    return out


def _rows_to_peak_one(matrix: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    """Each row of `matrix` brought to a largest component of 1 (same directions), in place (in a copy
    where `matrix` is a file's, mapped read-only): the lengths of rows of 1e30 or 1e-40 overflow or vanish
    in float32, which made every such row a zero vector, a duplicate of every other."""
    if not matrix.flags.writeable:
        owned = empty(matrix.shape, matrix.dtype)
        for piece in row_chunks(len(matrix)):
            owned[piece] = matrix[piece]
        matrix = owned
    for piece in row_chunks(len(matrix)):
        rows = matrix[piece]
        peak = np.abs(rows).max(axis=1, keepdims=True) if rows.size else np.ones((len(rows), 1), rows.dtype)
        np.divide(rows, peak, out=rows, where=peak > 0)
        rows[(peak <= 0)[:, 0]] = 0
    return matrix


def _unit_kept(vectors: object) -> bool:
    """Whether `vectors` is a matrix of unit rows in the dtype it is to be held in already (float32, or
    float16: `scores.chunked.held_dtype`), kept as given: no copy."""
    return (
        isinstance(vectors, np.ndarray)
        and vectors.ndim == 2
        and vectors.dtype == held_dtype(vectors)
        and unit_rows(vectors, 1e-6)
    )


def _read_matrix(p: Path, path: str) -> tuple[Any, Any, npt.NDArray[np.floating[Any]]]:
    """The task ids, region ids and the float32 matrix (float16 where the file's is) of the embeddings
    file `p` (named `path` in messages, as the user gave it), checked to fit together."""
    if not p.is_file():
        raise EmbeddingError(f"{path}: no such embeddings file")
    try:
        tasks, regions, vectors = _read_keyed(p)
        # a float16 file stays float16; any other is read as float32, and a large space converts it to
        # float16 only once its rows are scaled (float16 ends at 65,504: rows of 1e30 would be infinite)
        given = np.asarray(vectors)
        dtype = np.float16 if given.dtype == np.float16 else np.float32
        matrix: npt.NDArray[np.floating[Any]] = given.astype(dtype, copy=False)
    except EmbeddingError:
        raise
    except Exception as exc:  # numpy and pyarrow raise many kinds for a damaged file
        raise EmbeddingError(f"{path}: cannot be read as embeddings: {exc}") from None
    if matrix.ndim != 2:
        raise EmbeddingError(f"{path}: embeddings must be a 2-D matrix (one row per example), got shape {matrix.shape}")
    if not len(tasks) == len(regions) == len(matrix):
        raise EmbeddingError(
            f"{path}: task_id, region_id and embedding must have one entry per example; "
            f"they have {len(tasks)}, {len(regions)} and {len(matrix)}"
        )
    if not all(np.isfinite(matrix[piece]).all() for piece in row_chunks(len(matrix))):
        raise EmbeddingError(f"{path}: embeddings contain NaN or infinite values")
    return tasks, regions, matrix


def _match(
    lookup: dict[tuple[int, str], int],
    empty: npt.NDArray[np.bool_],
    task_ids: npt.NDArray[np.int64],
    region_ids: list[str | None],
) -> tuple[list[int], list[int], int]:
    """The samples that have a usable row, those rows, and how many matched an all-zero row."""
    rows, found, zero = [], [], 0
    for sample, (task, region) in enumerate(zip(task_ids.tolist(), region_ids, strict=True)):
        index = lookup.get((int(task), region or ""))
        if index is not None and empty[index]:
            zero += 1
        elif index is not None:
            rows.append(sample)
            found.append(index)
    return rows, found, zero


def distinct_directions(matrix: npt.NDArray[np.floating[Any]], rows: npt.NDArray[np.int64] | None = None) -> int:
    """How many different directions the rows of `matrix` (those of `rows`, default all) point in, counted
    by their unit vectors' projections on two fixed random directions (equal rows project equally;
    different ones, almost never): matrix-vector products a chunk of rows at a time and a sort, not a sort
    of whole rows."""
    chosen = np.arange(len(matrix)) if rows is None else rows
    if not len(chosen):
        return 0
    directions = np.random.default_rng(0).normal(size=(matrix.shape[1], 2)).astype(np.float32)
    projected = np.concatenate([normalize(matrix[piece]) @ directions for piece in row_chunks(chosen)])
    return len(np.unique(np.round(projected, 5), axis=0))


def _read_keyed(path: Path) -> tuple[Any, Any, Any]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            vectors = npz_array(path, data, "embedding" if "embedding" in data else "vectors")
            return data["task_id"], data["region_id"].astype(str), vectors
    if suffix == ".npy":
        data = np.load(path, allow_pickle=False, mmap_mode="r")  # (a structured array: its fields are views)
        if data.dtype.names is None or not {"task_id", "region_id"} <= set(data.dtype.names):
            raise EmbeddingError(f"{path}: a .npy file must hold a structured array with task_id, region_id, embedding")
        vectors = data["embedding"] if "embedding" in data.dtype.names else data["vectors"]
        return data["task_id"], data["region_id"].astype(str), vectors
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise EmbeddingError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
        table = pq.read_table(path)
        missing = sorted({"task_id", "region_id"} - set(table.column_names))
        column = "embedding" if "embedding" in table.column_names else "vectors"
        if missing or column not in table.column_names:
            needed = ", ".join(missing + ([] if column in table.column_names else ["embedding"]))
            raise EmbeddingError(
                f"{path}: a .parquet file must have the columns task_id, region_id, embedding; missing: {needed}"
            )
        return (
            table.column("task_id").to_numpy(),
            [str(x) if x is not None else "" for x in table.column("region_id").to_pylist()],
            _parquet_matrix(path, table.column(column)),
        )
    raise EmbeddingError(f"{path}: embeddings must be .npz, .npy or .parquet")


def _parquet_matrix(path: Path, column: Any) -> npt.NDArray[np.float32]:
    """A parquet column of equal-length number lists as a matrix, straight from Arrow's buffers (a Python
    float per number would take seconds and gigabytes at 100,000 × 512)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = column.combine_chunks()
    kind = array.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)):
        raise EmbeddingError(f"{path}: the embedding column must hold a list of numbers per row, not {kind}")
    if not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise EmbeddingError(f"{path}: the embedding column must hold numbers, not {kind.value_type}")
    if array.null_count:
        raise EmbeddingError(f"{path}: {array.null_count} row(s) have no embedding (null)")
    lengths = np.unique(pc.list_value_length(array).to_numpy())
    if len(lengths) > 1:
        raise EmbeddingError(f"{path}: embeddings have different lengths ({', '.join(map(str, lengths[:5]))})")
    width = int(lengths[0]) if len(lengths) else 0
    values = array.flatten().to_numpy(zero_copy_only=False)  # a null number becomes NaN, refused later
    return np.asarray(values, dtype=np.float32).reshape(len(array), width)
