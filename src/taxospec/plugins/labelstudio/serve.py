"""Start and stop `taxospec serve`: the HTTP front (`receiver`), the workers and the catch-up (`service`),
the webhook registration, and logs that never carry a secret."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from taxospec.errors import TaxospecError
from taxospec.plugins.labelstudio.events import ACTIONS
from taxospec.plugins.labelstudio.receiver import SECRET_HEADER, Server, make_handler
from taxospec.plugins.labelstudio.service import Service, log


def start(service: Service, secret: str, host: str, port: int, workers: int) -> tuple[Server, list[threading.Thread]]:
    """Bind the server, start the workers, and queue what changed while the receiver was down; the caller
    runs `serve_forever`, then `stop`."""
    try:
        server = Server((host, port), make_handler(service, secret))
    except OSError as exc:
        raise TaxospecError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    service.store.release_claims()  # claimed by a receiver that stopped before it finished them
    threads = [
        threading.Thread(target=service.work, name=f"taxospec-check-{n + 1}", daemon=True) for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    threading.Thread(target=_catch_up, args=(service,), name="taxospec-catch-up", daemon=True).start()
    return server, threads


def stop(service: Service, server: Server, workers: list[threading.Thread], grace: float = 20.0) -> None:
    """Stop taking requests and let the workers finish the task each is checking (at most `grace` seconds;
    a job cut off stays in the queue and is checked at the next start)."""
    server.server_close()
    service.stopping.set()
    with service.store.changed:
        service.store.changed.notify_all()
    deadline = time.monotonic() + grace
    for thread in workers:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _catch_up(service: Service) -> None:
    try:
        queued = service.catch_up()
    except Exception as exc:  # Label Studio may be down at start: the next start catches up
        from taxospec.plugins.labelstudio.client import explain

        log.warning("catching up on changes made while stopped failed: %s", explain(exc, service.url, service.project))
        return
    if queued:
        log.warning("catching up: %s task(s) changed while the receiver was stopped", queued)


def register(client: Any, project: int, url: str, secret: str) -> tuple[int, bool]:
    """Point the project's webhook at `url` with the secret header: the one already there for `url` is
    updated (so restarting with `--register` never adds a second), else one is created. Returns its id
    and whether it was created."""
    from taxospec.plugins.labelstudio.client import requests_about

    settings: dict[str, Any] = {
        "url": url,
        "project": project,
        "actions": list(ACTIONS),
        "send_for_all_actions": False,
        "send_payload": True,
        "headers": {SECRET_HEADER: secret},
        "is_active": True,
    }
    with requests_about(project):
        mine = _webhooks_at(client, project, url)
        if mine:
            for extra in mine[1:]:
                client.webhooks.delete(id=int(extra.id))
            client.webhooks.update(id=int(mine[0].id), **{k: v for k, v in settings.items() if k != "project"})
            return int(mine[0].id), False
        return int(client.webhooks.create(**settings).id), True


def unregister(client: Any, project: int, url: str) -> int:
    """Remove the project's webhooks pointing at `url`; returns how many."""
    from taxospec.plugins.labelstudio.client import requests_about

    with requests_about(project):
        mine = _webhooks_at(client, project, url)
        for hook in mine:
            client.webhooks.delete(id=int(hook.id))
    return len(mine)


def _webhooks_at(client: Any, project: int, url: str) -> list[Any]:
    wanted = url.rstrip("/")
    hooks = [h for h in client.webhooks.list(project=str(project)) if str(getattr(h, "url", "")).rstrip("/") == wanted]
    return sorted(hooks, key=lambda h: int(h.id))


class Redacting(logging.Filter):
    """Blanks secrets in log records: the given ones (token, webhook secret), and any cookie, token or
    authorization header an error message may quote."""

    _PATTERNS = (
        re.compile(r"(?i)((?:sessionid|csrftoken|set-cookie|cookie)['\"]?\s*[:=]\s*['\"]?)[^;'\"\s,}]+"),
        re.compile(r"(?i)((?:authorization|x-taxospec-secret)['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+"),
        re.compile(r"(?i)((?:token|bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}"),
        re.compile(r"(?i)((?:access_token|api_key|refresh)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
    )

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with every secret blanked."""
        text = record.getMessage()
        for secret in self.secrets:
            text = text.replace(secret, "***")
        for pattern in self._PATTERNS:
            text = pattern.sub(r"\1***", text)
        record.msg, record.args = text, None
        return True
