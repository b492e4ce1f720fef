"""Decoding, cropping and resizing images on the model's device, a batch or two ahead of the encoder.

On a GPU, JPEGs are decoded by nvjpeg in batches, in a thread and on a CUDA stream of their own, while the
encoder works on another stream (on PyTorch's default stream it would wait for the decoding); the encoder
picks a batch up once the GPU says it is ready. The same code runs on the CPU (tests), without streams.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.plugins.interfaces import DecodesOnDevice, Embedder

BATCHES_AHEAD = 2
"""Batches the device stage may decode ahead of the encoder."""


@dataclass
class Decoded:
    """A batch the device stage decoded: the jobs that decoded, their normalized images on the device (and
    the CUDA event that says they are ready), and the jobs whose image did not decode."""

    jobs: list[Any]
    images: Any
    event: Any
    failed: list[Any]

    def ready(self) -> Any:
        """The images, once the stage's stream has produced them (the encoder's stream waits on the GPU,
        not the CPU)."""
        if self.event is not None:
            import torch

            current = torch.cuda.current_stream()
            current.wait_event(self.event)
            self.images.record_stream(current)
        return self.images


class DeviceStage:
    """Decoding, cropping and resizing on the model's device, in a thread of its own and (on a GPU) on a
    CUDA stream of its own, so that batch n+1 is decoded while batch n is encoded."""

    def __init__(self, embedder: DecodesOnDevice) -> None:
        import torch

        self.embedder = embedder
        self.device = embedder.device
        on_gpu = self.device.startswith("cuda")
        self.stream = torch.cuda.Stream(device=self.device) if on_gpu else None  # type: ignore[no-untyped-call]
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taxospec-device")
        # the encoder gets a stream of its own too: work on the default stream would wait for the decoding
        self.encode_stream = torch.cuda.Stream(device=self.device) if on_gpu else None  # type: ignore[no-untyped-call]

    def encoding(self) -> Any:
        """The context in which the encoder runs (its own CUDA stream on a GPU)."""
        import torch

        return torch.cuda.stream(self.encode_stream) if self.encode_stream is not None else contextlib.nullcontext()

    def submit(self, jobs: list[Any]) -> Future[Decoded]:
        """Decode a batch of jobs in the background."""
        return self.pool.submit(self._decode, jobs)

    def _decode(self, jobs: list[Any]) -> Decoded:
        import torch

        context = torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext()
        if self.stream is not None:
            # nvJPEG's hardware decoder writes its outputs without waiting for the stream they were allocated
            # on (pytorch/vision#9606, meta-pytorch/torchcodec#1634): memory the previous batch freed on this
            # stream, still to be read by its queued resizing, could be overwritten. Let that work finish.
            self.stream.synchronize()
        with context, torch.inference_mode():
            unique = {id(job.raw): job.raw for job in jobs if job.raw is not None}  # by identity: hashing
            raws = list(unique.values())  # 100 kB of bytes per image, under the GIL, cost more than decoding
            by_id = dict(zip(unique, decode_on_device(raws, self.device), strict=True))
            usable, crops, failed = [], [], []
            for job in jobs:
                image = by_id.get(id(job.raw)) if job.raw is not None else None
                if image is None:
                    failed.append(job)  # the image does not decode
                    continue
                crop_of = device_crop(image, job.what or "image")
                if crop_of is not None:  # a box with no area in the image has no vector (its rule finding says why)
                    usable.append(job)
                    crops.append(crop_of)
            images = self.embedder.preprocess_on_device(crops) if crops else None
            event = None
            if self.stream is not None:
                event = torch.cuda.Event()  # type: ignore[no-untyped-call]
                event.record(self.stream)
        return Decoded(usable, images, event, failed)

    def close(self) -> None:
        """Stop the stage's thread."""
        self.pool.shutdown(wait=True)


