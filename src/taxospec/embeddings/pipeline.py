"""Embed every example of a dataset: read and decode media while the model encodes.

First the content memo says which media is unchanged since it was last read (one `stat` per file); those
tasks' vectors come from the cache in bulk (`assembly.take_cached`), and when that is every task the model
is never loaded. The other tasks' media is read once and hashed (`reading`); what is cached (by content,
region, frame, model and preprocessing) is not decoded again; what is not is decoded, cropped and
preprocessed — by worker threads on the CPU, in worker processes (`processes`) for video on a GPU, or on
the GPU by the device stage (`device_stage`) — a bounded number of tasks ahead of the encoder, and encoded
in batches. Media that cannot be had becomes a `media-*` issue of the returned space; the run goes on, and
the dataset is never written.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.dataset import Dataset, ReadIssue
from taxospec.embeddings.assembly import CachedParts, assemble, take_cached, without_dead_vectors
from taxospec.embeddings.cache import EmbeddingCache, item_key
from taxospec.embeddings.device_stage import BATCHES_AHEAD, Decoded, DeviceStage, closing, encode_padded
from taxospec.embeddings.frames import VideoFacts, probe_video
from taxospec.embeddings.jobs import Job, TaskResult, as_stored
from taxospec.embeddings.pictures import refuse_huge
from taxospec.embeddings.plan import PlanEntry, region_tasks
from taxospec.embeddings.plan import plan as plan_task
from taxospec.embeddings.processes import in_processes
from taxospec.embeddings.progress import progress_bar
from taxospec.embeddings.reading import content_hash, images_of, read_task_media
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.errors import EmbeddingError
from taxospec.gc_pause import gc_paused
from taxospec.media.files import forget_resolved_folders
from taxospec.media.sources import MediaProblem, MediaSources, shown
from taxospec.plugins.interfaces import DecodesOnDevice, Embedder, SplitsPreprocessing

__all__ = ["as_stored", "content_hash", "embed_dataset"]

GPU_READERS = 1
"""Media threads when images are decoded on the GPU: none, the media is read in the main thread while the
device stage decodes and the GPU encodes. Measured on an H100 host (benchmarks/README.md): 1 thread reached 96 %
of bare encoding, 2 threads 81-87 %, 4 and 8 threads 64-67 % (every thread's Python work contends for the
GIL with the encoder's and the decoder's)."""
CPU_READERS = 2
"""Media threads when media is decoded on the CPU (always on a CPU, where the model is the bottleneck;
video on a GPU)."""
PROCESSES_ABOVE = 3000
"""Tasks to decode above which worker processes pay for their start-up (torch imports, ~1 s each)."""


@gc_paused
def embed_dataset(
    dataset: Dataset,
    embedder: Embedder,
    sources: MediaSources,
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    progress: bool = False,
    processes: bool | None = None,
    device_decode: bool | None = None,
) -> EmbeddingSpace:
    """The embedding space of `dataset`'s examples (those whose media could be read).

    Still images are decoded and resized on the model's device when `device_decode` (default: when the
    embedder says so, i.e. on a GPU: nvjpeg keeps up with the encoder where Pillow cannot), in the
    `DeviceStage` a batch or two ahead of the encoder; media is then only read and hashed, by `workers`
    threads (default on a GPU: `GPU_READERS`, i.e. in the calling thread). Otherwise decoding runs in
    `workers` threads (default `CPU_READERS`), or in `workers` processes when `processes` (default: on a
    GPU for video, with more than one worker and more than `PROCESSES_ABOVE` tasks to decode); with
    processes, images travel as uint8 pixels and are converted and normalized on the device.
    """
    forget_resolved_folders()
    run = _EmbeddingRun(dataset, embedder, sources, cache, batch_size)
    taken = run.take_cached()
    todo = taken.todo
    decoder = embedder if isinstance(embedder, DecodesOnDevice) else None
    if device_decode is None:
        device_decode = decoder is not None and decoder.decodes_on_device
    run.decoder = decoder if bool(todo) and device_decode and dataset.spec.media == "image" else None
    if workers is None:  # threads that only read need not be many; threads that decode (video) help
        workers = GPU_READERS if run.decoder is not None else CPU_READERS
    if processes is None:
        processes = workers > 1 and run.on_gpu and len(todo) > PROCESSES_ABOVE
    splitter = embedder if isinstance(embedder, SplitsPreprocessing) else None
    pil_stage = splitter.pil_stage() if splitter and processes and todo and run.decoder is None else None
    if pil_stage is not None:
        plans = [(task, dataset.items.media[task], run.plan_of(task)) for task in todo]
        decoded: Iterator[TaskResult] = in_processes(plans, sources, pil_stage, run.video, workers, cache)
    else:
        decoded = _ordered(run.prepare, todo, workers)
    with progress_bar(progress, len(run.tasks)) as advance, _torch_threads(embedder), closing(run.stages):
        advance(len(run.tasks) - len(todo))
        for result in decoded:
            advance(1)
            run.take(result)
        run.drain()
    return run.space(taken)


class _EmbeddingRun:
    """One run of the embedding stage: what it has planned, what it has encoded, and what it found.

    `prepare` runs in worker threads (it only reads the run's plan and the cache); everything else runs in
    the calling thread."""

    def __init__(
        self, dataset: Dataset, embedder: Embedder, sources: MediaSources, cache: EmbeddingCache | None, batch: int
    ) -> None:
        self.dataset = dataset
        self.cols = dataset.columns
        self.embedder = embedder
        self.sources = sources
        self.cache = cache
        self.batch_size = batch
        self.on_gpu = embedder.device.startswith("cuda")
        self.video = dataset.spec.media == "video"
        self.scope = sources.scope()
        self.by_task: dict[int, list[int]] = {}
        for sample, task in enumerate(self.cols.task.tolist()):
            self.by_task.setdefault(task, []).append(sample)
        self.tasks = sorted(self.by_task)
        self.decoder: DecodesOnDevice | None = None
        """The embedder, when still images are decoded on its device."""
        self.issues: list[ReadIssue] = []
        self.video_facts: dict[int, tuple[float, int]] = {}
        self.vectors: dict[int, list[tuple[int, npt.NDArray[np.float32]]]] = {}
        self.hashes: dict[int, str] = {}
        self.pending: list[Job] = []
        self.stages: list[DeviceStage] = []  # made for the first batch that needs one (a re-run may need none)
        self.in_flight: deque[Future[Decoded]] = deque()

    def plan_of(self, task: int) -> list[PlanEntry]:
        """What to encode of `task`: each example's slots (whole picture, frames, crops)."""
        spec = self.dataset.spec.embedding
        return plan_task(self.cols, self.by_task[task], spec.frames_per_segment, spec.box_margin)

    def take_cached(self) -> CachedParts:
        """The vectors of unchanged media, from the cache in bulk, and the tasks left to read; with the facts
        the videos said of themselves when they were read."""
        if self.cache is None:
            return CachedParts(todo=self.tasks)
        media = self.dataset.items.media
        digests = self.cache.memo.unchanged(self.scope, [media[task] for task in self.tasks])
        taken = take_cached(self.tasks, digests, self.by_task, region_tasks(self.cols), self.plan_of, self.cache)
        if self.video:  # what the videos said when they were read, for the timing checks
            unread = set(taken.todo)
            known = [task for task in self.tasks if task not in unread]
            for task, facts in zip(known, self.cache.memo.facts(self.scope, [media[t] for t in known]), strict=True):
                if facts is not None:
                    self.video_facts[task] = VideoFacts(*facts)
        return taken

    def prepare(self, task: int) -> TaskResult:
        """Read, hash and (unless the device decodes) decode and preprocess what `task` still needs."""
        result = TaskResult(task)
        uri = self.dataset.items.media[task]
        cache = self.cache
        try:
            plan = self.plan_of(task)
            path, data, stat, result.content_hash = read_task_media(uri, self.sources, self.video)
            result.facts = probe_video(data) if self.video else None
            if cache is not None and path is not None and stat is not None:
                cache.memo.store(path, stat, result.content_hash, uri=uri, scope=self.scope, facts=result.facts)
            missing = [p for p in plan if cache is None or item_key(result.content_hash, p[2]) not in cache]
            if self.decoder is not None and isinstance(data, bytes):  # still images: always bytes
                return self._for_the_device(result, data, plan, missing, shown(uri or ""))
            images = images_of(data, shown(uri or ""), missing, self.video)
            for sample, slot, what in plan:
                job = Job(sample, slot, item_key(result.content_hash, what))
                image = images.get(what)
                if image is not None:
                    job.tensor = self.embedder.preprocess_images([image])[0]
                elif cache is not None:
                    job.vector = cache.get(job.key)
                result.jobs.append(job)
        except MediaProblem as problem:
            result.problem = problem
        return result

    def _for_the_device(
        self, result: TaskResult, data: bytes, plan: list[PlanEntry], missing: list[PlanEntry], name: str
    ) -> TaskResult:
        """`result` with the raw bytes kept for the device stage, and each job's cached vector or cut."""
        if missing:
            refuse_huge(data, name)
        result.raw = data if missing else None
        for sample, slot, what in plan:
            key = item_key(result.content_hash or "", what)
            job = Job(sample, slot, key, vector=self.cache.get(key) if self.cache is not None else None)
            if job.vector is None:
                job.what = what  # decoded with the other jobs of its batch, on the device
            result.jobs.append(job)
        return result

    def take(self, result: TaskResult) -> None:
        """One task's result: its problem as an issue, or its jobs queued for the encoder (or kept, cached)."""
        if result.problem is not None:
            self.issues.append(ReadIssue(result.problem.code, str(result.problem), result.task))
            return
        if result.facts is not None:
            self.video_facts[result.task] = result.facts
        if result.content_hash:
            for sample in self.by_task[result.task]:
                self.hashes[sample] = result.content_hash
        for job in result.jobs:
            if job.what is not None:
                job.raw = result.raw
            if job.to_encode:
                self.pending.append(job)
                if len(self.pending) >= self.batch_size:
                    self.flush()
            elif job.vector is not None:
                self.vectors.setdefault(job.sample, []).append((job.slot, job.vector))

    def flush(self) -> None:
        """Encode the pending batch (or hand it to the device stage, which decodes it first)."""
        pending = self.pending
        if not pending:
            return
        if pending[0].what is not None:
            if not self.stages:
                assert self.decoder is not None, "jobs to decode on the device come only from a decoder"
                self.stages.append(DeviceStage(self.decoder))
            self.in_flight.append(self.stages[0].submit(list(pending)))  # decoded while the last batch encodes
            pending.clear()
            while len(self.in_flight) > BATCHES_AHEAD:
                self._encode_decoded(self.in_flight.popleft().result())
            return
        if pending[0].pixels is not None:
            embedder = self.embedder
            assert isinstance(embedder, SplitsPreprocessing), "uint8 pixels come only from a split stage"
            encoded = embedder.encode_uint8(np.stack([job.pixels for job in pending if job.pixels is not None]))
        else:
            import torch

            batch = torch.stack([job.tensor for job in pending])
            encoded = encode_padded(self.embedder, batch, self.batch_size if self.on_gpu else 0)
        self._keep(pending, encoded)
        pending.clear()

    def drain(self) -> None:
        """Encode what is left: the last partial batch and the batches still on the device stage."""
        self.flush()
        while self.in_flight:
            self._encode_decoded(self.in_flight.popleft().result())

    def _encode_decoded(self, decoded: Decoded) -> None:
        """Encode a batch the device stage decoded; what did not decode becomes `media-unreadable`."""
        for job in decoded.failed:
            bad = int(self.cols.task[job.sample])
            if not any(i.task == bad and i.code == "media-unreadable" for i in self.issues):
                self.issues.append(ReadIssue("media-unreadable", "the image does not decode", bad))
        if not decoded.jobs:
            return
        with self.stages[0].encoding() if self.stages else contextlib.nullcontext():
            encoded = encode_padded(self.embedder, decoded.ready(), self.batch_size if self.on_gpu else 0)
        self._keep(decoded.jobs, encoded)

    def _keep(self, jobs: list[Job], encoded: npt.NDArray[np.float32]) -> None:
        encoded = as_stored(encoded)
        if self.cache is not None:
            self.cache.put([job.key for job in jobs], encoded)
        for job, vector in zip(jobs, encoded, strict=True):
            self.vectors.setdefault(job.sample, []).append((job.slot, vector))

    def space(self, taken: CachedParts) -> EmbeddingSpace:
        """The embedding space of the run, with what it found; the cache saved and compacted."""
        if self.cache is not None:
            self.cache.memo.save()
            self.cache.compact()
        self.hashes.update(taken.hashes)
        tasks = np.asarray(self.cols.task, dtype=np.int64)
        assembled, dead = without_dead_vectors(assemble(tasks, self.vectors, taken, self.cache))
        if dead and not len(assembled.samples):
            raise EmbeddingError(
                f"the model gave no usable vector: NaN, infinite or zero for all {dead} examples (damaged "
                "weights? on a GPU, an fp16 overflow: try --device cpu)"
            )
        notes = []
        if dead:
            notes.append(
                f"{dead} example(s) got no usable vector from the model (NaN, infinite or zero) and were left "
                "out of the embedding checks"
            )
        return EmbeddingSpace(
            samples=assembled.samples,
            vectors=assembled.vectors,
            model_id=self.embedder.model_id,
            encode_text=self.embedder.encode_texts,
            frame_vectors=assembled.frame_vectors,
            context_vectors=assembled.context_vectors,
            content_hashes=self.hashes,
            logit_scale=float(self.embedder.logit_scale),
            search_device="cuda" if self.on_gpu else "cpu",
            issues=self.issues,
            notes=notes,
            video_facts=self.video_facts,
        )


@contextmanager
def _torch_threads(embedder: Embedder) -> Iterator[None]:
    """While the GPU encodes, preprocessing threads run single-threaded torch ops (no oversubscription)."""
    if not embedder.device.startswith("cuda"):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


TASKS_PER_CHUNK = 16
"""Tasks a media thread prepares per round trip (one future per task cost more than the reading)."""


def _ordered(func: Any, tasks: list[int], workers: int) -> Iterator[TaskResult]:
    """`func` over `tasks` in worker threads, results in order, at most a few chunks ahead of the consumer."""
    if workers <= 1:
        for task in tasks:
            yield func(task)
        return

    def run(chunk: list[int]) -> list[TaskResult]:
        return [func(task) for task in chunk]

    chunks = iter([tasks[i : i + TASKS_PER_CHUNK] for i in range(0, len(tasks), TASKS_PER_CHUNK)])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="taxospec-media") as pool:
        queue: deque[Future[list[TaskResult]]] = deque(
            pool.submit(run, chunk) for chunk in itertools.islice(chunks, workers * 2)
        )
        while queue:
            done = queue.popleft().result()
            following = next(chunks, None)
            if following is not None:
                queue.append(pool.submit(run, following))
            yield from done
