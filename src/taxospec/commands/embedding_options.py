"""The options that say where media is and which model embeds it, shared by `taxospec check` and
`taxospec todo` (whose embedding gaps need the same embeddings)."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from taxospec.media.sources import MediaRoot, MediaSources
    from taxospec.spec.model import Spec

F = TypeVar("F", bound=Callable[..., Any])

FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
"""A media root: a folder that exists (a mistyped one would make every file `media-missing`)."""


def _media_map(value: str) -> tuple[str, Path]:
    """`PREFIX=FOLDER` as (prefix, folder); the folder must exist."""
    prefix, equals, folder = value.partition("=")
    if not equals or not prefix or not folder:
        raise click.BadParameter(f"{value!r}: give PREFIX=FOLDER, e.g. s3://bucket/=/mnt/bucket")
    path = Path(folder)
    if not path.is_dir():
        raise click.BadParameter(f"{value!r}: {folder} is not a folder")
    return prefix, path


def _cache_location(value: str | None) -> Path | str | None:
    """--cache-dir: a URI (scheme://…) stays a string, anything else is a folder."""
    if value is None or "://" in value:
        return value
    return Path(value)


def embedding_options(command: F) -> F:
    """Add the media and model options (--embeddings, --media-root, --allow-http, --media-map, --cache-dir,
    --model, --pretrained, --architecture-file, --device, --batch-size) to a command, which receives them,
    with the folders of the resolvers' roots (`with_root_options`), as one `embedding: EmbeddingChoices`
    argument."""

    @functools.wraps(command)
    def gathered(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _NAMES if name != "roots"}
        params = click.get_current_context().command.params
        roots = {p.root: kwargs.pop(p.name) for p in params if isinstance(p, RootOption) and p.name in kwargs}
        return command(*args, embedding=EmbeddingChoices(**given, roots=roots), **kwargs)

    for option in reversed(_OPTIONS):
        gathered = option(gathered)
    return gathered  # type: ignore[return-value]


@dataclass(frozen=True)
class EmbeddingChoices:
    """What the media and model options said."""

    embeddings: Path | None
    media_root: Path | None
    allow_http: tuple[str, ...]
    media_map: tuple[tuple[str, Path], ...]
    cache_dir: Path | str | None
    """A folder, or the URI of a remote cache (`embeddings.remote_cache`)."""
    model: str | None
    pretrained: str | None
    architecture_file: Path | None
    device: str
    batch_size: int
    roots: dict[str, Path | None]
    """The folder each resolver root's option gave (`ls-document-root` → a folder or None)."""

    def sources(self, export_dir: Path) -> MediaSources:
        """Where media may be read from (plain paths relative to `export_dir` besides the roots given)."""
        from taxospec.media.sources import MediaSources

        return MediaSources(
            export_dir=export_dir,
            media_root=self.media_root,
            roots={name: folder for name, folder in self.roots.items() if folder is not None},
            allow_http=self.allow_http,
            mapped=self.media_map,
        )

    def spec_with_model(self, spec: Spec) -> Spec:
        """`spec` with the model the command line names instead of its `embedding` section's (see
        `with_model`)."""
        return with_model(spec, self.model, self.pretrained, self.architecture_file)


_NAMES = [field.name for field in fields(EmbeddingChoices)]


_OPTIONS = [
    click.option(
        "--embeddings",
        "embeddings",
        type=click.Path(path_type=Path),
        help="Precomputed embeddings (.npz/.npy/.parquet keyed by task_id and region_id).",
    ),
    click.option("--media-root", type=FOLDER, help="Folder that plain media paths are under."),
    click.option("--allow-http", multiple=True, metavar="HOST", help="Allow downloading media from HOST ('*': any)."),
    click.option(
        "--media-map",
        multiple=True,
        metavar="PREFIX=FOLDER",
        callback=lambda ctx, param, values: tuple(_media_map(value) for value in values),
        help="Read URIs starting with PREFIX from FOLDER (repeatable): cloud storage or a CDN mirrored on disk, "
        "e.g. s3://bucket/=/mnt/bucket.",
    ),
    click.option(
        "--cache-dir",
        callback=lambda _ctx, _param, value: _cache_location(value),
        metavar="FOLDER|URI",
        help="Embedding cache folder (default ~/.cache/taxospec), or object storage: s3://bucket/prefix, "
        "gs://…, abfs://… (through pyarrow; mirrored in the default folder for the run).",
    ),
    click.option("--model", help="open_clip model for the embedding checks, instead of the spec's embedding.model."),
    click.option(
        "--pretrained",
        help="Its weights: an open_clip tag, a checkpoint file, or local-dir:FOLDER (instead of embedding.pretrained).",
    ),
    click.option(
        "--architecture-file",
        type=click.Path(path_type=Path),
        help="An open_clip model config (JSON) for a model open_clip does not ship (instead of the spec's).",
    ),
    click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default="auto",
        show_default=True,
        help="Where the model runs (auto: a CUDA GPU when torch sees one, in fp16).",
    ),
    click.option(
        "--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Pictures per encoder batch."
    ),
]


class RootOption(click.Option):
    """`--NAME FOLDER` for a resolver's `MediaRoot`."""

    def __init__(self, root: MediaRoot) -> None:
        super().__init__([f"--{root.name}"], type=FOLDER, help=root.help)
        self.root = root.name


def with_root_options(command: click.Command) -> click.Command:
    """A copy of `command` (built with `embedding_options`) with an option for each folder the registered
    resolvers read from (`--ls-document-root`, …), placed after `--media-root`."""
    from taxospec.plugins.registry import media_roots

    copied = copy.copy(command)
    names = [p.name for p in command.params]
    at = names.index("media_root") + 1 if "media_root" in names else len(names)
    copied.params = [*command.params[:at], *(RootOption(root) for root in media_roots()), *command.params[at:]]
    return copied


def with_model(spec: Spec, model: str | None, pretrained: str | None, architecture: Path | None) -> Spec:
    """`spec` with the model the command line names instead of its `embedding` section's. Paths given on
    the command line are relative to the current folder (the spec's own are relative to the spec)."""
    if model is None and pretrained is None and architecture is None:
        return spec
    from taxospec.embeddings.encoder import looks_like_path

    update: dict[str, str] = {}
    if model is not None:
        update["model"] = model
    if pretrained is not None:
        if pretrained.startswith("local-dir:"):
            pretrained = "local-dir:" + os.path.abspath(os.path.expanduser(pretrained[len("local-dir:") :]))
        elif looks_like_path(pretrained):
            pretrained = os.path.abspath(os.path.expanduser(pretrained))
        update["pretrained"] = pretrained
    if architecture is not None:
        update["architecture_file"] = os.path.abspath(os.path.expanduser(architecture))
    return spec.model_copy(update={"embedding": spec.embedding.model_copy(update=update)})
