"""Embed every example of a dataset: read and decode media while the model encodes.

First the content memo says which media is unchanged since it was last read (one `stat` per file); those
tasks' vectors come from the cache in bulk (`assembly.take_cached`), and when that is every task the model
is never loaded. The other tasks' media is read once and hashed; what is cached (by content, region,
frame, model and preprocessing) is not decoded again; what is not is decoded, cropped and preprocessed — by worker
threads on the CPU, or on the GPU by the device stage (`device_stage.py`) — a bounded number of tasks
ahead of the encoder, and encoded in batches. Media that cannot be had becomes a `media-*` issue on the
dataset; the run goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from taxospec.dataset import Dataset, ReadIssue
from taxospec.embeddings.assembly import CachedParts, assemble, take_cached, without_dead_vectors
from taxospec.embeddings.cache import EmbeddingCache, item_key
from taxospec.embeddings.device_stage import BATCHES_AHEAD, Decoded, DeviceStage, closing, encode_padded
from taxospec.embeddings.frames import Video, VideoFacts, crop, probe_video, video_frames
from taxospec.embeddings.pictures import decode_image, refuse_huge
from taxospec.embeddings.plan import PlanEntry, parse_box_id, region_tasks
from taxospec.embeddings.plan import plan as plan_task
from taxospec.embeddings.space import EmbeddingSpace
from taxospec.errors import EmbeddingError
from taxospec.gc_pause import gc_paused
from taxospec.media.dispatch import locate_media, read_media
from taxospec.media.files import forget_resolved_folders, read_file_and_stat, read_local
from taxospec.media.sources import MediaProblem, MediaSources, shown
from taxospec.plugins.interfaces import DecodesOnDevice, Embedder, SplitsPreprocessing

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Job:
    sample: int
    slot: int
    key: str
    tensor: Any = None
    vector: npt.NDArray[np.float32] | None = None
    pixels: npt.NDArray[np.uint8] | None = None
    what: str | None = None
    """What to cut from the task's raw bytes, for decoding on the device."""
    raw: bytes | None = None


