"""Large matrices of rows kept out of the process's memory: in memory-mapped files.

At 10 million 512-wide float16 rows a space's vectors are 10 GB. Held in the process they are anonymous
memory, which only the process can let go; memory-mapped from a file they are the kernel's page cache,
read in as the checks read them and dropped when memory runs short (read again when next needed).
Reading them is as fast as memory while they fit, and a check of more rows than fit still runs.

Rows already in a file are mapped where they lie (`npz_array`: an uncompressed `.npz`, as `np.savez`
and the embedding cache write them); rows made by the run go to an unnamed temporary file (`empty`,
`mapped`), which is gone when the last mapping of it goes, however the process ends.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from taxospec.scores.chunked import Matrix, row_chunks

MAP_ABOVE = 500_000
"""Rows above which a space's vectors (and features) are memory-mapped: the size above which they are held
in float16 (`chunked.HALF_ABOVE`), 0.5 GB at 512 columns."""


def file_backed(matrix: object) -> bool:
    """Whether `matrix`'s memory is a mapped file (a memory map or a view of one; a copy made from one by
    fancy indexing is not)."""
    base = matrix
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def empty(shape: tuple[int, ...], dtype: Any) -> Matrix:
    """An uninitialized, writable matrix: in an unnamed, memory-mapped temporary file above `MAP_ABOVE`
    rows (in memory where no such file can be made, or below the size)."""
    if shape[0] <= MAP_ABOVE or not shape[0] * shape[1]:
        return np.empty(shape, dtype=dtype)
    try:
        return _temporary_map(shape, dtype)
    except (OSError, ValueError):  # an unwritable or full temporary folder
        return np.empty(shape, dtype=dtype)


def mapped(matrix: Matrix) -> tuple[Matrix, str | None]:
    """`matrix` as it is where it has at most `MAP_ABOVE` rows, read-only where it is file-backed already;
    else copied into an unnamed temporary file and memory-mapped from it, read-only; and a note where that
    could not be done (it is then kept in memory).

    The file is in the temporary folder (`TMPDIR`; on a disk, not a RAM file system, for this to help)."""
    if file_backed(matrix):  # (a read-only view: the matrix itself may be the caller's, left as it is)
        out = matrix.view()
    elif len(matrix) <= MAP_ABOVE or not matrix.size:
        return matrix, None
    else:
        try:
            out = _temporary_map(matrix.shape, matrix.dtype)
        except OSError as exc:  # a full disk, an unwritable temporary folder
            why = exc.strerror or str(exc)
            folder = tempfile.gettempdir()
            return matrix, f"the vectors were kept in memory: the temporary folder {folder} could not take them ({why})"
        for piece in row_chunks(len(matrix)):
            out[piece] = matrix[piece]
    out.flags.writeable = False
    return out, None


def _temporary_map(shape: tuple[int, ...], dtype: Any) -> Matrix:
    """A writable matrix memory-mapped from an unnamed temporary file, its disk blocks reserved now: a full
    disk is an `OSError` here, not a crash (SIGBUS) when a page is written later."""
    with tempfile.TemporaryFile(prefix="taxospec-rows-") as handle:
        os.posix_fallocate(handle.fileno(), 0, int(np.prod(shape)) * np.dtype(dtype).itemsize)
        return np.memmap(handle, dtype=dtype, mode="r+", shape=shape)


def npz_array(path: Path, data: Any, name: str) -> Matrix:
    """The array `name` of the `.npz` file at `path` (opened by `np.load` as `data`): memory-mapped
    (read-only) where it lies in the file when it is a 2-D float16 or float32 array of more than
    `MAP_ABOVE` rows stored uncompressed in C order, else read by `data`. Raises `ValueError` for a file
    whose archive and contents disagree."""
    found = _stored_in_place(path, name)
    if found is None:
        return np.asarray(data[name])
    shape, dtype, offset = found
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _stored_in_place(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype[Any], int] | None:
    """The shape, dtype and byte offset of the `.npz` member `name` where it can be mapped in place."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(f"{name}.npy")
        except KeyError:
            return None
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise ValueError(f"{name}: no local file header where the archive says")
        names, extra = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + names + extra
        handle.seek(start)
        shape, fortran, dtype = _npy_header(handle)
        offset = handle.tell()
    usable = dtype in (np.float16, np.float32) and dtype.byteorder != ">" and not fortran and len(shape) == 2
    if not (usable and shape[0] > MAP_ABOVE):
        return None
    if offset + int(np.prod(shape)) * dtype.itemsize > start + info.file_size:  # (mapped, it would read on)
        raise ValueError(f"{name}: its header's shape {shape} needs more bytes than the archive holds for it")
    return shape, dtype, offset


def _npy_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """The shape, Fortran order and dtype of the `.npy` data at `handle`'s position (left at its data)."""
    fmt: Any = np.lib.format  # (numpy's own reader of the header; untyped)
    version = fmt.read_magic(handle)
    reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
    if reader is None:
        return (), False, np.dtype(np.object_)  # (a newer format: left to np.load)
    shape, fortran, dtype = reader(handle)
    return tuple(shape), bool(fortran), np.dtype(dtype)
