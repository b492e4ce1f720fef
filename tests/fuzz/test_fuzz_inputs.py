"""Fuzz targets: mutated specs, exports (plain and gzip, structure-aware and truncated), webhook payloads
and media URIs; every answer is exit 0, 1 or 2 (or the library's own error), never a crash or a hang.
See `harness` for the budget (`make test`: a few seconds each; `make fuzz`: a quarter of an hour each)."""

from __future__ import annotations

import copy
import gzip
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from taxospec.cli import cli

from ..conftest import EXAMPLES, FIXTURES
from . import harness

SPECS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*/spec.yaml"))]
EXPORTS = [
    (FIXTURES / "label-studio" / "img_easy_JSON.json", EXAMPLES / "product-defects" / "spec.yaml"),
    (FIXTURES / "label-studio" / "vid_easy_JSON.json", EXAMPLES / "football-signals" / "spec.yaml"),
    (FIXTURES / "label-studio" / "img_easy_JSON_MIN.json", EXAMPLES / "product-defects" / "spec.yaml"),
]


def _invoke(*args: str | Path) -> Any:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    detail = f"{args}: exit {result.exit_code}\n{result.output[-2000:]}\n{result.stderr[-2000:]}"
    assert result.exit_code in (0, 1, 2), detail
    assert "internal error" not in result.stderr and "Traceback" not in result.output, detail
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(detail) from result.exception
    return result


def test_fuzz_specs(tmp_path: Path) -> None:
    def make(rng: random.Random) -> str:
        return harness.mutate_text(rng.choice(SPECS), rng)

    def attempt(text: str) -> None:
        path = tmp_path / "spec.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for command in (("lint",), ("describe",), ("config", "--no-validate")):
            _invoke(command[0], path, *command[1:])

    assert harness.run("spec", make, attempt) >= 1


def _export_bytes(rng: random.Random) -> tuple[bytes, Path, str]:
    source, spec = rng.choice(EXPORTS)
    text = source.read_text(encoding="utf-8")
    kind = rng.randrange(3)
    if kind == 0:  # structure-aware: a node replaced, removed, duplicated or re-typed
        data = json.loads(text)
        for _ in range(rng.randrange(1, 4)):
            data = harness.mutate_json(data, rng)
        body = json.dumps(data, allow_nan=True).encode("utf-8", errors="surrogatepass")
    else:  # text-level: cut at any depth, spliced, odd characters
        body = harness.mutate_text(text, rng).encode("utf-8", errors="surrogatepass")
    name = "export.json"
    if rng.random() < 0.3:
        body = bytearray(gzip.compress(body))
        for _ in range(rng.randrange(0, 3)):
            if len(body) > 20:
                body[rng.randrange(10, len(body))] ^= 1 << rng.randrange(8)
        if rng.random() < 0.3:
            body = body[: rng.randrange(len(body) + 1)]
        body, name = bytes(body), "export.json.gz"
    return body, spec, name


def test_fuzz_exports(tmp_path: Path) -> None:
    def attempt(case: tuple[bytes, Path, str]) -> None:
        body, spec, name = case
        export = tmp_path / name
        export.write_bytes(body)
        _invoke("check", spec, export, "--no-embeddings", "--format", "json")
        _invoke("todo", spec, export, "--format", "json")

    assert harness.run("export", _export_bytes, attempt) >= 1