@dataclass
class _TaskResult:
    task: int
    jobs: list[_Job] = field(default_factory=list)
    problem: MediaProblem | None = None
    content_hash: str | None = None
    raw: bytes | None = None
    """The media bytes, when decoding happens on the model's device."""
    facts: VideoFacts | None = None
    """What the video file says of itself (frame rate, frame count)."""


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
    spec = dataset.spec
    cols = dataset.columns
    on_gpu = embedder.device.startswith("cuda")
    by_task: dict[int, list[int]] = {}
    for sample, task in enumerate(cols.task.tolist()):
        by_task.setdefault(task, []).append(sample)
    frames = spec.embedding.frames_per_segment
    margin = spec.embedding.box_margin
    scope = sources.scope()

    regions = region_tasks(cols)

    def plan_of(task: int) -> list[PlanEntry]:
        return plan_task(cols, by_task[task], frames, margin)

    tasks = sorted(by_task)
    if cache is None:
        taken = CachedParts(todo=tasks)
    else:  # a re-run: unchanged media is one stat and a few lookups per task, its vectors one gather
        digests = cache.memo.unchanged(scope, [dataset.items.media[task] for task in tasks])
        taken = take_cached(tasks, digests, by_task, regions, plan_of, cache)
    todo = taken.todo
    video = spec.media == "video"
    issues: list[ReadIssue] = []  # what this stage found, returned with the space (the dataset is not written)
    video_facts: dict[int, tuple[float, int]] = {}
    if video and cache is not None:  # what the videos said when they were read, for the timing checks
        unread = set(todo)
        known = [task for task in tasks if task not in unread]
        for task, facts in zip(known, cache.memo.facts(scope, [dataset.items.media[t] for t in known]), strict=True):
            if facts is not None:
                video_facts[task] = VideoFacts(*facts)
    decoder = embedder if isinstance(embedder, DecodesOnDevice) else None
    if device_decode is None:
        device_decode = decoder is not None and decoder.decodes_on_device
    device_decode = bool(todo) and device_decode and spec.media == "image" and decoder is not None
    if workers is None:  # threads that only read need not be many; threads that decode (video) help
        workers = GPU_READERS if device_decode else CPU_READERS

    def prepare(task: int) -> _TaskResult:
        result = _TaskResult(task)
        uri = dataset.items.media[task]
        try:
            plan = plan_of(task)
            path, data, stat, result.content_hash = _read(uri, sources, video)
            result.facts = probe_video(data) if video else None
            if cache is not None and path is not None and stat is not None:
                cache.memo.store(path, stat, result.content_hash, uri=uri, scope=scope, facts=result.facts)
            content = result.content_hash
            missing = [p for p in plan if cache is None or item_key(content, p[2]) not in cache]
            if device_decode and isinstance(data, bytes):  # still images: always bytes
                if missing:
                    refuse_huge(data, shown(uri or ""))
                result.raw = data if missing else None
                for sample, slot, what in plan:
                    key = item_key(content, what)
                    job = _Job(sample, slot, key, vector=cache.get(key) if cache is not None else None)
                    if job.vector is None:
                        job.what = what  # decoded with the other jobs of its batch, on the device
                    result.jobs.append(job)
                return result
            images = _images(data, shown(uri or ""), missing, spec.media == "video")
            for sample, slot, what in plan:
                key = item_key(result.content_hash, what)
                job = _Job(sample, slot, key)
                image = images.get(what)
                if image is not None:
                    job.tensor = embedder.preprocess_images([image])[0]
                elif cache is not None:
                    job.vector = cache.get(key)
                result.jobs.append(job)
        except MediaProblem as problem:
            result.problem = problem
        return result

    vectors: dict[int, list[tuple[int, npt.NDArray[np.float32]]]] = {}
    hashes: dict[int, str] = {}
    pending: list[_Job] = []
    stages: list[DeviceStage] = []  # made for the first batch that needs one (a re-run may need none)
    in_flight: deque[Future[Decoded]] = deque()

    def flush() -> None:
        if not pending:
            return
        import torch

        if pending[0].what is not None:
            if not stages:
                assert decoder is not None, "jobs to decode on the device come only from a decoder"
                stages.append(DeviceStage(decoder))
            in_flight.append(stages[0].submit(list(pending)))  # decoded on the device while the last batch encodes
            pending.clear()
            while len(in_flight) > BATCHES_AHEAD:
                finish(in_flight.popleft().result())
            return
        if pending[0].pixels is not None:
            assert isinstance(embedder, SplitsPreprocessing), "uint8 pixels come only from a split stage"
            encoded = embedder.encode_uint8(np.stack([job.pixels for job in pending if job.pixels is not None]))
        else:
            encoded = encode_padded(embedder, torch.stack([job.tensor for job in pending]), batch_size if on_gpu else 0)
        encoded = as_stored(encoded)
        if cache is not None:
            cache.put([job.key for job in pending], encoded)
        for job, vector in zip(pending, encoded, strict=True):
            vectors.setdefault(job.sample, []).append((job.slot, vector))
        pending.clear()

    def finish(decoded: Decoded) -> None:
        """Encode a batch the device stage decoded; what did not decode becomes `media-unreadable`."""
        for job in decoded.failed:
            bad = int(cols.task[job.sample])
            if not any(i.task == bad and i.code == "media-unreadable" for i in issues):
                issues.append(ReadIssue("media-unreadable", "the image does not decode", bad))
        if not decoded.jobs:
            return
        with stages[0].encoding() if stages else contextlib.nullcontext():
            encoded = encode_padded(embedder, decoded.ready(), batch_size if on_gpu else 0)
        encoded = as_stored(encoded)
        if cache is not None:
            cache.put([job.key for job in decoded.jobs], encoded)
        for job, vector in zip(decoded.jobs, encoded, strict=True):
            vectors.setdefault(job.sample, []).append((job.slot, vector))

    if processes is None:
        processes = workers > 1 and on_gpu and len(todo) > PROCESSES_ABOVE
    processes = processes and bool(todo) and not device_decode
    pil_stage = embedder.pil_stage() if processes and isinstance(embedder, SplitsPreprocessing) else None
    if pil_stage is not None:
        jobs_in = [(task, dataset.items.media[task], plan_of(task)) for task in todo]
        decoded: Iterator[_TaskResult] = _in_processes(
            jobs_in, sources, pil_stage, spec.media == "video", workers, cache
        )
    else:
        decoded = _ordered(prepare, todo, workers)
    with _progress(progress, len(tasks)) as advance, _torch_threads(embedder), closing(stages):
        advance(len(tasks) - len(todo))
        for result in decoded:
            advance(1)
            if result.problem is not None:
                issues.append(ReadIssue(result.problem.code, str(result.problem), result.task))
                continue
            if result.facts is not None:
                video_facts[result.task] = result.facts
            for sample in by_task[result.task]:
                if result.content_hash:
                    hashes[sample] = result.content_hash
            for job in result.jobs:
                if job.what is not None:
                    job.raw = result.raw
                if job.tensor is not None or job.pixels is not None or job.what is not None:
                    pending.append(job)
                    if len(pending) >= batch_size:
                        flush()
                elif job.vector is not None:
                    vectors.setdefault(job.sample, []).append((job.slot, job.vector))
        flush()
        while in_flight:
            finish(in_flight.popleft().result())
    if cache is not None:
        cache.memo.save()
        cache.compact()
    hashes.update(taken.hashes)
    assembled, dead = without_dead_vectors(assemble(np.asarray(cols.task, dtype=np.int64), vectors, taken, cache))
    if dead and not len(assembled.samples):
        raise EmbeddingError(
            f"the model gave no usable vector: NaN, infinite or zero for all {dead} examples (damaged weights? "
            "on a GPU, an fp16 overflow: try --device cpu)"
        )
    notes = []
    if dead:
        notes.append(
            f"{dead} example(s) got no usable vector from the model (NaN, infinite or zero) and were left out "
            "of the embedding checks"
        )
    return EmbeddingSpace(
        samples=assembled.samples,
        vectors=assembled.vectors,
        model_id=embedder.model_id,
        encode_text=embedder.encode_texts,
        frame_vectors=assembled.frame_vectors,
        context_vectors=assembled.context_vectors,
        content_hashes=hashes,
        logit_scale=float(embedder.logit_scale),
        search_device="cuda" if on_gpu else "cpu",
        issues=issues,
        notes=notes,
        video_facts=video_facts,
    )


