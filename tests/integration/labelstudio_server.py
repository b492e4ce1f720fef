"""A real Label Studio server for the tests: installed in its own venv under build/ (cached there), started
on a free loopback port with a fresh data folder, stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..process_group import stop_group

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "build" / "ls-venv"
VERSION = "1.23.2"
TOKEN = "taxospec-test-token-0001"
USER = "admin@example.com"
PASSWORD = "taxospec-pass-0001"


def install() -> Path:
    """The `label-studio` executable, installed into build/ls-venv on first use."""
    exe = VENV / "bin" / "label-studio"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", f"label-studio=={VERSION}"], check=True, timeout=1500
        )
    return exe


def pushed_project(stdout: str) -> int:
    """The project id that `taxospec push` reports ("created project 3: http://…")."""
    return int(stdout.split("project ")[1].split(":")[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(data: Path) -> Iterator[str]:
    """A started server's URL; the server is stopped (its whole process group) afterwards."""
    exe = install()
    port = free_port()
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LATEST_VERSION_CHECK": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false",
        "SSRF_PROTECTION_ENABLED": "false",  # webhooks to 127.0.0.1 (taxospec serve)
        "ML_BLOCK_LOCAL_IP": "false",  # an ML backend on 127.0.0.1 (taxospec serve)
    }
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(exe),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--username",
            USER,
            "--password",
            PASSWORD,
            "--user-token",
            TOKEN,
            "--enable-legacy-api-token",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (data / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Label Studio did not start on {url}:\n{tail}")
            time.sleep(1)
        yield url
    finally:
        stop_group(process)
        log.close()
