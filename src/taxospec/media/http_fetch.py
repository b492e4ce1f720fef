"""Downloading media over http(s) only from where the user allowed it, at every hop.

A host is allowed when `--allow-http` names it; `*` allows any host except those that resolve to a
private, loopback, link-local or otherwise reserved address (a cloud metadata service, a database on the
machine: the targets of server-side request forgery), which must be named to be allowed. Redirects are
followed only to http(s) URLs whose host passes the same test, at most `MAX_REDIRECTS` of them; an
allowed host answering 302 to another host is not a way around the list.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.parse
import urllib.request
from typing import IO, Any

MAX_REDIRECTS = 5


class FetchRefused(Exception):
    """A URL (or a redirect's target) the allow-list does not let taxospec read."""


class FetchFailed(Exception):
    """A URL that could not be read (network, HTTP status, timeout)."""


def host_refusal(url: str, allowed: tuple[str, ...]) -> str | None:
    """Why `url` may not be read (None: it may)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"a {parts.scheme or 'relative'} URL, not http(s)"
    try:
        parts.port  # noqa: B018 -- raises for a port beyond 0-65535 (the resolver would overflow on it)
    except ValueError as exc:
        return f"{exc} in {url!r}"
    host = (parts.hostname or "").lower()
    if host in {a.lower() for a in allowed}:
        return None
    if "*" not in allowed:
        return f"host {host!r} is not allowed (--allow-http HOST, or --media-map for a local copy)"
    private = _private_address(host)
    if private is not None:
        return f"host {host!r} is {private}, which --allow-http '*' does not cover: name it to allow it"
    return None


def _private_address(host: str) -> str | None:
    """What kind of non-public address `host` is or resolves to (None: only public ones)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # does not resolve: the download fails on its own
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address.is_loopback:
            return f"a loopback address ({address})"
        if address.is_private or address.is_link_local or address.is_reserved or address.is_multicast:
            return f"a private or reserved address ({address})"
        if address.is_unspecified:
            return f"the unspecified address ({address})"
    return None


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only where the allow-list lets the first URL go."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed

    def http_error_302(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any) -> Any:
        """Check the target before urllib looks at it (it refuses some schemes itself, as an HTTP error)."""
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urllib.parse.urljoin(req.full_url, location)
            refusal = host_refusal(target, self.allowed)
            if refusal is not None:
                raise FetchRefused(f"redirected ({code}) to {target}: {refusal}")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def fetch(url: str, allowed: tuple[str, ...], timeout: float, max_bytes: int) -> bytes:
    """The body of `url`, at most `max_bytes` + 1 bytes (the caller refuses more); `FetchRefused` for a URL
    or redirect the allow-list does not cover, `FetchFailed` for anything the network says."""
    refusal = host_refusal(url, allowed)
    if refusal is not None:
        raise FetchRefused(refusal)
    opener = urllib.request.build_opener(_CheckedRedirects(allowed))
    try:
        with opener.open(url, timeout=timeout) as response:
            body: bytes = response.read(max_bytes + 1)
    except FetchRefused:
        raise
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, timeouts, InvalidURL, IncompleteRead
        raise FetchFailed(str(exc)) from None
    return body
