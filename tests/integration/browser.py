"""A headless Chromium driven over the DevTools protocol, for tests that need a logged-in page."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .labelstudio_server import free_port


def chromium() -> str:
    """The Chromium executable (Debian's package, which `make test` installs when it is missing)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("TAXOSPEC_SKIP_BROWSER"):
            pytest.skip("TAXOSPEC_SKIP_BROWSER is set")
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package (as root)")
    return found


@contextmanager
def chromium_env() -> Iterator[dict[str, str]]:
    """The environment to start Chromium in: its temporary files (the singleton socket's folder, which a
    killed browser leaves behind) in a folder removed afterwards. (A short path: the socket's must fit a
    Unix socket address, so not under the test's own folder.)"""
    with tempfile.TemporaryDirectory(prefix="taxospec-chromium-") as scratch:
        yield {**os.environ, "TMPDIR": scratch}


class Page:
    """One browser tab: navigate, run JavaScript, set cookies, take screenshots."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.calls = 0
        self.events: list[dict[str, Any]] = []
        """Every event the page sent while a command was answered (enable a domain to receive its events:
        `Runtime.enable` for console messages and exceptions, `Network.enable` for requests)."""

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result."""
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message)
            if message.get("id") == self.calls:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 60) -> Any:
        """Evaluate until the expression is truthy; its value, or None after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        return None

    def errors(self) -> list[str]:
        """The console errors and uncaught exceptions seen so far (needs `Runtime.enable`)."""
        out = []
        for event in self.events:
            if event["method"] == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                out.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif event["method"] == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in event["params"]["args"]))
        return out

    def requests(self) -> list[str]:
        """The URLs the page requested so far (needs `Network.enable`)."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> None:
        """Save the visible page as PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))


@contextmanager
def page(profile: Path) -> Iterator[Page]:
    """A fresh headless Chromium with one tab; the browser is killed afterwards."""
    port = free_port()
    with chromium_env() as env:
        process = subprocess.Popen(
            [
                chromium(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}",
                "--window-size=1600,1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            with _first_tab(port) as tab:
                yield tab
        finally:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def _first_tab(port: int) -> Iterator[Page]:
    """The browser's first page tab, once its DevTools endpoint answers."""
    import websocket

    tabs: list[dict[str, Any]] = []
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as answer:
                tabs = json.loads(answer.read())
            break
        except OSError:
            time.sleep(0.2)
    target = next(t for t in tabs if t.get("type") == "page")
    socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60)
    try:
        yield Page(socket)
    finally:
        socket.close()