GPU_READERS = 1
"""Media threads when images are decoded on the GPU: none, the media is read in the main thread while the
device stage decodes and the GPU encodes. Measured on an H100 host (benchmarks/README.md): 1 thread reached 96 %
of bare encoding, 2 threads 81-87 %, 4 and 8 threads 64-67 % (every thread's Python work contends for the
GIL with the encoder's and the decoder's)."""
CPU_READERS = 2
"""Media threads when media is decoded on the CPU (always on a CPU, where the model is the bottleneck;
video on a GPU)."""
_WORKER_STATE: dict[str, Any] = {}
PROCESSES_ABOVE = 3000
"""Tasks to decode above which worker processes pay for their start-up (torch imports, ~1 s each)."""
CHUNK = 32
"""Tasks a worker process decodes per round trip."""


def _init_worker(sources: MediaSources, stage: Any, video: bool) -> None:
    _WORKER_STATE.update(sources=sources, stage=stage, video=video)


def _decode_chunk(
    chunk: list[tuple[int, str | None, list[tuple[int, int, str]]]],
) -> list[tuple[int, str | None, dict[str, npt.NDArray[np.uint8]], MediaProblem | None, Any]]:
    """Worker-process side: read, hash, decode and resize tasks; pixels come back as uint8."""
    sources, stage, video = _WORKER_STATE["sources"], _WORKER_STATE["stage"], _WORKER_STATE["video"]
    out: list[tuple[int, str | None, dict[str, npt.NDArray[np.uint8]], MediaProblem | None, Any]] = []
    for task, uri, plan in chunk:
        try:
            path, data, stat, digest = _read(uri, sources, video)
            images = _images(data, shown(uri or ""), plan, video)
            pixels = {what: np.asarray(stage(image), dtype=np.uint8) for what, image in images.items()}
            out.append((task, digest, pixels, None, (path, stat, probe_video(data) if video else None)))
        except MediaProblem as problem:
            out.append((task, None, {}, problem, None))
    return out


def _in_processes(
    jobs: list[tuple[int, str | None, list[tuple[int, int, str]]]],
    sources: MediaSources,
    stage: Any,
    video: bool,
    workers: int,
    cache: EmbeddingCache | None,
) -> Iterator[_TaskResult]:
    """Decode tasks in a pool of `workers` processes (spawned: safe beside CUDA), in order, bounded ahead."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    plans = {task: plan for task, _, plan in jobs}
    uris = {task: uri for task, uri, _ in jobs}
    scope = sources.scope()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(sources, stage, video)
    ) as pool:
        queue: deque[Future[Any]] = deque()
        iterator = iter(chunks)
        for chunk in itertools.islice(iterator, workers * 2):
            queue.append(pool.submit(_decode_chunk, chunk))
        while queue:
            decoded = queue.popleft().result()
            following = next(iterator, None)
            if following is not None:
                queue.append(pool.submit(_decode_chunk, following))
            for task, digest, pixels, problem, located in decoded:
                result = _TaskResult(task, content_hash=digest, problem=problem, facts=located[2] if located else None)
                if problem is None and digest is not None:
                    if cache is not None and located and located[0] is not None and located[1] is not None:
                        cache.memo.store(located[0], located[1], digest, uri=uris[task], scope=scope, facts=located[2])
                    for sample, slot, what in plans[task]:
                        key = item_key(digest, what)
                        cached = cache.get(key) if cache is not None else None
                        job = _Job(sample, slot, key, vector=cached)
                        if cached is None:
                            job.pixels = pixels.get(what)  # none for a box with no area in the image
                        result.jobs.append(job)
                yield result


def as_stored(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`vectors` at the precision the cache keeps them (float16), so that a fresh run and a re-run from
    the cache compute every score from the very same numbers (they differed in the fourth decimal)."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float32)


def content_hash(data: bytes) -> str:
    """The hash that identifies media by content (cache keys, byte-identical duplicates): xxh3-128, which
    hashes at memory speed where blake2b managed 0.5 GB/s and held back a GPU's pipeline."""
    import xxhash

    return str(xxhash.xxh3_128_hexdigest(data))


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


