"""Registers the Label Studio export reader (JSON and JSON_MIN)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taxospec.dataset import Dataset
from taxospec.errors import ExportError
from taxospec.plugins.hookspecs import hookimpl
from taxospec.plugins.interfaces import ExportReader
from taxospec.plugins.labelstudio.config import LabelConfig
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

    def read(self, path: Path, spec: Spec, config: LabelConfig | None) -> Dataset:
        """Read the export against `spec`."""
        return read_label_studio_export(path, spec, config)


@hookimpl
def taxospec_export_readers() -> list[ExportReader]:
    """The built-in Label Studio reader."""
    return [LabelStudioJsonReader()]
