"""The open_clip encoder (the built-in embedder plugin): load weights clearly or fail fast, encode in batches.

`embedding.pretrained` is an open_clip tag (`laion2b_s34b_b79k`), a local checkpoint file, or
`local-dir:PATH` (a folder with `open_clip_config.json` and the weights). A tag is loaded from the local
Hugging Face cache when it is there; otherwise it is downloaded only when the network answers, and a
machine that is offline gets, within seconds, a message that says how to point at local weights.
torch and open_clip are imported only when a model is loaded.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.frames import DECODING
from taxospec.embeddings.space import normalize
from taxospec.errors import EmbeddingError
from taxospec.inputs import is_file
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import EmbedderFactory

HUB_HOST = ("huggingface.co", 443)
_HOW_TO = (
    "point embedding.pretrained at local weights instead: a checkpoint file "
    "(e.g. pretrained: /models/open_clip_pytorch_model.bin) or a folder (pretrained: local-dir:/models/ViT-B-32), "
    "or pass precomputed embeddings with --embeddings FILE"
)


@dataclass
class OpenClipEmbedder:
    """An open_clip model ready to encode images and text on one device."""

    model: Any
    preprocess: Any
    tokenizer: Any
    device: str
    precision: str
    model_id: str
    preprocess_id: str

    def preprocess_images(self, images: list[Any]) -> Any:
        """A batch tensor of `images` (PIL), preprocessed as the model expects (safe to call from threads)."""
        import torch

        return torch.stack([self.preprocess(image) for image in images])

    def encode_batch(self, batch: Any) -> npt.NDArray[np.float32]:
        """Unit vectors of a preprocessed batch."""
        import torch

        with torch.inference_mode():
            batch = batch.to(self.device, non_blocking=True)
            if self.precision == "fp16":
                batch = batch.half()
            features = self.model.encode_image(batch)
        return normalize(features.float().cpu().numpy())

    def pil_stage(self) -> Any | None:
        """The image transforms before tensor conversion (resize, crop, mode), or None when the
        preprocessing does not split into that and a final ToTensor + Normalize."""
        transforms = list(getattr(self.preprocess, "transforms", []))
        names = [type(t).__name__ for t in transforms]
        if len(names) < 2 or names[-1] != "Normalize" or names[-2] not in ("ToTensor", "MaybeToTensor"):
            return None
        from torchvision.transforms import Compose

        return Compose(transforms[:-2])

    @property
    def decodes_on_device(self) -> bool:
        """Whether images are best decoded and resized on the model's device (a GPU outpaces CPU decoding)."""
        return self.device.startswith("cuda")

    def preprocess_on_device(self, images: list[Any]) -> Any:
        """A normalized batch from decoded images (3×H×W uint8 tensors on the device): resize of the shorter
        side (bicubic, antialiased), centre crop, scale and normalize, all on the device."""
        import torch
        import torch.nn.functional as F

        size = getattr(self.model.visual, "image_size", 224)
        size = int(size[0] if isinstance(size, (tuple, list)) else size)
        normalize_step = self.preprocess.transforms[-1]
        mean = torch.tensor(normalize_step.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(normalize_step.std, device=self.device).view(1, 3, 1, 1)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault((int(image.shape[1]), int(image.shape[2])), []).append(i)
        out: list[Any] = [None] * len(images)
        for (height, width), members in by_shape.items():  # images of one size in one resize call
            scale = size / min(height, width)
            shape = (max(size, round(height * scale)), max(size, round(width * scale)))
            stacked = torch.stack([images[i] for i in members]).float()
            resized = F.interpolate(stacked, size=shape, mode="bicubic", antialias=True, align_corners=False)
            top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
            cropped = resized[:, :, top : top + size, left : left + size].clamp(0, 255)
            for i, tensor in zip(members, cropped, strict=True):
                out[i] = tensor
        return (torch.stack(out) / 255.0 - mean) / std

    def encode_uint8(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Unit vectors of a batch of images already through `pil_stage` (B×H×W×3, uint8): tensor conversion
        and normalization happen on the device."""
        import torch

        normalize_step = self.preprocess.transforms[-1]
        mean = torch.tensor(normalize_step.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(normalize_step.std, device=self.device).view(1, 3, 1, 1)
        pixels = torch.from_numpy(batch).to(self.device, non_blocking=True).permute(0, 3, 1, 2).float() / 255.0
        return self.encode_batch((pixels - mean) / std)

    def encode_images(self, images: list[Any]) -> npt.NDArray[np.float32]:
        """Unit vectors of PIL images."""
        return self.encode_batch(self.preprocess_images(images))

    @property
    def logit_scale(self) -> float:
        """The model's learned temperature for zero-shot probabilities."""
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.exp().item()) if scale is not None else 100.0

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of texts."""
        import torch

        with torch.inference_mode():
            tokens = self.tokenizer(texts).to(self.device)
            features = self.model.encode_text(tokens)
        return normalize(features.float().cpu().numpy())


@dataclass(frozen=True)
class OpenClipFactory:
    """Builds `OpenClipEmbedder`s."""

    name: str = "open_clip"

    def load(
        self,
        model: str,
        pretrained: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        spec_dir: Path | None = None,
        architecture_file: str | None = None,
    ) -> OpenClipEmbedder:
        """Load `model` with `pretrained` weights on `device` ("auto": CUDA when present) in `precision`
        ("auto": fp16 on CUDA, else fp32); `architecture_file` registers a model config open_clip lacks."""
        import open_clip
        import torch

        if architecture_file is not None:
            config = _model_config_path(architecture_file, spec_dir)
            if not is_file(config):
                raise EmbeddingError(f"the model config {config} does not exist")
            _check_model_config(config)  # open_clip keeps every config it was given and re-reads them all each time
            open_clip.add_model_config(config)

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device.startswith("cuda") and not torch.cuda.is_available():
            raise EmbeddingError(f"--device {device}: torch sees no CUDA GPU here; use --device cpu (or auto)")
        precision = _precision(precision, device)
        model_name, weights, weights_id = resolve_weights(model, pretrained, spec_dir)
        try:
            clip, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=weights, device=device, precision=precision
            )
            tokenizer = open_clip.get_tokenizer(model_name)
        except Exception as exc:  # torch.load alone raises half a dozen kinds for a damaged checkpoint
            if weights is not None and is_file(weights):
                raise EmbeddingError(
                    f"the checkpoint {weights} cannot be loaded as {model} (damaged, or made for another model): "
                    f"{type(exc).__name__}"
                ) from None
            raise EmbeddingError(
                f"open_clip could not load {model} with {pretrained!r}: {type(exc).__name__}: {_first_line(exc)}"
            ) from None
        clip.eval()
        size = getattr(getattr(clip, "visual", None), "image_size", "?")
        return OpenClipEmbedder(
            model=clip,
            preprocess=preprocess,
            tokenizer=tokenizer,
            device=device,
            precision=precision,
            model_id=f"open_clip:{model_name}:{weights_id}",
            preprocess_id=f"size={size};{preprocess};decoding={DECODING}"
            + (";decoded-on-device" if device.startswith("cuda") else ""),
        )

    def recipe(
        self,
        model: str,
        pretrained: str,
        *,
        device: str = "auto",
        precision: str = "auto",
        spec_dir: Path | None = None,
        architecture_file: str | None = None,
    ) -> str | None:
        """What `load` with these arguments would load, as one string, worked out without importing torch or
        open_clip (torch only where a GPU may be present, to resolve "auto"): the model, the weights by
        path, size and time (or by tag), the architecture file likewise, device, precision and the
        libraries' versions. None where it cannot tell (a file is missing: `load` then says why)."""
        if device == "auto":
            device = _auto_device()
        elif device.startswith("cuda") and _auto_device() == "cpu":
            return None  # `load` says that there is no GPU
        local = _local_weights(pretrained, spec_dir)
        if local is not None and not is_file(local[1]):
            return None
        weights = f"{local[0]}:{_stamp(local[1])}" if local is not None else f"tag:{pretrained}"
        architecture = ""
        if architecture_file is not None:
            config = _model_config_path(architecture_file, spec_dir)
            if not is_file(config):
                return None
            architecture = _stamp(config)
        precision = _precision(precision, device)
        versions = ",".join(f"{name}={_version(name)}" for name in ("open_clip_torch", "torch", "torchvision"))
        return "|".join(
            ("open_clip", model, weights, architecture, device, precision, versions, f"decoding={DECODING}")
        )


def _check_model_config(config: Path) -> None:
    """An `EmbeddingError` unless `config` is an open_clip model config (JSON with embed_dim, vision_cfg and
    text_cfg): a bad one handed to open_clip would break every later model load of the process."""
    try:
        parsed = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"the model config {config} is not an open_clip config (JSON): {exc}") from None
    if not isinstance(parsed, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= set(parsed):
        raise EmbeddingError(
            f"the model config {config} is not an open_clip config: it needs embed_dim, vision_cfg and text_cfg"
        )


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def _auto_device() -> str:
    """What "auto" means here: "cpu" without asking torch where no GPU device node exists."""
    if not any(os.path.exists(node) for node in ("/dev/nvidiactl", "/dev/dxg", "/dev/kfd")):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def resolve_weights(model: str, pretrained: str, spec_dir: Path | None) -> tuple[str, str | None, str]:
    """(model name for open_clip, its `pretrained` argument, an id of the weights for cache keys)."""
    import open_clip

    local = _local_weights(pretrained, spec_dir)
    if local is not None and local[0] == "local-dir":
        config = local[1]
        if not is_file(config):
            raise EmbeddingError(f"{config.parent}: not an open_clip model folder (no open_clip_config.json)")
        return f"local-dir:{config.parent}", None, f"local-dir:{_stamp(config)}"
    if model not in open_clip.list_models():
        close = difflib.get_close_matches(model, open_clip.list_models(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise EmbeddingError(f"open_clip has no model {model!r}{hint}")
    if local is not None:
        path = local[1]
        if not is_file(path):
            raise EmbeddingError(f"the checkpoint {path} does not exist; {_HOW_TO}")
        return model, str(path.resolve()), f"file:{_stamp(path)}"
    tags = open_clip.list_pretrained_tags_by_model(model)
    if pretrained not in tags:
        raise EmbeddingError(
            f"{pretrained!r} is not a pretrained tag of {model} (known: {', '.join(tags) or 'none'}); {_HOW_TO}"
        )
    cached = _cached_tag(model, pretrained)
    if cached is not None:
        return model, cached, f"tag:{pretrained}"
    if _offline():
        raise EmbeddingError(
            f"the weights {model}/{pretrained} are not in the local cache and this machine is offline "
            f"(HF_HUB_OFFLINE or TAXOSPEC_OFFLINE is set); {_HOW_TO}"
        )
    if not _hub_reachable():
        raise EmbeddingError(
            f"the weights {model}/{pretrained} are not in the local cache and {HUB_HOST[0]} cannot be reached; "
            f"{_HOW_TO}"
        )
    return model, pretrained, f"tag:{pretrained}"


def _local_weights(pretrained: str, spec_dir: Path | None) -> tuple[str, Path] | None:
    """For weights given as files: their kind ("local-dir" or "file") and the file whose path, size and
    time identify them (a folder's `open_clip_config.json`, or the checkpoint); None for an open_clip tag."""
    base = spec_dir or Path.cwd()
    if pretrained.startswith("local-dir:"):
        folder = (base / Path(pretrained[len("local-dir:") :]).expanduser()).resolve()
        return "local-dir", folder / "open_clip_config.json"
    if looks_like_path(pretrained):
        return "file", base / Path(pretrained).expanduser()
    return None


def _model_config_path(architecture_file: str, spec_dir: Path | None) -> Path:
    """Where an `embedding.architecture_file` lies (relative to the spec's folder)."""
    return (spec_dir or Path.cwd()) / Path(architecture_file).expanduser()


def _precision(precision: str, device: str) -> str:
    """The precision asked for, with "auto" made concrete: fp16 on a GPU, fp32 on the CPU."""
    return ("fp16" if device.startswith("cuda") else "fp32") if precision == "auto" else precision


def looks_like_path(value: str) -> bool:
    """Whether a `pretrained` value names a file rather than an open_clip tag."""
    return "/" in value or "\\" in value or value.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))


def _stamp(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def _cached_tag(model: str, tag: str) -> str | None:
    """The local file of a tag's weights, when the Hugging Face cache has it."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, tag)
    hub = cfg.get("hf_hub", "")
    if not hub:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    repo, filename = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
    for name in [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]:
        found = try_to_load_from_cache(repo, name)
        if isinstance(found, str):
            return found
    return None


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "TAXOSPEC_OFFLINE"))


def _hub_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except OSError:
        return False


@hookimpl
def taxospec_embedders() -> list[EmbedderFactory]:
    """The built-in open_clip embedder."""
    return [OpenClipFactory()]