def decode_on_device(raws: list[bytes], device: str) -> list[Any]:
    """Decode images to 3×H×W uint8 tensors on `device`: JPEGs in one nvjpeg batch (on a GPU; torchvision's
    libjpeg on the CPU), everything else — and a JPEG those decoders refuse — with Pillow on the CPU; None
    for what does not decode. torchvision's PNG decoder is never used: a single damaged byte in a PNG makes
    it crash the process (torchvision 0.29, SIGSEGV), where Pillow reports the damage."""
    import torch

    from taxospec.embeddings.jpeg import jpeg_header

    with warnings.catch_warnings():  # torchvision 0.29 points at TorchCodec for decoding; it still works
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import ImageReadMode, decode_jpeg

    out: list[Any] = [None] * len(raws)
    with warnings.catch_warnings():  # read-only bytes are fine: the decoder never writes to its input
        warnings.simplefilter("ignore", UserWarning)
        tensors = [torch.frombuffer(raw, dtype=torch.uint8) for raw in raws]  # no copy of the bytes
    jpegs = [i for i, raw in enumerate(raws) if raw[:3] == b"\xff\xd8\xff"]

    def one_jpeg(i: int) -> Any:
        try:
            return decode_jpeg(tensors[i], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            return None

    if jpegs:
        try:
            batch = decode_jpeg([tensors[i] for i in jpegs], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:  # one bad JPEG fails the batch: decode one by one to find it
            batch = [one_jpeg(i) for i in jpegs]
        for i, image in zip(jpegs, batch, strict=True):
            if image is None:
                out[i] = _with_pillow(raws[i], device)  # Pillow turns it upright itself
            else:
                header = jpeg_header(raws[i])
                out[i] = upright_tensor(image, header[2] if header is not None else 1)
    for i in sorted(set(range(len(raws))) - set(jpegs)):
        out[i] = _with_pillow(raws[i], device)
    return out


def upright_tensor(image: Any, orientation: int) -> Any:
    """A decoded 3×H×W image turned as its EXIF `orientation` says (the tensor twin of `pictures.upright`:
    nvJPEG applies no orientation, browsers and so Label Studio do)."""
    import torch

    if orientation == 2:
        return image.flip(2)
    if orientation == 3:
        return image.flip(1, 2)
    if orientation == 4:
        return image.flip(1)
    if orientation == 5:
        return image.transpose(1, 2)
    if orientation == 6:
        return torch.rot90(image, -1, (1, 2))
    if orientation == 7:
        return image.transpose(1, 2).flip(1, 2)
    if orientation == 8:
        return torch.rot90(image, 1, (1, 2))
    return image


def _with_pillow(raw: bytes, device: str) -> Any:
    """`raw` decoded by Pillow as a 3×H×W uint8 tensor on `device`, or None."""
    import torch

    from taxospec.embeddings.pictures import decode_image
    from taxospec.media.sources import MediaProblem

    try:
        image = decode_image(raw, "")
    except MediaProblem:
        return None
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).to(device)  # a copy: torch wants it writable


def encode_padded(embedder: Embedder, batch: Any, pad_to: int) -> npt.NDArray[np.float32]:
    """Encode a batch, padded with blank images up to `pad_to` (on a GPU: a batch of a new size costs
    seconds of kernel selection the first time, more than encoding the blanks ever does)."""
    count = int(batch.shape[0])
    if count >= pad_to:
        return np.asarray(embedder.encode_batch(batch), dtype=np.float32)
    import torch

    blanks = torch.zeros((pad_to - count, *batch.shape[1:]), dtype=batch.dtype, device=batch.device)
    return np.asarray(embedder.encode_batch(torch.cat([batch, blanks])), dtype=np.float32)[:count]


def device_crop(image: Any, what: str) -> Any:
    """The part of a decoded image (3×H×W tensor) that `what` names: the whole image, or a box with margin
    (see `frames.box_pixels`); None for a box with no area inside the image."""
    from taxospec.embeddings.frames import box_pixels
    from taxospec.embeddings.plan import parse_box_id
    from taxospec.media.sources import MediaProblem

    if not what.startswith("box:"):
        return image
    try:
        left, top, right, bottom = box_pixels(int(image.shape[2]), int(image.shape[1]), *parse_box_id(what[4:]))
    except MediaProblem:
        return None
    return image[:, top:bottom, left:right]


@contextlib.contextmanager
def closing(stages: list[DeviceStage]) -> Iterator[None]:
    """Stop the device stages' threads however the run ends (`stages` may fill up during the run: a stage is
    made when the first batch needs one)."""
    try:
        yield
    finally:
        for stage in stages:
            stage.close()
