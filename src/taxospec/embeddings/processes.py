"""Decoding in worker processes (spawned: safe beside CUDA) for video on a GPU: each worker reads, hashes,
decodes and resizes its tasks, and the pixels travel back as uint8, to be normalized on the device."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.cache import EmbeddingCache, item_key
from taxospec.embeddings.frames import probe_video
from taxospec.embeddings.jobs import Job, TaskResult
from taxospec.embeddings.reading import images_of, read_task_media
from taxospec.media.sources import MediaProblem, MediaSources, shown

_WORKER_STATE: dict[str, Any] = {}
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
            path, data, stat, digest = read_task_media(uri, sources, video)
            images = images_of(data, shown(uri or ""), plan, video)
            pixels = {what: np.asarray(stage(image), dtype=np.uint8) for what, image in images.items()}
            out.append((task, digest, pixels, None, (path, stat, probe_video(data) if video else None)))
        except MediaProblem as problem:
            out.append((task, None, {}, problem, None))
    return out


def in_processes(
    jobs: list[tuple[int, str | None, list[tuple[int, int, str]]]],
    sources: MediaSources,
    stage: Any,
    video: bool,
    workers: int,
    cache: EmbeddingCache | None,
) -> Iterator[TaskResult]:
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
                result = TaskResult(task, content_hash=digest, problem=problem, facts=located[2] if located else None)
                if problem is None and digest is not None:
                    if cache is not None and located and located[0] is not None and located[1] is not None:
                        cache.memo.store(located[0], located[1], digest, uri=uris[task], scope=scope, facts=located[2])
                    for sample, slot, what in plans[task]:
                        key = item_key(digest, what)
                        cached = cache.get(key) if cache is not None else None
                        job = Job(sample, slot, key, vector=cached)
                        if cached is None:
                            job.pixels = pixels.get(what)  # none for a box with no area in the image
                        result.jobs.append(job)
                yield result
