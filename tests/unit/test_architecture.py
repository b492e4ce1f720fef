"""The shape docs/architecture.md describes, checked on the source: no import circle anywhere in src/,
counting the imports inside functions and the package `__init__`s each import runs; and the page names
every folder, module, hook and contract there is."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "taxospec"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module `name` is, or the module it is an attribute of."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _with_packages(name: str) -> set[str]:
    """`name` and the packages importing it runs, but the root: every import runs the root's `__init__`
    first (the public facade), so only an explicit `from taxospec import …` counts as an edge to it."""
    parts = name.split(".")
    return ({name} | {".".join(parts[:i]) for i in range(2, len(parts))}) & set(MODULES)


def _imports(path: Path) -> set[str]:
    """The taxospec modules `path` imports when it runs (anywhere but under `if TYPE_CHECKING:`)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("taxospec"):
                for target in [child.module, *(f"{child.module}.{alias.name}" for alias in child.names)]:
                    owner = _owner(target)
                    if owner:
                        found.update(_with_packages(owner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    owner = _owner(alias.name) if alias.name.startswith("taxospec") else None
                    if owner:
                        found.update(_with_packages(owner))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for name, path in MODULES.items():
        graph[name] = {target for target in _imports(path) if target != name and not name.startswith(target + ".")}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_import_circle_in_src() -> None:
    graph = _graph()
    assert len(graph) > 80, "the scan found the modules"
    assert "taxospec.plugins.registry" in graph["taxospec.spec.lint"], "imports inside functions are counted"
    assert _circles(graph) == []


def test_the_scan_finds_a_circle_when_there_is_one() -> None:
    graph = _graph()
    graph["taxospec.errors"] = graph["taxospec.errors"] | {"taxospec.api"}  # errors is imported by nearly all
    assert any("taxospec.errors" in circle for circle in _circles(graph))


def test_the_architecture_page_names_every_folder_hook_and_contract() -> None:
    import inspect

    from taxospec.plugins import hookspecs, interfaces

    page = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    modules = {path.name for path in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py", "__about__.py", "cli.py"}
    missing = [f"{name}/" for name in sorted(folders) if f"`{name}/`" not in page]
    missing += [name for name in sorted(modules) if f"`{name}`" not in page]
    missing += [name for name in dir(hookspecs) if name.startswith("taxospec_") and f"`{name}`" not in page]
    contracts = [
        name
        for name, value in vars(interfaces).items()
        if inspect.isclass(value) and value.__module__ == interfaces.__name__
    ]
    missing += [name for name in contracts if name not in page]
    assert len(contracts) >= 10 and missing == []


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def test_functions_and_modules_stay_small_enough_to_hold_in_the_head() -> None:
    """No function over 60 lines (decorators not counted) and no module over 400 lines in src/."""
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(SRC)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {lines} lines")
    assert too_long == []
