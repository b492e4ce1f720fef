"""Tell a Label Studio JSON export from everything else, and say what the something else looks like."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from taxospec.errors import ExportError
from taxospec.plugins.labelstudio.jsonstream import iter_json, read_head

LS_JSON = "label-studio-json"
LS_JSON_MIN = "label-studio-json-min"

_MIN_META_KEYS = frozenset({"annotator", "annotation_id", "lead_time"})


def sniff_export(path: str | Path) -> str:
    """`LS_JSON` or `LS_JSON_MIN`, or an `ExportError` saying what the file looks like instead."""
    head = read_head(path)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ExportError(f"{path}: the export is empty")
    if b"\x00" in head[:4096] or _binary_share(head[:4096]) > 0.1:
        raise _not_ls(path, "a binary file")
    if stripped[:1] not in (b"[", b"{"):
        raise _not_ls(path, _describe_text(stripped))
    first = next(islice(iter_json(path), 1), None) if stripped[:1] == b"[" else None
    if stripped[:1] == b"{":
        return _sniff_object(path)
    if first is None:
        return LS_JSON  # an empty list: an export of a project without tasks
    return _sniff_element(path, first)


def _sniff_object(path: str | Path) -> str:
    value = next(iter_json(path))
    if isinstance(value, dict) and {"images", "categories"} <= value.keys():
        raise _not_ls(path, "a COCO file (images, annotations, categories)")
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        return LS_JSON
    keys = ", ".join(sorted(map(str, value))[:8]) if isinstance(value, dict) else type(value).__name__
    raise _not_ls(path, f"an unrelated JSON object (keys: {keys})")


def _sniff_element(path: str | Path, first: Any) -> str:
    if not isinstance(first, dict):
        raise _not_ls(path, f"a JSON list of {type(first).__name__ if first is not None else 'null'} values")
    if "data" in first or "annotations" in first or "completions" in first:
        return LS_JSON
    if "id" in first and (_MIN_META_KEYS & first.keys() or len(first) > 1):
        return LS_JSON_MIN
    keys = ", ".join(sorted(map(str, first))[:8])
    raise _not_ls(path, f"a JSON list of objects with keys {keys}")


def _not_ls(path: str | Path, looks_like: str) -> ExportError:
    return ExportError(
        f"{path}: this is not a Label Studio JSON export (looks like {looks_like}); "
        "export the project as JSON (or JSON_MIN) from Label Studio, or use `taxospec pull`"
    )


def _binary_share(data: bytes) -> float:
    if not data:
        return 0.0
    text_bytes = set(range(32, 127)) | {9, 10, 13} | set(range(128, 256))
    return sum(1 for b in data if b not in text_bytes) / len(data)


def _describe_text(head: bytes) -> str:
    first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    if "\t" in first_line:
        return "a TSV file"
    if "," in first_line:
        hint = " (Label Studio's CSV export)" if "annotation_id" in first_line or "annotator" in first_line else ""
        return f"a CSV file{hint}"
    if first_line.lstrip().startswith("<"):
        return "an XML or HTML file"
    if all(part.replace(".", "", 1).isdigit() for part in first_line.split()[:5]) and first_line.strip():
        return "a YOLO label file"
    return "plain text"
