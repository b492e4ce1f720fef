"""A burst of webhooks at `taxospec serve`, on loopback, against a real Label Studio: latency, refusals and
events lost at 5, 20 and 50 concurrent senders, beside a bare HTTP server in the same run.

Label Studio sends each webhook in a request of its own with a 1 s timeout and never retries, so what
counts is that every request is answered, quickly, and that every accepted event is checked. In one run:

- **floor**: a bare `ThreadingHTTPServer` in this process that answers 202 at once (the least any receiver
  on this machine can do, with this client);
- **taxospec serve**: the real receiver (events persisted to SQLite with fsync before the answer, 4 workers
  checking the tasks against the real Label Studio behind).

For each number of senders, every sender posts ANNOTATION_UPDATED events for the project's tasks over a
new connection each time (as Label Studio does), `--events` in all. Recorded: p50 and p99 latency, answers
over 1 s (Label Studio would have given up), accepted (2xx) and refused (other status or a connection
error) counts, events lost (accepted but not in the receiver's store), the time to check everything after
the burst, and how many checks the coalescing saved. Loopback only; bounded by `--events` and a timeout.

    .venv/bin/python benchmarks/serve_load.py [--events 500] [--tasks 40] [--senders 5,20,50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.integration.labelstudio_server import TOKEN, free_port, running  # noqa: E402

SECRET = "load-test-secret"
FOOTBALL = ROOT / "examples" / "football-signals"


class Floor(BaseHTTPRequestHandler):
    """Answers 202 at once, after reading the body."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class FloorServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


def burst(port: int, project: int, tasks: list[int], senders: int, events: int) -> dict[str, Any]:
    """`events` webhooks from `senders` threads; latencies and outcomes."""
    latencies: list[float] = []
    outcomes: list[str] = []
    lock = threading.Lock()
    each = [events // senders + (1 if i < events % senders else 0) for i in range(senders)]

    def send(sender: int) -> None:
        for n in range(each[sender]):
            task = tasks[(sender * 7 + n) % len(tasks)]
            body = json.dumps({"action": "ANNOTATION_UPDATED", "project": {"id": project}, "task": {"id": task}})
            began = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", "/", body, {"X-Taxospec-Secret": SECRET, "Content-Type": "application/json"})
                status = connection.getresponse().status
                connection.close()
                outcome = "accepted" if 200 <= status < 300 else f"refused {status}"
            except OSError as exc:
                outcome = f"refused {type(exc).__name__}"
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                outcomes.append(outcome)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "senders": senders,
        "sent": len(outcomes),
        "accepted": outcomes.count("accepted"),
        "refused": len(outcomes) - outcomes.count("accepted"),
        "refusals": sorted({o for o in outcomes if o != "accepted"}),
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_ms": 1000 * ordered[-1],
        "over_1s": sum(t > 1.0 for t in ordered),
        "rate": len(outcomes) / wall,
    }


def status(port: int) -> dict[str, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/")
    data: dict[str, int] = json.loads(connection.getresponse().read())
    connection.close()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="webhooks per number of senders")
    parser.add_argument("--tasks", type=int, default=40, help="tasks in the project the events name")
    parser.add_argument("--senders", default="5,20,50")
    parser.add_argument("--drain-timeout", type=float, default=600)
    options = parser.parse_args()
    levels = [int(n) for n in options.senders.split(",")]
    with tempfile.TemporaryDirectory(prefix="taxospec-load-") as folder, running(_made(Path(folder) / "ls")) as url:
        project, tasks = _project(url, options.tasks)
        floor = FloorServer(("127.0.0.1", 0), Floor)
        threading.Thread(target=floor.serve_forever, daemon=True).start()
        port = free_port()
        serve = _serve(url, project, port, Path(folder))
        try:
            rows = []
            for senders in levels:
                base = burst(floor.server_port, project, tasks, senders, options.events)
                before = status(port)
                ours = burst(port, project, tasks, senders, options.events)
                rows.append((base, ours, _drain(port, before, ours, options.drain_timeout)))
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=60)
            floor.shutdown()
    _report(rows)


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _project(url: str, count: int) -> tuple[int, list[int]]:
    from label_studio_sdk import LabelStudio

    env = {**os.environ, "LABEL_STUDIO_API_KEY": TOKEN}
    pushed = subprocess.run(
        [sys.executable, "-m", "taxospec", "push", str(FOOTBALL / "spec.yaml"), "--url", url, "--title", "load"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    project = int(pushed.stdout.split("project ")[1].split(":")[0])
    export = json.loads((FOOTBALL / "export.json").read_text())[:count]
    request = [{"data": t["data"], "annotations": [{"result": t["annotations"][0]["result"]}]} for t in export]
    client = LabelStudio(base_url=url, api_key=TOKEN)
    imported = client.projects.import_tasks(id=project, request=request, return_task_ids=True)
    return project, list(imported.task_ids or [])


def _serve(url: str, project: int, port: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LABEL_STUDIO_API_KEY": TOKEN, "TAXOSPEC_WEBHOOK_SECRET": SECRET}
    command = [sys.executable, "-m", "taxospec", "serve", str(FOOTBALL / "spec.yaml"), "--ls-url", url]
    command += ["--project", str(project), "--port", str(port), "--state-dir", str(folder / "state")]
    process = subprocess.Popen(command, env=env, stderr=(folder / "serve.log").open("wb"))
    for _ in range(300):
        try:
            status(port)
            return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"taxospec serve did not start:\n{(folder / 'serve.log').read_text()[-3000:]}")


def _drain(port: int, before: dict[str, int], ours: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Wait until every accepted event is checked; what the store says."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        now = status(port)
        if now["pending"] == 0:
            break
        time.sleep(0.2)
    recorded = now.get("events", 0) - before.get("events", 0)
    return {
        "lost": ours["accepted"] - recorded,
        "pending": now["pending"],
        "drain_s": time.perf_counter() - began,
        "checked": now.get("checked", 0) - before.get("checked", 0),
        "coalesced": now.get("coalesced", 0) - before.get("coalesced", 0),
    }


def _report(rows: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]) -> None:
    print(
        f"\n{'senders':>7} {'server':<15} {'sent':>5} {'accepted':>8} {'refused':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'>1 s':>5} {'req/s':>6} {'lost':>5} {'checks':>6} {'drain s':>7}"
    )
    for base, ours, drained in rows:
        for name, row in (("floor", base), ("taxospec serve", ours)):
            tail = (
                f"{drained['lost']:>5} {drained['checked']:>6} {drained['drain_s']:>7.1f}"
                if name != "floor"
                else f"{'':>5} {'':>6} {'':>7}"
            )
            print(
                f"{row['senders']:>7} {name:<15} {row['sent']:>5} {row['accepted']:>8} {row['refused']:>7} "
                f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['max_ms']:>7.1f} {row['over_1s']:>5} "
                f"{row['rate']:>6.0f} {tail}"
            )
            if row["refusals"]:
                print(f"{'':>7} refusals: {', '.join(row['refusals'])}")
        if drained["pending"]:
            print(f"{'':>7} {drained['pending']} job(s) still waiting after the drain timeout")


if __name__ == "__main__":
    main()