def _read(uri: str | None, sources: MediaSources, video: bool) -> tuple[str | None, Video, os.stat_result | None, str]:
    """The local path of `uri` (None for remote media), the media itself — its bytes, or for a local video
    its path, hashed as it streams by and left for FFmpeg to read as it decodes (a long video is never held
    whole in memory) —, its status when local, and its content hash. A located file is opened once, rather
    than resolved again by `read_media`."""
    path = locate_media(uri, sources)
    if path is None:
        data = read_media(uri, sources)
        return None, data, None, content_hash(data)
    if video:
        digest, status = read_local(path, sys.maxsize, _streamed_hash)  # no size limit: never in memory
        return path, path, status, digest
    data, status = read_file_and_stat(path, sources.max_bytes)
    return path, data, status, content_hash(data)


def _streamed_hash(handle: BinaryIO) -> str:
    """`content_hash` of a file's bytes, read a megabyte at a time."""
    import xxhash

    digest = xxhash.xxh3_128()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    return str(digest.hexdigest())


def _images(data: Video, name: str, plan: list[tuple[int, int, str]], video: bool) -> dict[str, Any]:
    """Decode only what `plan` still needs: whole images, crops, and frames (with crops for tracks); a box
    with no area inside the image is left out."""
    if not plan:
        return {}
    out: dict[str, Any] = {}
    if video:
        times = sorted({float(what.split(":")[1]) for _, _, what in plan})
        decoded = dict(zip(times, video_frames(data, times, name), strict=True))
        for _, _, what in plan:
            parts = what.split(":")
            frame = decoded[float(parts[1])]
            taken = _crop_from(frame, parts[3]) if len(parts) > 3 else frame
            if taken is not None:
                out[what] = taken
        return out
    if not isinstance(data, bytes):
        raise TypeError("still images are read as bytes")  # only videos are left on disk
    image = decode_image(data, name)
    for _, _, what in plan:
        taken = _crop_from(image, what[len("box:") :]) if what.startswith("box:") else image
        if taken is not None:
            out[what] = taken
    return out


def _crop_from(image: Any, box_id: str) -> Any:
    """The crop a box names, or None for a box with no area inside the image: that example gets no vector
    (its rule findings, `box-degenerate` or `box-outside-image`, say why), the task's other examples do."""
    try:
        return crop(image, *parse_box_id(box_id))
    except MediaProblem:
        return None


TASKS_PER_CHUNK = 16
"""Tasks a media thread prepares per round trip (one future per task cost more than the reading)."""


def _ordered(func: Any, tasks: list[int], workers: int) -> Iterator[_TaskResult]:
    """`func` over `tasks` in worker threads, results in order, at most a few chunks ahead of the consumer."""
    if workers <= 1:
        for task in tasks:
            yield func(task)
        return

    def run(chunk: list[int]) -> list[_TaskResult]:
        return [func(task) for task in chunk]

    chunks = iter([tasks[i : i + TASKS_PER_CHUNK] for i in range(0, len(tasks), TASKS_PER_CHUNK)])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="taxospec-media") as pool:
        queue: deque[Future[list[_TaskResult]]] = deque(
            pool.submit(run, chunk) for chunk in itertools.islice(chunks, workers * 2)
        )
        while queue:
            done = queue.popleft().result()
            following = next(chunks, None)
            if following is not None:
                queue.append(pool.submit(run, following))
            yield from done


class _progress:
    """A rich progress bar with rate and ETA on stderr (a no-op when turned off)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and total > 0
        self.total = total

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda count: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(f"{task.speed:.1f} tasks/s" if task.speed else "– tasks/s")

        self.bar = Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("embedding", total=self.total)
        return lambda count: self.bar.advance(task, count)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()
