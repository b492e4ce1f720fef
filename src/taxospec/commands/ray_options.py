"""The options that send the embedding stage to a Ray cluster, shared by `taxospec embed` and
`taxospec check`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from taxospec.embeddings.ray_run import RaySettings

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--ray",
        "address",
        metavar="ADDRESS",
        help="Embed on a Ray cluster: host:port of its head, ray://host:port (Ray client), auto, or local "
        "(start one here). The cache folder (--cache-dir) must be one every node sees.",
    ),
    click.option(
        "--encoders",
        type=click.IntRange(min=1, max=4096),
        default=1,
        show_default=True,
        help="With --ray: encoder actors.",
    ),
    click.option(
        "--gpus-per-encoder",
        type=click.FloatRange(min=0, max=8),
        default=0.0,
        show_default=True,
        help="With --ray: GPUs each encoder actor takes (0: encode on CPUs).",
    ),
]


def ray_options(command: F) -> F:
    """Add --ray, --encoders and --gpus-per-encoder to a command (which also has the embedding options, for
    --batch-size); it receives them as one `ray: RaySettings | None` argument (None without --ray)."""

    @functools.wraps(command)
    def gathered(*args: Any, **kwargs: Any) -> Any:
        address, encoders, gpus = kwargs.pop("address"), kwargs.pop("encoders"), kwargs.pop("gpus_per_encoder")
        return command(*args, ray=_settings(address, encoders, gpus, kwargs["embedding"].batch_size), **kwargs)

    for option in reversed(_OPTIONS):
        gathered = option(gathered)
    return gathered  # type: ignore[return-value]


def _settings(address: str | None, encoders: int, gpus: float, batch_size: int) -> RaySettings | None:
    """The settings, or None without an address (--encoders and --gpus-per-encoder alone are an error)."""
    if address is None:
        if encoders != 1 or gpus != 0:
            raise click.UsageError("--encoders and --gpus-per-encoder need --ray ADDRESS")
        return None
    from taxospec.embeddings.ray_run import RaySettings

    return RaySettings(address, encoders, gpus, batch_size)


class _ToStderr(logging.Handler):
    """Each record's message on stderr, as click prints."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


def say_how_ray_runs_went() -> None:
    """Print the one-line summary of each Ray embedding run (`ray_run`'s INFO records) on stderr, once."""
    log = logging.getLogger("taxospec.embeddings.ray_run")
    if not any(isinstance(handler, _ToStderr) for handler in log.handlers):
        log.addHandler(_ToStderr())
    log.setLevel(logging.INFO)
