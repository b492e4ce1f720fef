"""Fixtures the unit tests share: offline, and the tiny open_clip model."""

from __future__ import annotations

from pathlib import Path

import pytest

from taxospec.embeddings.encoder import OpenClipEmbedder, OpenClipFactory

from .tiny_model import TINY


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach the network: open_clip's hub downloads fail fast."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of the tiny model with random weights (seeded)."""
    import open_clip
    import torch

    open_clip.add_model_config(TINY)
    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms("TaxospecTiny-8")
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def embedder(tiny_weights: Path) -> OpenClipEmbedder:
    """The tiny model loaded on the CPU, as `taxospec check` loads a spec's model."""
    return OpenClipFactory().load("TaxospecTiny-8", str(tiny_weights), device="cpu", architecture_file=str(TINY))


@pytest.fixture(params=["float32", "float16"])
def held_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test twice: with the space's matrices held as small spaces hold them (float32), and as a
    space of more than `HALF_ABOVE` rows holds them (float16, memory-mapped from a temporary file, read a
    chunk at a time: the sizes lowered to 0, and the chunk to 16 rows so that the chunked paths really run
    in pieces)."""
    if request.param == "float16":
        from taxospec.scores import chunked, mapped_rows

        monkeypatch.setattr(chunked, "HALF_ABOVE", 0)
        monkeypatch.setattr(mapped_rows, "MAP_ABOVE", 0)
        monkeypatch.setattr(chunked, "CHUNK", 16)
    return str(request.param)
