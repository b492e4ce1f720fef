"""The embedding cache on object storage (`--cache-dir s3://…`), against a real S3 API on 127.0.0.1
(moto's server): what one machine embedded, another reads without encoding; a merge on another machine
replaces the merged objects; an unreachable or malformed location is exit 2 without a secret in sight."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from taxospec.embeddings.cache import COMPACT_ABOVE, EmbeddingCache

from ..s3_server import CREDENTIALS, bucket_uri, objects, s3_server
from .tiny_model import boxes_export, pipeline_spec


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as found:
        yield found


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def _on_machine(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Runs from here on act as another machine: their local cache (and the mirror in it) is `folder`."""
    monkeypatch.setenv("TAXOSPEC_CACHE_DIR", str(folder))


def _batches(uri: str) -> dict[str, int]:
    return {name: size for name, size in objects(uri).items() if "/batch-" in name}


def _first(export: Path, count: int) -> Path:
    part = export.with_name(f"first-{count}.json")
    part.write_text(json.dumps(json.loads(export.read_text())[:count]))
    return part


def test_what_one_machine_embedded_another_reads_without_encoding(
    endpoint: str, tmp_path: Path, tiny_weights: Path, run_cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, export = boxes_export(tmp_path, 10)
    spec = pipeline_spec(tmp_path, tiny_weights)
    uri = bucket_uri(endpoint, "shared", "team/cache")
    args = ["embed", spec, export, "--ls-document-root", root, "--cache-dir", uri, "--device", "cpu"]
    _on_machine(monkeypatch, tmp_path / "machine-a")
    first = run_cli(*args)  # type: ignore[operator]
    assert first.exit_code == 0, first.output
    stored = objects(uri)
    assert {"models.json", "content-hashes.npz"} <= set(stored)
    assert _batches(uri), "the vectors went to the bucket"
    _on_machine(monkeypatch, tmp_path / "machine-b")
    second = run_cli(*args)  # type: ignore[operator]
    assert second.exit_code == 0 and "10 example(s) in the cache" in second.stdout, second.output
    assert set(_batches(uri)) == {n for n in stored if "/batch-" in n}, "machine b encoded nothing"
    mirrors = list((tmp_path / "machine-b" / "remote").iterdir())
    assert len(mirrors) == 1 and not list(mirrors[0].rglob(".*.part")), "the mirror holds whole files only"


def test_a_uri_in_taxospec_cache_dir_names_the_remote_cache(
    endpoint: str, tmp_path: Path, tiny_weights: Path, run_cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, export = boxes_export(tmp_path, 3)
    spec = pipeline_spec(tmp_path, tiny_weights)
    uri = bucket_uri(endpoint, "from-env", "cache")
    monkeypatch.setenv("TAXOSPEC_CACHE_DIR", uri)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    result = run_cli("embed", spec, export, "--ls-document-root", root, "--device", "cpu")  # type: ignore[operator]
    assert result.exit_code == 0, result.output
    assert _batches(uri), "the vectors went to the bucket"
    assert list((tmp_path / "cwd").iterdir()) == [], "no folder named after the URI"
    assert len(list((tmp_path / "xdg" / "taxospec" / "remote").iterdir())) == 1, "the mirror, in the local cache"


def test_a_merge_on_another_machine_replaces_the_merged_objects(
    endpoint: str, tmp_path: Path, tiny_weights: Path, run_cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, export = boxes_export(tmp_path, COMPACT_ABOVE + 4)
    spec = pipeline_spec(tmp_path, tiny_weights)
    uri = bucket_uri(endpoint, "merging", "cache")
    media = ["--ls-document-root", root, "--cache-dir", uri, "--device", "cpu"]
    _on_machine(monkeypatch, tmp_path / "machine-a")
    for count in range(1, COMPACT_ABOVE + 1):  # each run embeds one more picture: one more batch object
        assert run_cli("embed", spec, _first(export, count), *media).exit_code == 0  # type: ignore[operator]
    assert len(_batches(uri)) == COMPACT_ABOVE, "one object per run's batch, not merged yet"
    _on_machine(monkeypatch, tmp_path / "machine-b")
    result = run_cli("embed", spec, export, *media)  # type: ignore[operator]
    assert result.exit_code == 0, result.output
    [merged] = _batches(uri)  # the other machine's objects and its own batch, merged: one left
    _on_machine(monkeypatch, tmp_path / "machine-c")
    third = run_cli("embed", spec, export, *media)  # type: ignore[operator]
    assert third.exit_code == 0 and list(_batches(uri)) == [merged], "nothing encoded again"
    b, c = _mirrored_cache(tmp_path / "machine-b"), _mirrored_cache(tmp_path / "machine-c")
    assert len(c) >= COMPACT_ABOVE + 4 and sorted(c._rows) == sorted(b._rows), "every vector, in the one object"


def _mirrored_cache(machine: Path) -> EmbeddingCache:
    [mirror] = (machine / "remote").iterdir()
    [folder] = (mirror / "embeddings").iterdir()
    model, _, preprocess = (folder / "model.txt").read_text(encoding="utf-8").partition("\n")
    return EmbeddingCache(mirror, model, preprocess[:-1])


def test_a_batch_an_encoder_writes_remotely_is_read_after_the_next_pull(endpoint: str, tmp_path: Path) -> None:
    import numpy as np

    from taxospec.embeddings.remote_cache import RemoteCache

    uri = bucket_uri(endpoint, "workers", "cache")
    remote = RemoteCache.open(uri, mirrors=tmp_path / "mirrors")
    remote.pull()
    local = EmbeddingCache(remote.mirror, "model", "preprocess")
    vectors = np.eye(3, 8, dtype=np.float16)
    remote.folder(local.folder).write_batch(["a|whole", "b|whole", "c|whole"], vectors)  # as a Ray encoder does
    assert len(local) == 0 and len(_batches(uri)) == 1, "written remotely only"
    remote.pull()
    pulled = EmbeddingCache(remote.mirror, "model", "preprocess")
    assert len(pulled) == 3 and np.array_equal(pulled.get("b|whole"), vectors[1].astype(np.float32))


def test_a_bucket_gone_before_the_push_is_exit_2_and_the_batch_stays_in_the_mirror(tmp_path: Path) -> None:
    import numpy as np

    from taxospec.embeddings.cache import write_batch
    from taxospec.embeddings.remote_cache import RemoteCache
    from taxospec.errors import OptionError

    with s3_server(tmp_path / "moto.log") as gone_soon:
        remote = RemoteCache.open(bucket_uri(gone_soon, "brief", "cache"), mirrors=tmp_path / "mirrors")
        remote.pull()
    local = EmbeddingCache(remote.mirror, "model", "preprocess")
    batch = write_batch(local.folder, ["a|whole"], np.ones((1, 4), dtype=np.float16))
    with pytest.raises(OptionError, match="the embedding cache at s3://brief/cache cannot be used") as raised:
        remote.push()
    assert raised.value.exit_code == 2 and batch.exists(), "the batch stays in the mirror for the next push"


def test_objects_named_to_leave_the_mirror_are_not_pulled(endpoint: str, tmp_path: Path) -> None:
    import boto3

    from taxospec.embeddings.remote_cache import RemoteCache

    uri = bucket_uri(endpoint, "hostile", "cache")
    client = boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1")
    for key in ("cache/../../escaped.txt", "cache/embeddings/../../../../escaped.txt", "cache//escaped.txt"):
        client.put_object(Bucket="hostile", Key=key, Body=b"not the cache's")
    client.put_object(Bucket="hostile", Key="cache/models.json", Body=b"{}")
    remote = RemoteCache.open(uri, mirrors=tmp_path / "deep" / "er" / "mirrors")
    remote.pull()
    assert [p.name for p in remote.mirror.rglob("*")] == ["models.json"]
    assert not [p for p in tmp_path.rglob("escaped.txt")], "nothing written outside the mirror"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("s3://AKIDKEY:SECRETVALUE@shared/cache?endpoint_override=127.0.0.1:{port}&scheme=http", "cannot be used"),
        ("s3://AKIDKEY:SECRET VALUE@shared/cache", "cannot open the embedding cache at s3://shared/cache"),
        ("s3://shared/cache?secret_key=SECRETVALUE", "cannot open the embedding cache at s3://shared/cache"),
        ("ftp://AKIDKEY:SECRETVALUE@host/cache", "ftp:// is not object storage taxospec writes to"),
    ],
)
def test_a_cache_that_cannot_be_reached_or_read_is_exit_2_without_its_secret(
    tmp_path: Path, tiny_weights: Path, run_cli: object, monkeypatch: pytest.MonkeyPatch, location: str, message: str
) -> None:
    root, export = boxes_export(tmp_path, 2)
    spec = pipeline_spec(tmp_path, tiny_weights)
    _on_machine(monkeypatch, tmp_path / "machine")
    uri = location.format(port=_closed_port())
    result = run_cli("embed", spec, export, "--ls-document-root", root, "--cache-dir", uri)  # type: ignore[operator]
    assert result.exit_code == 2 and message in result.stderr, result.output
    for secret in ("SECRETVALUE", "SECRET VALUE", "AKIDKEY", CREDENTIALS["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in result.output and secret not in result.stderr
