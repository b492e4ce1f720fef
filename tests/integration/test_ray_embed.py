"""`taxospec embed --ray` on a real local Ray cluster (`ray start --head` on 127.0.0.1 with this machine's
cores, stopped by process group): the vectors and cache keys are those of the single-process run, a later
`taxospec check` encodes nothing, a worker killed mid-run costs only its batch, and a cluster that does not
answer is exit 2 with a clear message; `taxospec check --ray` finds what the check here finds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from taxospec.embeddings.cache import EmbeddingCache

from ..conftest import EXAMPLES, ROOT
from ..process_group import stop_group
from ..s3_server import CREDENTIALS, bucket_uri, objects, s3_server

pytestmark = pytest.mark.integration
DEMO = EXAMPLES / "synthetic-signals"
RAY = Path(sys.executable).parent / "ray"
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", **CREDENTIALS}
"""A loopback test cluster without token authentication (a real cluster's token reaches Ray through
RAY_AUTH_TOKEN, which taxospec passes on untouched); its workers read the test S3 server's credentials
from their environment, as a real cluster's read theirs (an instance role, the environment)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Ray head on 127.0.0.1 with 2 CPUs, in its own process group, stopped by that group."""
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, **RAY_ENV}
    command = [str(RAY), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1"]
    command += ["--num-cpus=2", "--num-gpus=0", "--include-dashboard=false", f"--temp-dir={temp}"]
    log = (temp / "head.log").open("wb")
    head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if head.poll() is not None:
                pytest.fail(f"ray start exited: {(temp / 'head.log').read_text()[-2000:]}")
            status = subprocess.run([str(RAY), "status", f"--address={address}"], capture_output=True, env=env)
            if status.returncode == 0:
                break
            time.sleep(1)
        yield address
    finally:
        stop_group(head)
        log.close()


def _taxospec(
    *args: str | Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **RAY_ENV, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "taxospec", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def _cache(root: Path) -> EmbeddingCache:
    [folder] = [f for f in (root / "embeddings").iterdir() if list(f.glob("batch-*.npz"))]
    model, _, preprocess = (folder / "model.txt").read_text(encoding="utf-8").partition("\n")
    return EmbeddingCache(root, model, preprocess[:-1])


def test_the_cluster_computes_the_single_process_vectors(cluster: str, tmp_path: Path) -> None:
    spec, export = DEMO / "spec.yaml", DEMO / "export.json"
    media = ["--ls-document-root", DEMO]
    on_ray = _taxospec("embed", spec, export, *media, "--cache-dir", tmp_path / "ray", "--ray", cluster)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert "308 task(s), 308 read" in on_ray.stdout and "0 task(s) unreadable" in on_ray.stdout
    here = _taxospec("embed", spec, export, *media, "--cache-dir", tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    ray_cache, local_cache = _cache(tmp_path / "ray"), _cache(tmp_path / "here")
    keys = sorted(local_cache._rows)
    assert sorted(ray_cache._rows) == keys, "the same cache keys"
    a = np.stack([ray_cache.get(k) for k in keys])  # type: ignore[misc]
    b = np.stack([local_cache.get(k) for k in keys])  # type: ignore[misc]
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.9999
    batches = sorted((ray_cache.folder).glob("batch-*.npz"))
    checked = _taxospec("check", spec, export, *media, "--cache-dir", tmp_path / "ray", "--format", "json")
    assert checked.returncode == 1, checked.stderr[-3000:]
    assert sorted(ray_cache.folder.glob("batch-*.npz")) == batches, "check encoded nothing"
    again = _taxospec("embed", spec, export, *media, "--cache-dir", tmp_path / "ray", "--ray", cluster)
    assert again.returncode == 0 and "308 task(s), 0 read" in again.stdout, again.stdout


@pytest.mark.parametrize("kind", ["clips", "boxes"])
def test_frames_and_boxes_on_the_cluster_are_the_single_process_vectors(
    cluster: str, kind: str, tmp_path: Path
) -> None:
    """Footage (frames sampled from each segment's video, decoded with PyAV in the CPU tasks) and regions
    (boxes cropped with their margin) give the keys and vectors the single-process stage gives."""
    spec, export = DEMO / f"spec-{kind}.yaml", DEMO / f"export-{kind}.json"
    args = ["embed", spec, export, "--ls-document-root", DEMO]
    on_ray = _taxospec(*args, "--cache-dir", tmp_path / "ray", "--ray", cluster)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert "300 vector(s) written, 0 task(s) unreadable" in on_ray.stdout, on_ray.stdout
    here = _taxospec(*args, "--cache-dir", tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    ray_cache, local_cache = _cache(tmp_path / "ray"), _cache(tmp_path / "here")
    keys = sorted(local_cache._rows)
    assert len(keys) == 300 and sorted(ray_cache._rows) == keys, "the same cache keys"
    a = np.stack([ray_cache.get(k) for k in keys]).astype(np.float64)  # type: ignore[misc]
    b = np.stack([local_cache.get(k) for k in keys]).astype(np.float64)  # type: ignore[misc]
    assert ((a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min() >= 0.9999


def _findings(stdout: str) -> list[tuple[str, int | None, str]]:
    import json

    report = json.loads(stdout)
    return sorted((f["code"], f.get("task_id"), f["message"]) for f in report["findings"])


def test_check_on_the_cluster_finds_what_the_check_here_finds(cluster: str, tmp_path: Path) -> None:
    spec, export = DEMO / "spec.yaml", DEMO / "export.json"
    args = [spec, export, "--ls-document-root", DEMO, "--format", "json"]
    on_ray = _taxospec("check", *args, "--cache-dir", tmp_path / "ray", "--ray", cluster, "--encoders", "1")
    assert on_ray.returncode == 1, on_ray.stderr[-3000:]
    assert f"embedded on Ray at {cluster}: 308 task(s), 308 read" in on_ray.stderr, on_ray.stderr[-3000:]
    here = _taxospec("check", *args, "--cache-dir", tmp_path / "here")
    assert here.returncode == 1, here.stderr[-3000:]
    assert len(_cache(tmp_path / "ray")) == len(_cache(tmp_path / "here")), "every vector came from the cluster"
    assert _findings(on_ray.stdout) == _findings(here.stdout)


def test_todo_on_the_cluster_lists_what_the_todo_here_lists(cluster: str, tmp_path: Path) -> None:
    spec, export = DEMO / "spec.yaml", DEMO / "export.json"
    args = ["todo", spec, export, "--ls-document-root", DEMO, "--format", "json"]
    on_ray = _taxospec(*args, "--cache-dir", tmp_path / "ray", "--ray", cluster)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert f"embedded on Ray at {cluster}: 308 task(s), 308 read" in on_ray.stderr, on_ray.stderr[-3000:]
    here = _taxospec(*args, "--cache-dir", tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    assert len(_cache(tmp_path / "ray")) == len(_cache(tmp_path / "here")), "every vector came from the cluster"
    listed = [json.loads(run.stdout)["items"] for run in (on_ray, here)]
    assert listed[0] and listed[0] == listed[1]


def _pictures(folder: Path, count: int) -> Path:
    """`count` different small pictures and an export of them (one class)."""
    import json

    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    tasks = []
    for i in range(count):
        pixels = rng.integers(0, 255, size=(48, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{i:04d}.png")
        result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["timeout"]}}]
        tasks.append(
            {"id": i + 1, "data": {"image": f"p{i:04d}.png"}, "annotations": [{"id": i + 1, "result": result}]}
        )
    (folder / "export.json").write_text(json.dumps(tasks))
    return folder / "export.json"


def _ray_workers(stage: str) -> list[int]:
    """The worker processes running this pipeline's `stage`, by the title Ray gives them: `FlatMap(Decode`
    (the decoding tasks), `MapWorker(MapBatches(Encode` (the encoder actors)."""
    found = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in found if f"ray::{stage}" in line]


def test_a_killed_worker_costs_only_its_batch(cluster: str, tmp_path: Path) -> None:
    export = _pictures(tmp_path / "pictures", 900)
    cache = tmp_path / "cache"
    args = ["embed", DEMO / "spec.yaml", export, "--media-root", tmp_path / "pictures", "--cache-dir", cache]
    env = {**os.environ, **RAY_ENV, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "taxospec", *map(str, args), "--ray", cluster, "--batch-size", "16"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    killed: dict[str, int] = {}
    deadline = time.monotonic() + 300
    while len(killed) < 2 and time.monotonic() < deadline and run.poll() is None:
        if list(cache.glob("embeddings/*/batch-*.npz")):  # mid-run: some batches are written
            for stage in ("FlatMap(Decode", "MapWorker(MapBatches(Encode"):
                workers = _ray_workers(stage)
                if stage not in killed and workers:
                    killed[stage] = workers[0]
                    os.kill(workers[0], signal.SIGKILL)
        time.sleep(0.2)
    out, err = run.communicate(timeout=600)
    assert len(killed) == 2, f"a decoding and an encoding worker were killed mid-run: {killed}"
    assert run.returncode == 0, (killed, err[-6000:], out)
    assert "900 task(s), 900 read" in out and "0 task(s) unreadable" in out, out
    assert len(_cache(cache)) == 900, "every vector is in the cache"


def test_encoders_write_straight_to_object_storage(cluster: str, tmp_path: Path) -> None:
    export = _pictures(tmp_path / "pictures", 60)
    media = ["--media-root", tmp_path / "pictures"]
    with s3_server(tmp_path / "moto.log") as endpoint:
        uri = bucket_uri(endpoint, "frames", "cache")
        driver = {"TAXOSPEC_CACHE_DIR": str(tmp_path / "driver")}
        args = ["embed", DEMO / "spec.yaml", export, *media, "--cache-dir", uri]
        on_ray = _taxospec(*args, "--ray", cluster, env=driver)
        assert on_ray.returncode == 0, on_ray.stderr[-3000:]
        assert "60 task(s), 60 read" in on_ray.stdout and "60 vector(s) written" in on_ray.stdout, on_ray.stdout
        stored = {name for name in objects(uri) if "/batch-" in name}
        assert stored and {"models.json", "content-hashes.npz"} <= set(objects(uri))
        elsewhere = {"TAXOSPEC_CACHE_DIR": str(tmp_path / "elsewhere")}
        here = _taxospec(*args, env=elsewhere)
        assert here.returncode == 0 and "60 example(s) in the cache" in here.stdout, here.stderr[-3000:]
        assert {name for name in objects(uri) if "/batch-" in name} == stored, "nothing encoded again"


def test_an_unreachable_cluster_is_exit_2() -> None:
    port = _free_port()  # nothing listens there
    result = _taxospec(
        "embed", DEMO / "spec.yaml", DEMO / "export.json", "--ls-document-root", DEMO, "--ray", f"127.0.0.1:{port}"
    )
    assert result.returncode == 2
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
