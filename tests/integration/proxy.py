"""A TCP forwarder on loopback that a test can take down and bring back: Label Studio, unreachable on
demand, as taxospec sees a server that went away (connection refused), while the server itself runs on."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

from .labelstudio_server import free_port


class Proxy:
    """Forwards 127.0.0.1:`port` to `target`; `down()` refuses connections and cuts the open ones,
    `up()` listens again on the same port. With `cut_after=(marker, n)` it goes down by itself once n
    more requests have followed the first request that holds `marker` (e.g. `b"POST /api/predictions"`)."""

    def __init__(self, target: str, cut_after: tuple[bytes, int] | None = None) -> None:
        host, _, port = target.removeprefix("http://").partition(":")
        self.target = (host, int(port.rstrip("/")))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cut_after = cut_after
        self.after_marker: int | None = None
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> Proxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream, self._requests), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client, None), daemon=True).start()

    def _requests(self, data: bytes) -> bool:
        """Count the requests in `data` (client to server); False when the proxy must go down now."""
        if self.cut_after is None:
            return True
        marker, allowed = self.cut_after
        if self.after_marker is None and marker in data:
            self.after_marker = 0
        elif self.after_marker is not None:
            self.after_marker += data.count(b" HTTP/1.1\r\n")
        if self.after_marker is not None and self.after_marker > allowed:
            threading.Thread(target=self.down, daemon=True).start()
            return False
        return True

    def __enter__(self) -> Proxy:
        return self.up()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.down()


def _pump(source: socket.socket, sink: socket.socket, passes: Callable[[bytes], bool] | None) -> None:
    try:
        while data := source.recv(65536):
            if passes is not None and not passes(data):
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
