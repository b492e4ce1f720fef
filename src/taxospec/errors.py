"""The exceptions taxospec raises, and the exit codes the CLI maps them to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
"""Nothing at or above the failure threshold."""
EXIT_FINDINGS = 1
"""Findings (or lint errors) at or above the failure threshold."""
EXIT_BAD_INPUT = 2
"""Bad input or usage: a spec that does not load, an unreadable export, a wrong option."""
EXIT_INTERNAL = 3
"""A bug in taxospec itself; the message asks for a report."""


class TaxospecError(Exception):
    """Base class of every error taxospec raises on purpose; the CLI turns it into a message and exit 2."""

    exit_code = EXIT_BAD_INPUT

    def render(self) -> str:
        """The message as a person should read it (may span several lines)."""
        return str(self)


@dataclass(frozen=True)
class SourceProblem:
    """One problem found at a place in a text file (1-based line and column)."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class SpecError(TaxospecError):
    """A spec that cannot be loaded: every problem found, each with its location."""

    def __init__(self, problems: list[SourceProblem]) -> None:
        if not problems:
            raise ValueError("SpecError needs at least one problem")
        self.problems = sorted(problems, key=lambda p: (p.path, p.line, p.column, p.message))
        super().__init__(self.render())

    @classmethod
    def single(cls, path: str | Path, message: str, line: int = 1, column: int = 1) -> SpecError:
        """A SpecError with one problem."""
        return cls([SourceProblem(str(path), line, column, message)])

    def render(self) -> str:
        """Every problem on its own line, as `path:line:col: message`."""
        return "\n".join(str(p) for p in self.problems)


class SpecNotUsable(TaxospecError):
    """A spec that loads but has lint errors, so using it (checking data, generating a config) would mislead."""


class ParamsError(TaxospecError):
    """`checks.<code>.params` that the check's model refuses; `problems` are (key path, message) pairs."""

    def __init__(self, code: str, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.code = code
        self.problems = problems
        super().__init__("; ".join(f"checks.{code}.params{_dotted(path)}: {message}" for path, message in problems))


class OptionError(TaxospecError):
    """An option that does not fit the spec (e.g. a split it does not define)."""


class UnknownNameError(TaxospecError):
    """A name that no plugin registered."""


class ExportError(TaxospecError):
    """An export file that cannot be read as what it claims to be."""


class ConfigError(TaxospecError):
    """A labeling config that cannot be read."""


class ConfigInvalid(TaxospecError):
    """A generated config that Label Studio's own validator refuses (a bug, or a spec name it cannot take)."""


class LabelStudioError(TaxospecError):
    """Label Studio could not be reached, refused the request, or the request would lose data."""


class EmbeddingError(TaxospecError):
    """Embeddings that cannot be loaded or computed."""


class OutputError(TaxospecError):
    """An output file that cannot be written where the user asked."""


class OutputClosed(TaxospecError):
    """Standard output is closed (`>&-`), and the command has something to write there."""


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f".{part}" for part in path)
