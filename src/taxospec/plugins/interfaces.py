"""The protocols that plugin contributions implement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from taxospec.dataset import Dataset
    from taxospec.plugins.labelstudio.config import LabelConfig
    from taxospec.spec.model import Spec


class ExportReader(Protocol):
    """Reads one export format into a `Dataset`."""

    @property
    def name(self) -> str:
        """The reader's name, e.g. `label-studio-json`."""
        ...

    def sniff(self, path: Path) -> str | None:
        """None when this reader can read `path`; else what the file looks like to it, in words."""
        ...

    def read(self, path: Path, spec: Spec, config: LabelConfig | None) -> Dataset:
        """Read the export; problems inside it become dataset issues, an unreadable file an `ExportError`."""
        ...
