"""Media over http(s): only from allowed hosts, at every redirect, never from private addresses under
`--allow-http '*'`; against real local HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from taxospec.media.dispatch import read_media
from taxospec.media.http_fetch import host_refusal
from taxospec.media.sources import MediaProblem, MediaSources

PICTURE = b"\x89PNG\r\n\x1a\n" + b"0" * 100


def _server(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"no"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    """Server B holds the picture; server A redirects to it by several names."""
    b = _server({"/p.png": (200, {}, PICTURE)})
    port_b = b.server_address[1]
    a = _server(
        {
            "/ok.png": (200, {}, PICTURE),
            "/to-localhost": (302, {"Location": f"http://localhost:{port_b}/p.png"}, b""),
            "/to-same-host": (302, {"Location": f"http://127.0.0.1:{port_b}/p.png"}, b""),
            "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
        }
    )
    yield a.server_address[1], port_b
    a.shutdown()
    b.shutdown()


def test_an_allowed_host_is_read(servers: tuple[int, int]) -> None:
    port, _ = servers
    assert read_media(f"http://127.0.0.1:{port}/ok.png", MediaSources(allow_http=("127.0.0.1",))) == PICTURE


def test_a_redirect_to_another_host_is_refused(servers: tuple[int, int]) -> None:
    port, port_b = servers
    with pytest.raises(MediaProblem) as refused:
        read_media(f"http://127.0.0.1:{port}/to-localhost", MediaSources(allow_http=("127.0.0.1",)))
    assert refused.value.code == "media-refused"
    assert f"redirected (302) to http://localhost:{port_b}/p.png" in str(refused.value)
    allowed = MediaSources(allow_http=("127.0.0.1", "localhost"))
    assert read_media(f"http://127.0.0.1:{port}/to-localhost", allowed) == PICTURE  # both named: followed


def test_a_redirect_within_the_allowed_host_is_followed(servers: tuple[int, int]) -> None:
    port, _ = servers
    assert read_media(f"http://127.0.0.1:{port}/to-same-host", MediaSources(allow_http=("127.0.0.1",))) == PICTURE


def test_redirects_to_other_schemes_and_loops_are_refused(servers: tuple[int, int]) -> None:
    port, _ = servers
    sources = MediaSources(allow_http=("127.0.0.1",))
    with pytest.raises(MediaProblem, match="file URL, not http"):
        read_media(f"http://127.0.0.1:{port}/to-file", sources)
    with pytest.raises(MediaProblem) as looped:
        read_media(f"http://127.0.0.1:{port}/loop", sources)
    assert looped.value.code == "media-missing" and "redirect" in str(looped.value)


def test_the_wildcard_does_not_cover_private_or_loopback_addresses(servers: tuple[int, int]) -> None:
    port, _ = servers
    with pytest.raises(MediaProblem, match="a loopback address"):
        read_media(f"http://127.0.0.1:{port}/ok.png", MediaSources(allow_http=("*",)))
    assert host_refusal("http://169.254.169.254/latest/meta-data/", ("*",)) is not None  # a cloud metadata service
    assert host_refusal("http://10.0.0.7/x.png", ("*",)) is not None
    assert host_refusal("http://10.0.0.7/x.png", ("*", "10.0.0.7")) is None  # named: allowed
    assert host_refusal("http://8.8.8.8/x.png", ("*",)) is None


def test_urls_http_client_refuses_are_findings() -> None:
    """`http://127.0.0.1:htt` made http.client raise InvalidURL, which is no OSError nor ValueError: an
    internal error until fuzzing found it; a port that is not a number is now refused before connecting."""
    with pytest.raises(MediaProblem) as raised:
        read_media("http://127.0.0.1:htt/x.png", MediaSources(allow_http=("127.0.0.1",)))
    assert raised.value.code == "media-refused" and "could not be cast to integer" in str(raised.value)


def test_a_port_beyond_65535_is_a_finding() -> None:
    """`http://127.0.0.1:37589375537589375589/r/2` made getaddrinfo raise OverflowError (no OSError nor
    ValueError): an internal error until an hour of fuzzing (seed 777) found it. Refused before any
    connection, at the first URL and at a redirect's target alike."""
    url = "http://127.0.0.1:37589375537589375589/r/2"
    with pytest.raises(MediaProblem) as raised:
        read_media(url, MediaSources(allow_http=("127.0.0.1",)))
    assert raised.value.code == "media-refused" and "out of range" in str(raised.value)
    assert host_refusal("http://127.0.0.1:65536/x.png", ("127.0.0.1",)) is not None
    assert host_refusal("http://127.0.0.1:65535/x.png", ("127.0.0.1",)) is None
