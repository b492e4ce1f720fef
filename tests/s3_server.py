"""A real S3 API on 127.0.0.1 for the tests of the remote embedding cache: moto's server (`moto_server`,
installed by the dev extra) in its own process group, stopped by that group."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .process_group import stop_group

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "taxospec-test-key",
    "AWS_SECRET_ACCESS_KEY": "taxospec-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""What pyarrow reads the credentials from (moto takes any)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def s3_server(log: Path) -> Iterator[str]:
    """A moto S3 server; yields its endpoint (`127.0.0.1:PORT`)."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            stop_group(server, timeout=10)


def bucket_uri(endpoint: str, bucket: str, prefix: str) -> str:
    """Create `bucket` on the server at `endpoint`; the cache URI of `prefix` in it."""
    from pyarrow import fs

    s3 = fs.S3FileSystem(
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region=CREDENTIALS["AWS_DEFAULT_REGION"],
        endpoint_override=endpoint,
        scheme="http",
        allow_bucket_creation=True,
    )
    s3.create_dir(bucket)
    return f"s3://{bucket}/{prefix}?endpoint_override={endpoint}&scheme=http"


def objects(uri: str) -> dict[str, int]:
    """Every object under the cache URI: path below it → size (with the credentials in the environment)."""
    from pyarrow import fs

    filesystem, base = fs.FileSystem.from_uri(uri)
    infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    return {i.path[len(base) + 1 :]: int(i.size) for i in infos if i.type == fs.FileType.File}
