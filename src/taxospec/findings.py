"""Severities shared by spec lint findings and dataset findings."""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """How bad a finding is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANKS[self]

    def at_least(self, other: Severity) -> bool:
        """Whether this severity is at or above `other`."""
        return self.rank >= other.rank


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
