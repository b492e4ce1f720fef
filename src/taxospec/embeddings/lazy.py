"""A model loaded only when something needs encoding: a re-run whose media and prompts are all cached never
imports torch or open_clip nor loads weights (seconds of a re-run, more on a GPU).

What a run needs to know of the model without loading it — its cache identity (`model_id`,
`preprocess_id`), its device, precision and temperature — is recorded in the cache the first time the
model is loaded, under a *recipe*: what the factory would load (model, weights by path, size and time or by
tag, architecture file, device, precision, library versions), computed without importing anything heavy.
Prompt vectors are kept beside the image vectors. When the model is loaded after all and turns out not to
be what the record says (a library changed its preprocessing), `ModelChanged` says so before anything is
encoded, and the caller starts over with the loaded model.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from taxospec.embeddings.cache import join_strings, split_strings
from taxospec.embeddings.space import normalize
from taxospec.errors import EmbeddingError
from taxospec.output import write_atomic
from taxospec.plugins.interfaces import DecodesOnDevice, Embedder, EmbedderFactory, RecipeFactory, SplitsPreprocessing

if TYPE_CHECKING:
    from PIL import Image

    from taxospec.spec.model import Spec


@dataclass(frozen=True)
class ModelIdentity:
    """What a run needs to know of a model without loading it."""

    model_id: str
    preprocess_id: str
    device: str
    precision: str
    logit_scale: float
    capabilities: tuple[str, ...] = ()
    """The abilities the embedder has, by the names of their methods (`DEVICE_DECODING`,
    `SPLIT_PREPROCESSING`: the form records were written in before the abilities were protocols)."""

    @classmethod
    def of(cls, embedder: Embedder) -> ModelIdentity:
        """The identity of a loaded embedder."""
        abilities = set()
        if isinstance(embedder, DecodesOnDevice):
            abilities |= DEVICE_DECODING
        if isinstance(embedder, SplitsPreprocessing):
            abilities |= SPLIT_PREPROCESSING
        return cls(
            model_id=str(embedder.model_id),
            preprocess_id=str(embedder.preprocess_id),
            device=str(embedder.device),
            precision=str(embedder.precision),
            logit_scale=float(embedder.logit_scale),
            capabilities=tuple(sorted(abilities)),
        )


DEVICE_DECODING = {"preprocess_on_device"}
"""How a record names the `DecodesOnDevice` ability."""
SPLIT_PREPROCESSING = {"pil_stage", "encode_uint8"}
"""How a record names the `SplitsPreprocessing` ability."""


class ModelChanged(EmbeddingError):
    """The loaded model is not the one its record describes: the run must start over with the loaded one."""

    def __init__(self, loaded: Embedder) -> None:
        super().__init__("the model's cache identity changed since it was recorded")
        self.loaded = loaded


class ModelRecords:
    """Model identities by recipe, in the cache root (`models.json`); a damaged file is started afresh."""

    def __init__(self, root: Path) -> None:
        self.path = root / "models.json"

    def get(self, recipe: str) -> ModelIdentity | None:
        """The identity recorded for `recipe`, if any."""
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8")).get(recipe)
            if isinstance(entry, dict) and isinstance(entry.get("capabilities", []), list):
                entry = {**entry, "capabilities": tuple(entry.get("capabilities", []))}
            identity = ModelIdentity(**entry) if isinstance(entry, dict) else None
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        texts = (identity.model_id, identity.preprocess_id, identity.device, identity.precision) if identity else ()
        if identity is None or not all(isinstance(t, str) for t in (*texts, *identity.capabilities)):
            return None
        if isinstance(identity.logit_scale, bool) or not isinstance(identity.logit_scale, (int, float)):
            return None
        return identity

    def put(self, recipe: str, identity: ModelIdentity) -> None:
        """Record `identity` under `recipe` (atomic write; a cache that cannot be written only loses speed)."""
        try:
            records = json.loads(self.path.read_text(encoding="utf-8"))
            records = records if isinstance(records, dict) else {}
        except (OSError, ValueError):
            records = {}
        records[recipe] = asdict(identity)
        data = json.dumps(records, indent=1).encode()
        with contextlib.suppress(OSError):  # a cache that cannot be written only loses speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, lambda handle: handle.write(data))


class TextVectors:
    """Prompt vectors of one model, kept in its cache folder (`texts.npz`)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "texts.npz"
        self._vectors: dict[str, npt.NDArray[np.float32]] | None = None

    def _loaded(self) -> dict[str, npt.NDArray[np.float32]]:
        if self._vectors is None:
            self._vectors = {}
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    vectors = np.asarray(data["vectors"], dtype=np.float32)
                    if vectors.ndim != 2:
                        raise ValueError("not a matrix")
                    texts = split_strings(data["texts"], len(vectors))
                self._vectors = dict(zip(texts, vectors, strict=True))
            except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError):
                pass  # none kept yet, or a damaged file: the prompts are encoded again
        return self._vectors

    def encode(self, texts: list[str], encode: Callable[[list[str]], npt.NDArray[np.float32]]) -> Any:
        """Vectors of `texts`: the kept ones, and the others from `encode` (then kept)."""
        kept = self._loaded()
        missing = list(dict.fromkeys(t for t in texts if t not in kept))
        if missing:
            fresh = normalize(encode(missing))
            kept.update((t, v) for t, v in zip(missing, fresh, strict=True) if "\0" not in t and v.any())
            self._save(kept)
            kept = {**kept, **dict(zip(missing, fresh, strict=True))}
        return np.stack([kept[t] for t in texts])

    def _save(self, kept: dict[str, npt.NDArray[np.float32]]) -> None:
        if not kept:
            return
        texts = join_strings(list(kept))
        vectors = np.stack(list(kept.values()))
        with contextlib.suppress(OSError):  # a cache that cannot be written only loses speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, lambda handle: np.savez(handle, texts=texts, vectors=vectors))


