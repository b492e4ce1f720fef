"""The embedding stage on a Ray cluster (Ray Data): media read, hashed, decoded and resized by CPU tasks,
encoded by actors that hold the model (one per GPU, or CPU actors), and written by those actors into the
same content-addressed cache the single-process stage uses — a folder every node sees. A later `taxospec
check` on one machine reads the vectors as if it had computed them: same keys, same preprocessing split
as the worker-process path (`processes`: uint8 pixels normalized beside the model).

What the cache already holds is not read again where the content memo knows the file, and not encoded
again in any case. A killed worker costs its batch only: Ray retries the task, or restarts the actor, and
a batch file is written whole or not at all.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from taxospec.dataset import Dataset, ReadIssue
from taxospec.embeddings.cache import EmbeddingCache, item_key, usable_rows, write_batch
from taxospec.embeddings.jobs import as_stored
from taxospec.embeddings.lazy import ModelRequest
from taxospec.embeddings.plan import plan as plan_task
from taxospec.embeddings.remote_cache import RemoteFolder
from taxospec.errors import OptionError
from taxospec.media.sources import MediaProblem, MediaSources, shown

if TYPE_CHECKING:
    import pyarrow as pa

CONNECT_SECONDS = 5.0
"""How long the cluster's address may take to answer before the run stops (exit 2)."""
MIN_BLOCKS = 200
"""Blocks the tasks to read are cut into at least (as `ray.data.from_items` cuts a list)."""


@dataclass(frozen=True)
class RayPlan:
    """What every worker needs to know: which model, which preprocessing, which media, into which cache.

    Not the tasks: they reach the workers as Ray Data rows, a block at a time (a plan that held them was
    shipped whole to every decoding worker and encoder: gigabytes each at tens of millions of tasks).
    """

    request: ModelRequest
    backend: str
    folder: str | RemoteFolder
    """The cache folder of the model and preprocessing: a folder every node sees, or on object storage."""
    stage: Any
    """The image transforms before the tensor (resize, crop): run by the CPU tasks."""
    video: bool
    sources: MediaSources


@dataclass
class RayOutcome:
    """What came back: keys written, problems per task (what each file said goes straight to the content
    memo: `Remember`)."""

    written: int = 0
    issues: list[ReadIssue] = field(default_factory=list)


