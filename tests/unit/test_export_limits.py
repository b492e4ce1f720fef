"""Reading stays linear in the bytes whatever the shape of the export, with a bound on one task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taxospec.errors import ExportError
from taxospec.plugins.labelstudio import jsonstream
from taxospec.plugins.labelstudio.jsonstream import iter_json


def _one_big_task(path: Path, regions: int) -> None:
    result = [
        {"id": f"r{i}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
         "value": {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["a"]}}
        for i in range(regions)
    ]  # fmt: skip
    path.write_text(json.dumps([{"id": 1, "data": {"image": "x.png"}, "annotations": [{"id": 1, "result": result}]}]))


def test_one_huge_task_is_decoded_a_logarithmic_number_of_times(tmp_path: Path, monkeypatch: Any) -> None:
    """Each refill re-decodes the task from its start, so refills must grow geometrically: with 1 KiB
    chunks a 1.5 MB task takes about a dozen attempts (with fixed chunks it took some 1,500)."""
    path = tmp_path / "export.json"
    _one_big_task(path, 12_000)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 1024)
    attempts = []
    real = jsonstream._DECODER.raw_decode

    class Counting:
        def raw_decode(self, text: str, start: int) -> Any:
            attempts.append(len(text))
            return real(text, start)

    monkeypatch.setattr(jsonstream, "_DECODER", Counting())
    (task,) = list(iter_json(path))
    assert len(task["annotations"][0]["result"]) == 12_000
    assert len(attempts) <= 14, len(attempts)
    assert sum(attempts) <= 4 * path.stat().st_size  # linear in the bytes


def test_a_task_beyond_the_bound_is_refused_with_its_position(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "export.json"
    _one_big_task(path, 5_000)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 4096)
    monkeypatch.setattr(jsonstream, "MAX_ELEMENT_CHARS", 100_000)
    with pytest.raises(ExportError, match=r"starting at character 1 is longer than"):
        list(iter_json(path))


def test_a_huge_task_is_refused_by_check_with_exit_2(run_cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "export.json"
    _one_big_task(path, 5_000)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 4096)
    monkeypatch.setattr(jsonstream, "MAX_ELEMENT_CHARS", 100_000)
    spec = tmp_path / "spec.yaml"
    spec.write_text("taxospec: 1\nname: x\nunit: box\nclasses: {a: {hard_negatives: [b]}, b: {role: negative}}\n")
    result = run_cli("check", spec, path, "--no-embeddings")
    assert result.exit_code == 2 and "no task of an export is that large" in result.stderr
