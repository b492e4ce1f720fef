"""Dataset checks, one module per family; each check is named, documented and registered as a plugin."""

from taxospec.checks.base import Check, CheckContext, Outcome, check

__all__ = ["Check", "CheckContext", "Outcome", "check"]
