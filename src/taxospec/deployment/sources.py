"""Where a deployment sample's or a pool's pictures are: a folder, a glob, or a Label Studio export's tasks.

Paths are relative to the spec (a sample named in the spec) or to the working directory (given on the
command line); nothing is read outside the folder a sample names, and only files of picture types are
listed.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from taxospec.dataset import Dataset
from taxospec.errors import OptionError
from taxospec.media.sources import MediaSources
from taxospec.spec.deployment import DeploymentSample, DeploymentSpec

PICTURE_TYPES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""File types a folder or glob sample takes (others beside them are left alone)."""
WILDCARDS = frozenset("*?[")
T = TypeVar("T")


@dataclass(frozen=True)
class SampleMedia:
    """The pictures of one sample: URIs as `media` resolves them, and the task ids they came from (an
    export's; a folder's are numbered from 1)."""

    name: str
    uris: list[str]
    task_ids: list[int]
    media: MediaSources
    listed: int
    """How many pictures the sample has before `max_examples` is applied."""
    shown: list[str] | None = None
    """Each picture as a person finds it (a folder's: its path from the working directory); None: the
    URIs themselves (an export's)."""

    @property
    def folder(self) -> str | None:
        """The folder a folder or glob sample's pictures are under (as `shown` gives paths); None for an
        export's."""
        root = self.media.media_root
        return _shown(root) if self.shown is not None and root is not None else None

    @property
    def tasks(self) -> bool:
        """Whether the pictures are tasks of a labeling project (their ids mean something)."""
        return self.shown is None


def folder_media(name: str, where: str, base: Path, max_examples: int) -> SampleMedia:
    """The pictures of a folder (recursively) or glob `where`, relative to `base`; at most `max_examples`
    of them, evenly spaced in name order. `OptionError` when it names nothing."""
    pattern = where if os.path.isabs(where) else str(base / where)
    if any(c in WILDCARDS for c in where):
        parts = Path(pattern).parts
        fixed = next(i for i, part in enumerate(parts) if any(c in WILDCARDS for c in part))
        root = Path(*parts[:fixed]) if fixed else Path(".")
        files = [Path(p) for p in glob.glob(pattern, recursive=True)]
    else:
        root = Path(pattern)
        if not root.is_dir():
            raise OptionError(f"{name}: {where} is not a folder (or a glob)")
        files = [p for p in root.rglob("*")]
    pictures = sorted(
        p.relative_to(root).as_posix() for p in files if p.is_file() and p.suffix.lower() in PICTURE_TYPES
    )
    if not pictures:
        raise OptionError(f"{name}: no picture ({', '.join(sorted(PICTURE_TYPES))}) in {where}")
    chosen = spaced(pictures, max_examples)
    shown = [_shown(root / uri) for uri in chosen]
    ids = list(range(1, len(chosen) + 1))
    return SampleMedia(name, chosen, ids, MediaSources(media_root=root), len(pictures), shown)


def _shown(path: Path) -> str:
    """`path` from the working directory when it is under it, else absolute."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def spaced(items: list[T], most: int) -> list[T]:
    """At most `most` of `items`, evenly spaced (all of them when there are no more)."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


ReadExport = Callable[[Path], Dataset]
"""Reads an export against the run's spec (`taxospec.api.read_export`)."""
PullProject = Callable[[str, int, Path], Path]
"""Exports a live project (URL, project id) into a folder and returns the export's path."""


def export_media(
    name: str,
    export: Path,
    read: ReadExport,
    media: MediaSources | None,
    max_examples: int,
    unlabeled: bool = False,
) -> SampleMedia:
    """The pictures of a Label Studio export's tasks (only those nobody annotated, when `unlabeled`), found
    where `media` says (default: beside the export)."""
    if not export.is_file():
        raise OptionError(f"{name}: {export} is not a file")
    dataset = read(export)
    items = dataset.items
    pairs = [
        (int(task_id), uri)
        for task_id, uri, done in zip(items.task_id, items.media, items.n_submitted, strict=True)
        if isinstance(uri, str) and uri and not (unlabeled and done)
    ]
    if not pairs:
        which = "unannotated task" if unlabeled else "task"
        raise OptionError(f"{name}: no {which} of {export} names a picture")
    chosen = spaced(pairs, max_examples)
    sources = media if media is not None and media.any else MediaSources(export_dir=export.parent)
    return SampleMedia(name, [u for _, u in chosen], [t for t, _ in chosen], sources, len(pairs))


def samples_of(
    settings: DeploymentSpec,
    spec_dir: Path,
    media: MediaSources | None,
    read: ReadExport,
    pull: PullProject,
) -> list[SampleMedia]:
    """The pictures of every sample of `settings` (paths relative to `spec_dir`; a live project exported
    with `pull` into a temporary folder, removed once read)."""
    out = []
    for sample in settings.samples:
        label = f"deployment sample {sample.name!r}"
        if sample.path is not None:
            found = folder_media(label, sample.path, spec_dir, sample.max_examples)
        elif sample.export is not None:
            export = Path(sample.export) if os.path.isabs(sample.export) else spec_dir / sample.export
            found = export_media(label, export, read, media, sample.max_examples)
        else:
            assert sample.project is not None
            url = sample.url or os.environ.get("LABEL_STUDIO_URL")
            if not url:
                raise OptionError(f"{label} is project {sample.project}: give its `url` (or set LABEL_STUDIO_URL)")
            with tempfile.TemporaryDirectory(prefix="taxospec-deployment-") as folder:
                export = pull(url, sample.project, Path(folder))
                found = export_media(label, export, read, media, sample.max_examples)
        out.append(replace(found, name=sample.name))
    return out


def pool_media(where: str, read: ReadExport, media: MediaSources | None, max_examples: int) -> SampleMedia:
    """The unlabeled pool: a folder or glob of pictures, or the unannotated tasks of a Label Studio export
    (`.json` or `.json.gz`), relative to the working directory."""
    path = Path(where)
    if path.is_file() and path.name.lower().endswith((".json", ".json.gz")):
        found = export_media("--pool", path, read, media, max_examples, unlabeled=True)
    else:
        found = folder_media("--pool", where, Path.cwd(), max_examples)
    return replace(found, name="pool")


def with_folders(settings: DeploymentSpec | None, folders: list[str]) -> DeploymentSpec | None:
    """`settings` with a sample for each of `folders` (given on the command line: absolute, named after the
    folder); None when there is neither."""
    if not folders:
        return settings
    taken = {s.name for s in settings.samples} if settings is not None else set()
    added = []
    for folder in folders:
        name = _free_name(Path(folder).name or "deployment", taken)
        taken.add(name)
        added.append(DeploymentSample(name=name, path=os.path.abspath(folder)))
    if settings is None:
        return DeploymentSpec(samples=tuple(added))
    return settings.model_copy(update={"samples": (*settings.samples, *added)})


def _free_name(wanted: str, taken: set[str]) -> str:
    base = (
        "".join(c if (c.isascii() and c.isalnum()) or c in "_.-" else "-" for c in wanted).strip("-._")[:80]
        or "deployment"
    )
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
