"""Named things contributed by plugins, gathered once and looked up strictly by name."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from taxospec.errors import TaxospecError, UnknownNameError
from taxospec.plugins.interfaces import DeclaresRoots
from taxospec.plugins.manager import get_plugin_manager

if TYPE_CHECKING:
    from taxospec.checks.base import Check
    from taxospec.media.sources import MediaRoot
    from taxospec.plugins.interfaces import CheckSource, EmbedderFactory, ExportReader, MediaResolver
    from taxospec.spec.lint import LintRule
    from taxospec.spec.templates import SpecTemplate


class Named(Protocol):
    """Anything registered under a name."""

    @property
    def name(self) -> str:
        """The unique name it is looked up by."""
        ...


T = TypeVar("T", bound=Named)


class Catalog(Generic[T]):
    """An ordered, read-only collection of named plugin contributions."""

    def __init__(self, kind: str, items: Iterable[T]) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        for item in items:
            if item.name in self._items:
                raise TaxospecError(f"two plugins register a {kind} named {item.name!r}")
            self._items[item.name] = item

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._items)

    def get(self, name: str) -> T:
        """The item called `name`; an `UnknownNameError` with a suggestion when there is none."""
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(self._items)})"
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}") from None


def _flatten(results: Iterable[Iterable[T]]) -> list[T]:
    # pluggy calls the most recently registered plugin first; reverse so built-ins come first
    return [item for result in reversed(list(results)) for item in result]


@functools.lru_cache(maxsize=1)
def lint_rules() -> Catalog[LintRule]:
    """Every registered spec lint rule."""
    return Catalog("lint rule", _flatten(get_plugin_manager().hook.taxospec_lint_rules()))


@functools.lru_cache(maxsize=1)
def spec_templates() -> Catalog[SpecTemplate]:
    """Every registered `taxospec init` template."""
    return Catalog("template", _flatten(get_plugin_manager().hook.taxospec_spec_templates()))


@functools.lru_cache(maxsize=1)
def checks() -> Catalog[Check[Any]]:
    """Every registered dataset check, in registration order."""
    return Catalog("check", _flatten(get_plugin_manager().hook.taxospec_checks()))


@functools.lru_cache(maxsize=1)
def media_resolvers() -> Catalog[MediaResolver]:
    """Every registered media resolver, tried in registration order."""
    return Catalog("media resolver", _flatten(get_plugin_manager().hook.taxospec_media_resolvers()))


@functools.lru_cache(maxsize=1)
def media_roots() -> Catalog[MediaRoot]:
    """The folders the registered resolvers read from (`DeclaresRoots`), each given by an option `--NAME`."""
    return Catalog(
        "media root", [root for r in media_resolvers() if isinstance(r, DeclaresRoots) for root in r.roots()]
    )


@functools.lru_cache(maxsize=1)
def embedders() -> Catalog[EmbedderFactory]:
    """Every registered embedder factory (open_clip is the built-in one)."""
    return Catalog("embedder", _flatten(get_plugin_manager().hook.taxospec_embedders()))


@functools.lru_cache(maxsize=1)
def export_readers() -> Catalog[ExportReader]:
    """Every registered export reader, tried in registration order."""
    return Catalog("export reader", _flatten(get_plugin_manager().hook.taxospec_export_readers()))


@functools.lru_cache(maxsize=1)
def check_sources() -> Catalog[CheckSource]:
    """Every registered source of `taxospec check` besides an export file, in registration order."""
    return Catalog("check source", _flatten(get_plugin_manager().hook.taxospec_check_sources()))


def refresh() -> None:
    """Gather the contributions again (after a plugin was registered or unregistered at run time)."""
    for catalog in (
        lint_rules,
        spec_templates,
        checks,
        media_resolvers,
        media_roots,
        embedders,
        export_readers,
        check_sources,
    ):
        catalog.cache_clear()