class LazyEmbedder:
    """An embedder that loads its model on first real use; its identity comes from the record meanwhile.

    Prompts are encoded through `TextVectors`; anything that encodes images loads the model first.
    `lazy_for` gives the variant that has the abilities (`DecodesOnDevice`, `SplitsPreprocessing`) the
    record says the model has, so the embedding stage can ask about them without loading it. `load_now`
    loads it and checks it against the record, from any thread."""

    def __init__(self, identity: ModelIdentity, load: Callable[[], Embedder], texts: TextVectors) -> None:
        self.identity = identity
        self._load = load
        self._texts = texts
        self._loaded: Embedder | None = None
        self._changed: ModelChanged | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Identifies the model and weights (part of every cache key)."""
        return self.identity.model_id

    @property
    def preprocess_id(self) -> str:
        """Identifies the image preprocessing (part of every cache key)."""
        return self.identity.preprocess_id

    @property
    def device(self) -> str:
        """Where the model runs ("cpu", "cuda", …)."""
        return self.identity.device

    @property
    def precision(self) -> str:
        """fp16 or fp32."""
        return self.identity.precision

    @property
    def logit_scale(self) -> float:
        """The model's learned temperature for zero-shot probabilities."""
        return self.identity.logit_scale

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._loaded is not None

    def load_now(self) -> Embedder:
        """The loaded embedder (loaded once, whichever thread asks first); `ModelChanged` when it is not what
        the record says (raised again on every later call, without loading again)."""
        with self._lock:
            if self._changed is not None:
                raise self._changed
            if self._loaded is None:
                loaded = self._load()
                if ModelIdentity.of(loaded) != self.identity:
                    self._changed = ModelChanged(loaded)
                    raise self._changed
                self._loaded = loaded
        return self._loaded

    def encode_texts(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of `texts`, kept across runs."""
        vectors: npt.NDArray[np.float32] = self._texts.encode(
            texts, lambda missing: self.load_now().encode_texts(missing)
        )
        return vectors

    def preprocess_images(self, images: list[Image.Image]) -> Any:
        """The loaded model's batch of `images`."""
        return self.load_now().preprocess_images(images)

    def encode_batch(self, batch: Any) -> npt.NDArray[np.float32]:
        """The loaded model's vectors of a batch."""
        return self.load_now().encode_batch(batch)

    def encode_images(self, images: list[Image.Image]) -> npt.NDArray[np.float32]:
        """The loaded model's vectors of `images`."""
        return self.load_now().encode_images(images)

    def _decoding(self) -> DecodesOnDevice:
        loaded = self.load_now()
        if not isinstance(loaded, DecodesOnDevice):  # the record said it was: ModelIdentity.of would differ
            raise ModelChanged(loaded)
        return loaded

    def _splitting(self) -> SplitsPreprocessing:
        loaded = self.load_now()
        if not isinstance(loaded, SplitsPreprocessing):
            raise ModelChanged(loaded)
        return loaded


class _LazyDecodesOnDevice(LazyEmbedder):
    """A lazy embedder whose model can decode on its device."""

    @property
    def decodes_on_device(self) -> bool:
        """Whether images are decoded on the model's device (a GPU)."""
        return self.device.startswith("cuda")

    def preprocess_on_device(self, images: list[Any]) -> Any:
        """The loaded model's batch from images decoded on the device."""
        return self._decoding().preprocess_on_device(images)


class _LazySplitsPreprocessing(LazyEmbedder):
    """A lazy embedder whose model's preprocessing splits into a picture and a tensor stage."""

    def pil_stage(self) -> Callable[[Image.Image], Image.Image] | None:
        """The loaded model's picture stage."""
        return self._splitting().pil_stage()

    def encode_uint8(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The loaded model's vectors of a uint8 batch."""
        return self._splitting().encode_uint8(batch)


class _LazyWithBoth(_LazyDecodesOnDevice, _LazySplitsPreprocessing):
    """A lazy embedder with both abilities (open_clip's)."""


_VARIANTS: dict[tuple[bool, bool], type[LazyEmbedder]] = {
    (False, False): LazyEmbedder,
    (True, False): _LazyDecodesOnDevice,
    (False, True): _LazySplitsPreprocessing,
    (True, True): _LazyWithBoth,
}


def lazy_for(identity: ModelIdentity, load: Callable[[], Embedder], texts: TextVectors) -> LazyEmbedder:
    """A lazy embedder with the abilities `identity` records."""
    abilities = set(identity.capabilities)
    variant = _VARIANTS[(abilities >= DEVICE_DECODING, abilities >= SPLIT_PREPROCESSING)]
    return variant(identity, load, texts)


@dataclass(frozen=True)
class ModelRequest:
    """What the spec and the command line ask a factory to load."""

    model: str
    pretrained: str
    device: str = "auto"
    precision: str = "auto"
    spec_dir: Path | None = None
    architecture_file: str | None = None

    @classmethod
    def of_spec(cls, spec: Spec, device: str) -> ModelRequest:
        """What `spec`'s `embedding` section asks for, on `device` (paths relative to the spec)."""
        return cls(
            model=spec.embedding.model,
            pretrained=spec.embedding.pretrained,
            device=device,
            spec_dir=Path(spec.source.path).parent if spec.source else None,
            architecture_file=spec.embedding.architecture_file,
        )

    def load(self, factory: EmbedderFactory) -> Embedder:
        """The model, loaded by `factory`."""
        return factory.load(
            model=self.model,
            pretrained=self.pretrained,
            device=self.device,
            precision=self.precision,
            spec_dir=self.spec_dir,
            architecture_file=self.architecture_file,
        )

    def recipe(self, factory: EmbedderFactory) -> str | None:
        """What `factory` would load, when it can say without loading (`RecipeFactory`)."""
        if not isinstance(factory, RecipeFactory):
            return None
        return factory.recipe(
            model=self.model,
            pretrained=self.pretrained,
            device=self.device,
            precision=self.precision,
            spec_dir=self.spec_dir,
            architecture_file=self.architecture_file,
        )


def lazy_embedder(
    factory: EmbedderFactory, request: ModelRequest, root: Path, cache_folder: Callable[[str, str], Path]
) -> LazyEmbedder:
    """The embedder `factory` loads for `request`, loaded only when needed where `root` holds a record of
    its recipe (else loaded now, and recorded). `cache_folder(model_id, preprocess_id)` is the folder that
    keeps its vectors (prompt vectors go there too)."""
    recipe = request.recipe(factory)
    identity = ModelRecords(root).get(recipe) if recipe is not None else None
    if identity is not None:
        return lazy_for(
            identity,
            lambda: request.load(factory),
            TextVectors(cache_folder(identity.model_id, identity.preprocess_id)),
        )
    return loaded_embedder(request.load(factory), root, cache_folder, recipe)


def loaded_embedder(
    embedder: Embedder, root: Path, cache_folder: Callable[[str, str], Path], recipe: str | None
) -> LazyEmbedder:
    """`embedder`, already loaded, behind the same face (its prompts kept), and recorded under `recipe`."""
    identity = ModelIdentity.of(embedder)
    if recipe is not None:
        ModelRecords(root).put(recipe, identity)
    wrapped = lazy_for(identity, lambda: embedder, TextVectors(cache_folder(identity.model_id, identity.preprocess_id)))
    wrapped.load_now()
    return wrapped
