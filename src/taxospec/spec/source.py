"""YAML text to plain Python data, keeping the location of every node.

The YAML is composed into nodes (never constructed into arbitrary objects), then turned into dicts,
tuples and scalars of the YAML 1.2 core schema by hand. This is what makes loading safe, lets every
duplicate key and every foreign tag be reported at once, and gives each value a `line:col`.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from taxospec.errors import SourceProblem, SpecError

PathKey = tuple[str | int, ...]
"""A path into the data: mapping keys and sequence indexes from the root."""

_CORE = "tag:yaml.org,2002:"
_MAX_NODES = 200_000
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Location:
    """Where a node sits in the text: 1-based line and column of its key (if any) and of its value."""

    line: int
    column: int
    key_line: int
    key_column: int
    container: bool = False


@dataclass(frozen=True)
class SpecSource:
    """The file a spec came from and the location of every node in it."""

    path: str
    locations: dict[PathKey, Location] = field(default_factory=dict, repr=False, compare=False)

    def locate(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of the deepest node on `path` that exists; of its key when `key` is true."""
        for end in range(len(path), -1, -1):
            loc = self.locations.get(path[:end])
            if loc is not None:
                if key and end == len(path) and end > 0:
                    return loc.key_line, loc.key_column
                return loc.line, loc.column
        return 1, 1

    def anchor(self, path: PathKey) -> tuple[int, int]:
        """Where a finding about `path` should point: the key of a mapping or list, the value of a scalar."""
        loc = self.locations.get(path)
        if loc is not None and loc.container and path:
            return loc.key_line, loc.key_column
        return self.locate(path)


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")


def _foreign_tag(tag: str) -> str:
    shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
    return f"tag {shown!r} is not allowed (only plain YAML is)"