def test_fuzz_webhook_payloads() -> None:
    from taxospec.plugins.labelstudio.events import MAX_ID, parse_event
    from taxospec.plugins.labelstudio.jsonstream import without_lone_surrogates

    payloads = [json.loads(p.read_text())["body"] for p in sorted((FIXTURES / "label-studio").glob("webhook_*.json"))]
    project = payloads[1]["project"]["id"]

    def make(rng: random.Random) -> bytes:
        data = copy.deepcopy(rng.choice(payloads))
        for _ in range(rng.randrange(1, 4)):
            data = harness.mutate_json(data, rng)
        text = json.dumps(data, allow_nan=True)
        if rng.random() < 0.3:
            text = harness.mutate_text(text, rng)
        return text.encode("utf-8", errors="surrogatepass")

    def attempt(body: bytes) -> None:
        for lenient in (False, True):  # taxospec's webhook, and the ML backend's
            try:  # what the handler does with a body, short of HTTP and the store
                event = parse_event(without_lone_surrogates(json.loads(body)), project, lenient=lenient)
            except (ValueError, UnicodeDecodeError, RecursionError):
                continue  # a 400 answer
            ids = [*event.tasks, *event.deleted, *event.seen, *event.seen.values()]
            assert all(type(i) is int and 1 <= i <= MAX_ID for i in ids), event

    assert harness.run("webhook", make, attempt) >= 1


REDIRECTS = [
    "http://localhost:{port}/ok.png",
    "http://127.0.0.1:{port}/ok.png",
    "http://127.0.0.1:{port}/r/{n}",
    "/r/{n}",
    "r/{n}",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/ok.png",
    "http://[::1",
    "https://127.0.0.1:{port}/ok.png",
    "http://127.0.0.1:{port}/" + "x" * 5000,
    "",
    "http://user:pass@127.0.0.1:{port}/ok.png",
    "http://127.0.0.1:99999/ok.png",
    "gopher://127.0.0.1:{port}/",
]


def _redirecting_server() -> Any:
    """A server on 127.0.0.1 that answers /r/N with a redirect chosen by N (hosts, schemes, loops, chains)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            port = self.server.server_address[1]
            if self.path.startswith("/r/"):
                n = sum(map(ord, self.path))
                target = REDIRECTS[n % len(REDIRECTS)].format(port=port, n=n % 97)
                self.send_response(301 + n % 8 if n % 8 in (0, 1, 2, 6, 7) else 302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"\x89PNG\r\n\x1a\n" if self.path == "/ok.png" else b"?"
            self.send_response(200 if self.path == "/ok.png" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    import threading

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_fuzz_media_uris() -> None:
    from taxospec.media.dispatch import locate_media, read_media
    from taxospec.media.sources import MediaProblem, MediaSources

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "root"
        (root / "img").mkdir(parents=True)
        (root / "img" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        os.mkfifo(root / "img" / "pipe.png")
        (root / "away").symlink_to("/etc", target_is_directory=True)
        server = _redirecting_server()
        port = server.server_address[1]
        sources = MediaSources(
            media_root=root,
            http_timeout=2.0,
            allow_http=("127.0.0.1",),
            roots={"ls-document-root": root, "ls-media-root": root},
        )
        bases = [
            f"http://127.0.0.1:{port}/r/1",
            f"http://127.0.0.1:{port}/r/2",
            f"http://127.0.0.1:{port}/ok.png",
            "/data/local-files/?d=img/a.png",
            "/data/upload/1/a.png",
            "img/a.png",
            "file:///etc/passwd",
            "http://127.0.0.1:9/x.png",
            "data:image/png;base64,iVBORw0KGgo=",
            "/data/local-files/?d=img/pipe.png",
            "/data/local-files/?d=away/passwd",
            "s3://bucket/a.png",
        ]

        def make(rng: random.Random) -> str:
            return harness.mutate_text(rng.choice(bases), rng)

        def attempt(uri: str) -> None:
            for read in (read_media, locate_media):
                try:
                    read(uri, sources)
                except MediaProblem as problem:
                    assert problem.code in ("media-missing", "media-refused", "media-unreadable"), problem

        descriptors = len(os.listdir("/proc/self/fd"))
        try:
            assert harness.run("media", make, attempt) >= 1
        finally:
            server.shutdown()
            server.server_close()
        assert len(os.listdir("/proc/self/fd")) <= descriptors + 5, "descriptors leak"


@pytest.mark.parametrize("seconds", [harness.budget()])
def test_the_budget_is_what_the_environment_says(seconds: float) -> None:
    assert seconds > 0
