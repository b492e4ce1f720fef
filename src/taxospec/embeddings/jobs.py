"""What the embedding stage passes between its steps: one example's encoding job, one task's decoded media."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.frames import VideoFacts
from taxospec.media.sources import MediaProblem


@dataclass
class Job:
    """One vector to have: an example's slot (its whole picture, a frame, a crop), and what it is so far:
    a preprocessed tensor, uint8 pixels (from a worker process), raw bytes to decode on the device, or the
    cached vector itself."""

    sample: int
    slot: int
    key: str
    tensor: Any = None
    vector: npt.NDArray[np.float32] | None = None
    pixels: npt.NDArray[np.uint8] | None = None
    what: str | None = None
    """What to cut from the task's raw bytes, for decoding on the device."""
    raw: bytes | None = None

    @property
    def to_encode(self) -> bool:
        """Whether the encoder still has to make its vector."""
        return self.tensor is not None or self.pixels is not None or self.what is not None


@dataclass
class TaskResult:
    """One task's media, read and decoded as far as its jobs need, or the problem that stopped it."""

    task: int
    jobs: list[Job] = field(default_factory=list)
    problem: MediaProblem | None = None
    content_hash: str | None = None
    raw: bytes | None = None
    """The media bytes, when decoding happens on the model's device."""
    facts: VideoFacts | None = None
    """What the video file says of itself (frame rate, frame count)."""


def as_stored(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`vectors` at the precision the cache keeps them (float16), so that a fresh run and a re-run from
    the cache compute every score from the very same numbers (they differed in the fourth decimal)."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float32)