def reachable(address: str) -> None:
    """`OptionError` (exit 2) when `address` (`host:port`, `ray://host:port`) does not answer; `local` and
    `auto` are not checked here (a local cluster is started, `auto` finds one or fails in Ray's words)."""
    if address in ("local", "auto"):
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise OptionError(f"--ray {address}: give host:port, ray://host:port, auto or local")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS):
            pass
    except OSError as exc:
        raise OptionError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def connect(address: str) -> None:
    """Join the cluster at `address` (`local`: start one on this machine)."""
    import ray

    reachable(address)
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address == "local":
            ray.init(**options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise OptionError(f"cannot join the Ray cluster at {address}: {exc}") from None
    quiet()


def quiet() -> None:
    """Ray Data's progress logs off: taxospec shows its own progress (rate and ETA)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


def plan_rows(dataset: Dataset, cache: EmbeddingCache, sources: MediaSources) -> pa.Table:
    """The tasks that still need reading — every task whose media the memo does not know unchanged with
    all its vectors cached — as columns: `task`, `uri`, `whats` (what to take of it). Columns, not a dict
    per task: about 40 bytes a task held where the dicts held 300 (`benchmarks/ray_driver_memory.py`)."""
    import pyarrow as pa

    spec = dataset.spec.embedding
    cols = dataset.columns
    task_of = np.asarray(cols.task)
    order = np.argsort(task_of, kind="stable")  # each task's samples together, in sample order
    tasks, starts = np.unique(task_of[order], return_index=True)
    bounds = np.append(starts, len(order)).tolist()
    media = dataset.items.media
    digests = cache.memo.unchanged(sources.scope(), [media[t] for t in tasks.tolist()])
    kept: list[int] = []
    whats_of: list[list[str]] = []
    shared: dict[tuple[str, ...], list[str]] = {}  # one list for the tasks that take the same things
    for i, (task, digest) in enumerate(zip(tasks.tolist(), digests, strict=True)):
        samples = order[bounds[i] : bounds[i + 1]].tolist()
        planned = plan_task(cols, samples, spec.frames_per_segment, spec.box_margin)
        whats = tuple(sorted({what for _, _, what in planned}))
        if digest is not None and all(item_key(digest, w) in cache for w in whats):
            continue
        kept.append(task)
        whats_of.append(shared.setdefault(whats, list(whats)))
    return pa.table(
        {
            "task": pa.array(kept, pa.int64()),
            "uri": pa.array([media[t] or "" for t in kept], pa.string()),
            "whats": pa.array(whats_of, pa.list_(pa.string())),
        }
    )


@dataclass(frozen=True)
class Decode:
    """A CPU task's work: read and hash a task's media, decode what is not cached, resize it (uint8). A
    function object (not a class Ray would make an actor of): each call is a task, retried if its worker
    dies."""

    plan: RayPlan
    size: tuple[int, int, int]

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """One output row per image to encode, or one row saying why the task could not be read."""
        from taxospec.embeddings.frames import probe_video
        from taxospec.embeddings.reading import images_of, read_task_media

        task, uri, whats = int(row["task"]), str(row["uri"]), [str(what) for what in row["whats"]]
        plan = self.plan
        try:
            path, data, _, digest = read_task_media(uri or None, plan.sources, plan.video)
            facts = probe_video(data) if plan.video else None
            wanted = [(0, 0, what) for what in whats]
            images = images_of(data, shown(uri), wanted, plan.video)
        except MediaProblem as problem:
            return [self._row(task, "", "", problem.code, str(problem), "", None)]
        located = str(path) if path is not None else ""
        out = [
            self._row(task, item_key(digest, what), digest, "", "", located, facts, plan.stage(image))
            for what, image in images.items()
        ]
        return out or [self._row(task, "", digest, "", "", located, facts)]

    def _row(
        self,
        task: int,
        key: str,
        digest: str,
        code: str,
        problem: str,
        path: str,
        facts: tuple[float, int] | None,
        image: Any = None,
    ) -> dict[str, Any]:
        pixels = np.asarray(image, dtype=np.uint8) if image is not None else np.zeros(self.size, dtype=np.uint8)
        return {
            "task": task,
            "key": key,
            "digest": digest,
            "code": code,
            "problem": problem,
            "path": path,
            "fps": float(facts[0]) if facts else 0.0,
            "frames": int(facts[1]) if facts else 0,
            "pixels": pixels,
        }


class Encode:
    """An actor's work: hold the model, encode batches of pixels, write each batch into the shared cache."""

    def __init__(self, plan: RayPlan, device: str) -> None:
        from taxospec.plugins.registry import embedders

        self.embedder = replace(plan.request, device=device).load(embedders().get(plan.backend))
        self.folder = plan.folder

    def __call__(self, batch: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        """Encode the rows with a key and write them; every row goes on (without its pixels)."""
        keys = [str(k) for k in batch["key"]]
        todo = [i for i, key in enumerate(keys) if key]
        written = np.zeros(len(keys), dtype=bool)
        if todo:
            vectors = as_stored(self.embedder.encode_uint8(np.stack([batch["pixels"][i] for i in todo])))  # type: ignore[attr-defined]
            kept, half = usable_rows([keys[i] for i in todo], vectors)
            if kept:
                if isinstance(self.folder, RemoteFolder):
                    self.folder.write_batch(kept, half)
                else:
                    write_batch(Path(self.folder), kept, half)
                stored = set(kept)
                written[[i for i in todo if keys[i] in stored]] = True
        out = {name: values for name, values in batch.items() if name != "pixels"}
        out["written"] = written
        return out


def run_on_ray(
    rows: pa.Table, plan: RayPlan, *, batch_size: int, encoders: int, gpus_per_encoder: float
) -> Iterator[dict[str, Any]]:
    """Read, decode and encode `rows` (`plan_rows`: one per task still to read) with `plan` on the joined
    cluster; yields each finished row (`task`, `key`, `written`, problems)."""
    import ray.data

    size = _stage_size(plan.stage)
    # an instance, not the class: Ray Data runs a callable object as stateless tasks (a class, as actors)
    cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    decoded = ray.data.from_arrow(blocks(rows, cpus)).flat_map(Decode(plan, size), num_cpus=1)
    device = "cuda" if gpus_per_encoder > 0 else "cpu"
    encoded = decoded.map_batches(
        Encode,
        fn_constructor_args=(plan, device),
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=encoders),
        num_gpus=gpus_per_encoder,
        num_cpus=0 if gpus_per_encoder > 0 else 1,
        batch_format="numpy",
    )
    for batch in encoded.iter_batches(batch_format="numpy", batch_size=256):
        for i in range(len(batch["task"])):
            yield {name: values[i] for name, values in batch.items()}


def blocks(rows: pa.Table, cpus: int) -> list[pa.Table]:
    """`rows` in as many blocks as `ray.data.from_items` makes of a list on a cluster of `cpus` CPUs (at
    least `MIN_BLOCKS`, twice its CPUs on a larger one; at most one a task; none empty), in order: the
    decoding tasks' units of work."""
    count = max(1, min(rows.num_rows, max(MIN_BLOCKS, 2 * cpus)))
    size, extra = divmod(rows.num_rows, count)
    starts = [i * size + min(i, extra) for i in range(count + 1)]
    return [rows.slice(start, stop - start) for start, stop in itertools.pairwise(starts)]


def _stage_size(stage: Any) -> tuple[int, int, int]:
    """The shape of what `stage` makes of a picture (its output is one size for every input)."""
    from PIL import Image

    return tuple(np.asarray(stage(Image.new("RGB", (97, 61))), dtype=np.uint8).shape)  # type: ignore[return-value]


def collect(
    rows: Iterator[dict[str, Any]], outcome: RayOutcome, advance: Any, learnt: Callable[[dict[str, Any]], None]
) -> RayOutcome:
    """Gather the finished rows into `outcome`, advancing the progress once per task and handing `learnt`
    the first row of each task that was read (its file's path, content hash and video facts)."""
    seen = bytearray()  # one byte a task: tens of millions of them
    for row in rows:
        task = int(row["task"])
        if row["code"]:
            outcome.issues.append(ReadIssue(str(row["code"]), str(row["problem"]), task))
        outcome.written += int(bool(row["written"]))
        if task >= len(seen):
            seen.extend(bytes(task + 1 - len(seen)))
        if not seen[task]:
            seen[task] = 1
            advance(1)
            if row["digest"]:
                learnt(row)
    return outcome


class Remember:
    """Puts what the workers learnt of each local file into the driver's content memo as its row comes
    back (a file the driver cannot see is left out: a re-run reads it again, and encodes nothing); the
    memo is saved by the caller."""

    def __init__(self, cache: EmbeddingCache, dataset: Dataset, sources: MediaSources) -> None:
        self.memo, self.media, self.scope = cache.memo, dataset.items.media, sources.scope()

    def __call__(self, row: dict[str, Any]) -> None:
        """Store the row's file (`path`, `digest`, `fps`, `frames`) under its task's URI."""
        path = str(row["path"])
        if not path:
            return
        try:
            stat = os.stat(path)
        except OSError:
            return
        facts = (float(row["fps"]), int(row["frames"])) if int(row["frames"]) else None
        uri = self.media[int(row["task"])]
        self.memo.store(path, stat, str(row["digest"]), uri=uri, scope=self.scope, facts=facts)


__all__ = ["RayOutcome", "RayPlan", "Remember", "blocks", "collect", "connect", "plan_rows", "reachable", "run_on_ray"]
