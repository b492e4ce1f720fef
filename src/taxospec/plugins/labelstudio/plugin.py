"""Registers the Label Studio export reader (JSON and JSON_MIN), which also links findings to tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taxospec.dataset import Dataset
from taxospec.errors import ConfigError, ExportError
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import ExportReader
from taxospec.plugins.labelstudio.config import LabelConfig, load_label_config
from taxospec.plugins.labelstudio.formats import sniff_export
from taxospec.plugins.labelstudio.reader import read_label_studio_export
from taxospec.spec.model import Spec


@dataclass(frozen=True)
class LabelStudioJsonReader:
    """Label Studio's JSON export (Export button or snapshot API) and JSON_MIN, plain or gzip-compressed."""

    name: str = "label-studio-json"

    def sniff(self, path: Path) -> str | None:
        """None for a Label Studio JSON or JSON_MIN export, else why not."""
        try:
            sniff_export(path)
        except ExportError as exc:
            return str(exc)
        return None

    def read(self, path: Path, spec: Spec, config: object | None) -> Dataset:
        """Read the export against `spec`, with the project's labeling config (a path to its XML, or parsed)."""
        if isinstance(config, (str, Path)):
            config = load_label_config(config)
        if config is not None and not isinstance(config, LabelConfig):
            raise ConfigError(f"a Label Studio config is a path to the project's XML, not a {type(config).__name__}")
        return read_label_studio_export(path, spec, config)

    def task_link(self, base_url: str, project: int, task_id: int, annotation_id: int | None) -> str | None:
        """The data manager URL that opens a task (and annotation), when its project is known."""
        if project < 0 or task_id < 0:
            return None
        link = f"{base_url.rstrip('/')}/projects/{project}/data?task={task_id}"
        return link + (f"&annotation={annotation_id}" if annotation_id is not None else "")


@hookimpl
def taxospec_export_readers() -> list[ExportReader]:
    """The built-in Label Studio reader."""
    return [LabelStudioJsonReader()]
