"""Talk to a live Label Studio through label-studio-sdk: connect, push a spec's config, pull an export.

Every failure a user can cause (a server that is down, a refused token, a missing project, a change that
would orphan annotations) becomes a `LabelStudioError` with a clear message; the token is never printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxospec.errors import LabelStudioError, TaxospecError
from taxospec.output import write_bytes_atomic
from taxospec.plugins.labelstudio.config import parse_label_config
from taxospec.plugins.labelstudio.generate import instructions, label_config, validate_config
from taxospec.spec.model import Spec

TOKEN_VARIABLE = "LABEL_STUDIO_API_KEY"


@dataclass(frozen=True)
class PushResult:
    """What `push` did."""

    project: int
    created: bool


def connect(url: str, api_key: str | None = None, *, timeout: float = 30.0) -> Any:
    """A label-studio-sdk client for `url`, checked with one request; the token comes from `api_key` or
    `LABEL_STUDIO_API_KEY` (a legacy token or a personal access token)."""
    from label_studio_sdk import LabelStudio

    token = api_key or os.environ.get(TOKEN_VARIABLE)
    if not token:
        raise LabelStudioError(f"no Label Studio token: pass --api-key or set {TOKEN_VARIABLE}")
    client = LabelStudio(base_url=url.rstrip("/"), api_key=token, timeout=timeout)  # type: ignore[no-untyped-call]
    for delay in (*RETRY_DELAYS, None):
        try:
            client.projects.list(page_size=1)
            return client
        except Exception as exc:  # the SDK and httpx raise many kinds
            error = explain(exc, url)
            if delay is None or not _retryable(exc):
                raise error from None
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


RETRY_DELAYS = (0.5, 1.5)
"""Waits before the second and third try of a request that a retry can help (no connection, 5xx)."""


def _retryable(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None)
    return int(status) >= 500 if status is not None else unreachable(exc)


def unreachable(exc: Exception) -> bool:
    """Whether `exc` says the server could not be reached at all (no connection, a timeout)."""
    name = type(exc).__name__
    return "Connect" in name or "Timeout" in name or isinstance(exc, OSError)


@contextmanager
def requests_about(project: int | None) -> Iterator[None]:
    """Turn any SDK or HTTP failure inside the block into a clear `LabelStudioError` about `project`."""
    try:
        yield
    except LabelStudioError:
        raise
    except Exception as exc:  # the SDK and httpx raise many kinds
        raise explain(exc, "", project) from None


def project_config(client: Any, project: int) -> str:
    """The labeling config (XML) of a live project."""
    with requests_about(project):
        return str(client.projects.get(id=project).label_config or "")


def push(
    client: Any, spec: Spec, *, project: int | None = None, title: str | None = None, force: bool = False
) -> PushResult:
    """Create or update the project's labeling config and instructions from `spec`.

    An existing project's annotations are checked first: a change that removes a control or a label they
    use is refused, naming them, unless `force` (Label Studio itself still refuses removed controls).
    """
    xml = label_config(spec)
    validate_config(xml)
    text = instructions(spec)
    title = title or spec.name
    if project is None:
        project = _project_titled(client, title)
    with requests_about(project):
        if project is None:
            created = client.projects.create(
                title=title, label_config=xml, expert_instruction=text, show_instruction=True
            )
            return PushResult(int(created.id), True)
        current = client.projects.get(id=project)
        if not force:
            _refuse_orphans(client, project, getattr(current, "label_config", "") or "", xml)
        client.projects.update(id=project, label_config=xml, expert_instruction=text, show_instruction=True)
        return PushResult(int(project), False)


def _project_titled(client: Any, title: str) -> int | None:
    """The one project titled `title` (None when there is none); an error naming them when several are."""
    with requests_about(None):
        found = sorted(int(p.id) for p in client.projects.list(title=title) if getattr(p, "title", None) == title)
    if len(found) > 1:
        ids = ", ".join(map(str, found))
        raise LabelStudioError(
            f"{len(found)} projects are titled {title!r} (ids {ids}): say which with --project ID, or give a "
            "--title no project has"
        )
    return found[0] if found else None


def _refuse_orphans(client: Any, project: int, old_xml: str, new_xml: str) -> None:
    """Refuse when annotations use controls or labels that the old config has and the new one drops."""
    new = parse_label_config(new_xml)
    try:
        old = parse_label_config(old_xml)
    except TaxospecError:
        return  # no readable old config: nothing it offered can be dropped
    used_controls: dict[str, int] = {}
    used_labels: dict[tuple[str, str], int] = {}
    for task in client.tasks.list(project=project, fields="all"):
        for annotation in getattr(task, "annotations", None) or []:
            results = annotation.get("result") if isinstance(annotation, dict) else getattr(annotation, "result", [])
            for result in results or []:
                if not isinstance(result, dict) or "from_name" not in result:
                    continue
                name = result["from_name"]
                used_controls[name] = used_controls.get(name, 0) + 1
                value = result.get("value") or {}
                for key in ("choices", "labels", "rectanglelabels", "timelinelabels", "polygonlabels"):
                    for label in value.get(key, []) if isinstance(value.get(key), list) else []:
                        used_labels[(name, str(label))] = used_labels.get((name, str(label)), 0) + 1
    lost = [
        f"control {name!r} ({n} result(s))"
        for name, n in sorted(used_controls.items())
        if name in old.controls and name not in new.controls
    ]
    for (name, label), n in sorted(used_labels.items()):
        before, after = old.controls.get(name), new.controls.get(name)
        if before is None or after is None:
            continue
        if label in before.values and label not in after.values:
            lost.append(f"{label!r} of {name!r} ({n} result(s))")
    if lost:
        raise LabelStudioError(
            f"the new config would orphan existing annotations of project {project}: {', '.join(lost)}; "
            "keep them in the spec, or push with --force"
        )


def pull(client: Any, project: int, output: Path, *, interpolate: bool = False, timeout: float = 300.0) -> int:
    """Take a snapshot export (JSON, predictions and annotators expanded, video keyframes interpolated when
    asked) and write it atomically to `output`; returns its size in bytes."""
    options = {
        "drafts": {"only_id": False},
        "predictions": {"only_id": False},
        "annotations__completed_by": {"only_id": False},
        "interpolate_key_frames": interpolate,
    }
    with requests_about(project):
        export = client.projects.exports.create(id=project, serialization_options=options)
        waited = 0.0
        while getattr(export, "status", "completed") not in ("completed", "failed"):
            if waited > timeout:
                raise LabelStudioError(f"the export of project {project} did not finish within {timeout:g} s")
            time.sleep(0.5)
            waited += 0.5
            export = client.projects.exports.get(id=project, export_pk=export.id)
        if export.status == "failed":
            raise LabelStudioError(f"Label Studio failed to export project {project}")
        data = b"".join(client.projects.exports.download(id=project, export_pk=export.id, export_type="JSON"))
    write_bytes_atomic(output, data)
    return len(data)


def not_label_studio(url: str) -> str | None:
    """Why the server at `url` is not Label Studio (None when it looks like one): asked without the token, at
    the version endpoint every Label Studio answers."""
    import json
    import urllib.error
    import urllib.request

    base = url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/api/version/", timeout=5) as answer:
            server, body = answer.headers.get("Server", ""), answer.read(65536)
    except urllib.error.HTTPError as error:
        server, body = error.headers.get("Server", ""), error.read(65536)
    except (OSError, ValueError):
        return None  # unreachable or odd: the caller's own message says so
    try:
        version = json.loads(body)
    except ValueError:
        version = None
    if server.startswith("taxospec") or (isinstance(version, dict) and version.get("model_class") == "taxospec"):
        return f"{base} is a taxospec server (taxospec serve), not Label Studio: give Label Studio's own URL"
    if isinstance(version, dict) and ("label-studio-os-package" in version or "release" in version):
        return None
    return f"{base} does not look like Label Studio: it has no /api/version/ (is the URL right?)"


def explain(exc: Exception, url: str, project: int | None = None) -> LabelStudioError:
    """A clear `LabelStudioError` for an SDK or HTTP failure (the token never appears in it)."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    name = type(exc).__name__
    if status in (401, 403) or (status == 404 and not project):
        unlike = not_label_studio(url) if url else None
        if unlike is not None:
            return LabelStudioError(unlike)
    if status in (401, 403):
        return LabelStudioError(f"Label Studio refused the token ({status}): check --api-key or {TOKEN_VARIABLE}")
    if status == 404:
        return LabelStudioError(f"Label Studio has no project {project}" if project else f"not found ({status})")
    if status is not None:
        detail = body if isinstance(body, (str, dict)) else ""
        return LabelStudioError(f"Label Studio answered {status}: {detail}")
    if unreachable(exc):
        where = f" at {url}" if url else ""
        return LabelStudioError(f"cannot reach Label Studio{where} ({name}): is it running, is the URL right?")
    return LabelStudioError(f"Label Studio request failed: {name}: {exc}")
