"""The image-quality checks on planted pictures, over several seeds: each defect found by its check, the
ordinary pictures left alone, a truncated picture a finding and not a crash; calibrated on the dataset (a
dataset of dark pictures does not flag its dark ones)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from taxospec import check, load_spec_text
from taxospec.media.sources import MediaSources
from taxospec.scores.picture_quality import jpeg_quality, measure
from taxospec.testing import registered

from ..quality_pictures import CODES, SPEC, codes_by_file, export, fake_embedder, planted, scene


def _found(folder: Path, truth: dict[str, str], tmp_path: Path) -> dict[str, set[str]]:
    return codes_by_file(folder, truth, tmp_path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_planted_defect_is_found_and_ordinary_pictures_are_left_alone(seed: int, tmp_path: Path) -> None:
    truth = planted(tmp_path / "pictures", seed)
    found = _found(tmp_path / "pictures", truth, tmp_path)
    missed = [name for name, defect in truth.items() if defect and CODES[defect] not in found[name]]
    false = [(name, codes) for name, codes in found.items() if not truth[name] and codes]
    assert missed == [], {name: found[name] for name in missed}
    assert len(false) <= 1, false


def test_a_dataset_of_dark_pictures_does_not_flag_its_own_darkness(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(5)
    folder = tmp_path / "night"
    folder.mkdir()
    truth = {}
    for i in range(40):
        gain = 0.13 + 0.05 * (i % 4)
        picture = Image.eval(scene(rng, (640, 480)), lambda v, gain=gain: int(v * gain))  # type: ignore[arg-type,misc]
        picture.save(folder / f"night-{i:02d}.jpg", quality=90)
        truth[f"night-{i:02d}.jpg"] = ""
    found = _found(folder, truth, tmp_path)
    assert not any("image-dark" in codes for codes in found.values())


def test_measures_match_what_was_done_to_the_picture() -> None:
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    base = scene(rng, (640, 480))
    ordinary = measure(base, (640, 480), 60_000, None)
    dark = measure(Image.eval(base, lambda v: int(v * 0.13)), (640, 480), 60_000, None)  # type: ignore[arg-type]
    blurred = measure(base.filter(ImageFilter.GaussianBlur(7)), (640, 480), 60_000, None)  # type: ignore[attr-defined]
    grey = measure(base.convert("L").convert("RGB"), (640, 480), 60_000, None)  # type: ignore[attr-defined]
    assert dark.dark < 0.35 < ordinary.dark and blurred.sharpness < ordinary.sharpness / 2
    assert grey.grayscale and not ordinary.grayscale
    assert ordinary.aspect == pytest.approx(0.75) and ordinary.size == pytest.approx((640 * 480) ** 0.5)
    data = io.BytesIO()
    base.save(data, format="JPEG", quality=20)  # type: ignore[attr-defined]
    assert jpeg_quality(Image.open(io.BytesIO(data.getvalue())).quantization) == pytest.approx(20, abs=1)
    assert jpeg_quality(None) is None and jpeg_quality({0: [1, 2]}) is None


def _dark_dataset(folder: Path, rng: np.random.Generator, gains: list[float]) -> dict[str, str]:
    from PIL import Image

    folder.mkdir(parents=True)
    truth = {}
    for i, gain in enumerate(gains):
        picture = Image.eval(scene(rng, (640, 480)), lambda v, gain=gain: int(v * gain))  # type: ignore[arg-type,misc]
        picture.save(folder / f"p-{i:02d}.jpg", quality=90)
        truth[f"p-{i:02d}.jpg"] = ""
    return truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_dark_picture_like_the_deployment_is_not_flagged(seed: int, tmp_path: Path) -> None:
    """Three dark training pictures among bright ones are flagged dark — unless the deployment sample is
    that dark: then they are what the data needs, and the deployment sample is reported darker instead."""
    rng = np.random.default_rng(seed)
    truth = _dark_dataset(tmp_path / "train", rng, [1.0] * 30 + [0.13] * 3)
    _dark_dataset(tmp_path / "deploy", rng, [0.15] * 12)
    path = export(tmp_path / "train", truth, tmp_path / "export.json")
    media = MediaSources(media_root=tmp_path / "train")
    with registered(fake_embedder(), "fake-quality-deploy"):
        alone = check(load_spec_text(SPEC), path, media=media, cache_dir=tmp_path / "cache")
        deployed = check(
            load_spec_text(SPEC), path, media=media, cache_dir=tmp_path / "cache", deployment=[str(tmp_path / "deploy")]
        )
    assert alone.counts_by_code()["image-dark"] == 3
    assert deployed.counts_by_code()["image-dark"] == 0
    shifts = [f.message for f in deployed.findings if f.code == "deployment-quality-shift"]
    assert any("'deploy' is darker than your data" in message for message in shifts), shifts
