"""The `taxospec` command line: a click group whose commands come from plugins, and its one error boundary.

Commands are thin: they parse options, call the library, and render. Every error taxospec raises on
purpose (`TaxospecError`) becomes a message on stderr and its exit code here; anything else is a bug and
is reported as one (exit 3), with the traceback only when TAXOSPEC_DEBUG=1.
"""

from __future__ import annotations

import errno
import os
import traceback
from typing import Any, NoReturn

import click

from taxospec.__about__ import __version__
from taxospec.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, TaxospecError
from taxospec.terminal import prepare_streams, silence_stdout

EPILOG = "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input or usage, 3 internal error."


class TaxospecGroup(click.Group):
    """The command group: commands registered by plugins on first use, errors turned into exit codes."""

    _loaded = False

    def _load_plugin_commands(self) -> None:
        if not self._loaded:
            self._loaded = True
            from taxospec.plugins.manager import get_plugin_manager

            get_plugin_manager().hook.taxospec_register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, built-in and from plugins."""
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called `cmd_name`, loading plugin commands first."""
        self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; the error boundary of the whole CLI."""
        prepare_streams()
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except TaxospecError as exc:
            click.echo(f"taxospec: error: {exc.render()}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("taxospec: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `taxospec describe SPEC | head`: the reader went away
            silence_stdout()
            click.echo("taxospec: error: the output was cut off: the reading end of the pipe closed", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except OSError as exc:
            if exc.errno not in _NO_ROOM:
                _report_bug(ctx, exc)
            where = f": {exc.filename}" if exc.filename else " (writing the output)"
            click.echo(f"taxospec: error: {exc.strerror}{where}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            _report_bug(ctx, exc)


_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EIO}
"""Errors of the machine, not of taxospec: a full disk (`> /dev/full`), a quota, a failing device."""


def _report_bug(ctx: click.Context, exc: BaseException) -> NoReturn:
    if os.environ.get("TAXOSPEC_DEBUG"):
        traceback.print_exception(exc)
    click.echo(
        f"taxospec: internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in taxospec; please report it with the command you ran "
        "(set TAXOSPEC_DEBUG=1 to see the traceback).",
        err=True,
    )
    ctx.exit(EXIT_INTERNAL)


@click.group(cls=TaxospecGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taxospec")
def cli() -> None:
    """Make vision fine-tuning datasets right: one YAML taxonomy spec, checked against Label Studio data.

    Start with `taxospec init` to write a starter spec and `taxospec lint` to check it.
    """


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="taxospec")