class _Builder:
    """Turns a node tree into data, collecting problems instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[SourceProblem] = []
        self.locations: dict[PathKey, Location] = {}
        self.count = 0

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(SourceProblem(self.path, mark.line + 1, mark.column + 1, message))

    def build(self, node: Node, where: PathKey, key_node: Node | None, active: frozenset[int]) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise SpecError.single(self.path, f"the document has more than {_MAX_NODES} nodes (alias bomb?)")
        mark = node.start_mark
        key_mark = key_node.start_mark if key_node is not None else mark
        self.locations[where] = Location(
            mark.line + 1,
            mark.column + 1,
            key_mark.line + 1,
            key_mark.column + 1,
            container=isinstance(node, (MappingNode, SequenceNode)),
        )
        if len(where) > _MAX_DEPTH:
            self.problem(node, f"nesting deeper than {_MAX_DEPTH} levels")
            return None
        if id(node) in active:
            self.problem(node, "recursive alias: a node contains itself")
            return None
        tag = node.tag if isinstance(node.tag, str) else str(node.tag)
        if isinstance(node, MappingNode):
            if tag != _CORE + "map":
                self.problem(node, _foreign_tag(tag))
            return self.build_mapping(node, where, active | {id(node)})
        if isinstance(node, SequenceNode):
            if tag != _CORE + "seq":
                self.problem(node, _foreign_tag(tag))
            return tuple(self.build(item, (*where, i), None, active | {id(node)}) for i, item in enumerate(node.value))
        assert isinstance(node, ScalarNode)
        return self.scalar(node, tag)

    def build_mapping(self, node: MappingNode, where: PathKey, active: frozenset[int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _CORE + "merge":
                self.problem(key_node, "merge keys (<<) are not supported: write the keys out")
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, "a key must be a plain scalar, not a mapping or a list")
                continue
            key = self.scalar(key_node, key_node.tag if isinstance(key_node.tag, str) else str(key_node.tag))
            if key is None or isinstance(key, (bool, float)):
                self.problem(key_node, f"key {key_node.value!r} must be a string")
                continue
            key = str(key)
            if key in result:
                first = self.locations[where + (key,)]
                self.problem(
                    key_node,
                    f"duplicate key {key!r} (first defined at line {first.key_line}, column {first.key_column})",
                )
                continue
            result[key] = self.build(value_node, (*where, key), key_node, active)
        return result

    def scalar(self, node: ScalarNode, tag: str) -> Any:
        text = node.value
        if tag == _CORE + "str":
            # ruamel marks the fold points of a folded (>) scalar with BEL characters; they are not text
            return text.replace("\a", "") if node.style == ">" else text
        if tag == _CORE + "null":
            return None
        if tag == _CORE + "bool":
            return text.lower() == "true"
        if tag == _CORE + "int":
            return self.integer(node, text)
        if tag == _CORE + "float":
            return self.floating(node, text)
        if tag == _CORE + "timestamp" and node.style is None:
            return text  # an unquoted date is text to us, as in JSON
        self.problem(node, _foreign_tag(tag))
        return text

    def integer(self, node: ScalarNode, text: str) -> Any:
        plain = text.replace("_", "")
        if _INT.match(plain):
            return int(plain)
        if _INT_OCT.match(plain):
            return int(plain[2:], 8)
        if _INT_HEX.match(plain):
            return int(plain[2:], 16)
        if _FLOAT.match(plain):
            return float(plain)
        return text

    def floating(self, node: ScalarNode, text: str) -> Any:
        plain = text.replace("_", "")
        if _INF.match(plain):
            return -math.inf if plain.startswith("-") else math.inf
        if _NAN.match(plain):
            return math.nan
        if _FLOAT.match(plain):
            return float(plain)
        return text


def _flow_too_deep(text: str) -> tuple[int, int] | None:
    """The (line, column) of the first flow bracket (`[` or `{`) nested deeper than `_MAX_DEPTH`, outside
    quotes and comments; None when there is none. A linear scan: deep flow nesting is the cheap way to
    make a YAML composer recurse until it fails."""
    depth = 0
    line, column = 1, 0
    quote = ""
    comment = False
    previous = "\n"
    for char in text:
        column += 1
        if char == "\n":  # quoted scalars may span lines: a quote stays open
            line, column, comment = line + 1, 0, False
        elif comment:
            pass
        elif quote:
            if char == quote and previous != "\\":
                quote = ""
        elif char in "'\"" and (depth or previous in " \t:,[{\n"):
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                return line, column
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return None


def parse_yaml(text: str, path: str) -> tuple[Any, SpecSource]:
    """Parse one YAML document into plain data and its `SpecSource`; raise `SpecError` on any problem.

    Mappings become dicts, sequences tuples, scalars str/int/float/bool/None (YAML 1.2 core schema).
    Foreign tags, merge keys, duplicate keys and non-scalar keys are all reported together.
    """
    too_deep = _flow_too_deep(text)
    if too_deep is not None:  # before the (recursive) composer, which would take seconds to give up
        raise SpecError.single(path, f"nesting deeper than {_MAX_DEPTH} levels", *too_deep)
    yaml = YAML(typ="rt", pure=True)
    try:
        nodes = list(yaml.compose_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        context = exc.context_mark
        if exc.problem and exc.context and context is not None and context is not mark:
            reason += f" ({exc.context} that starts at line {context.line + 1}, column {context.column + 1})"
        raise SpecError.single(path, f"YAML syntax error: {reason}", line, column) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise SpecError.single(path, f"YAML syntax error: {exc}") from None
    documents = [n for n in nodes if n is not None]
    if not documents:
        raise SpecError.single(path, "the file is empty: a spec starts with `taxospec: 1`")
    if len(documents) > 1:
        mark = documents[1].start_mark
        raise SpecError.single(
            path, "the file holds several YAML documents (---); a spec is one", mark.line + 1, mark.column + 1
        )
    builder = _Builder(path)
    try:
        data = builder.build(documents[0], (), None, frozenset())
    except RecursionError:
        raise SpecError.single(path, "the document is nested too deeply") from None
    if builder.problems:
        raise SpecError(builder.problems)
    return data, SpecSource(path, builder.locations)
