"""The layering rules of docs/architecture.md, checked on the source with ``ast``.

Every ``import`` / ``from ... import`` anywhere in a file counts (module level, inside
functions, under ``TYPE_CHECKING``): a cycle or a forbidden edge hidden in a function
is still a cycle or a forbidden edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("monitors", "storage", "app")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in _source_files()}


def _resolve(name: str) -> str | None:
    """The project module an imported dotted name refers to (longest known prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imported_names(path: Path) -> Iterator[str]:
    """Every dotted name imported anywhere in the file, relative imports resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges = {_resolve(imported) for imported in _imported_names(path)}
        graph[name] = {e for e in edges if e is not None and e != name}
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == white and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(graph):
        if colour[node] == white and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "monitors.pipeline.run" in graph
    assert "storage.engine" in graph["monitors.pipeline.run"] or any(
        e.startswith("storage") for e in graph["monitors.pipeline.run"]
    )


def test_no_import_cycles() -> None:
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def _third_party(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_names(path)}


def _offenders(prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if name != prefix and not name.startswith(prefix + "."):
            continue
        for imported in _imported_names(path):
            if any(imported == f or imported.startswith(f + ".") for f in forbidden):
                bad.append(f"{name} imports {imported}")
    return sorted(set(bad))


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("storage", ("monitors", "app")),
        ("monitors", ("app",)),
        ("monitors.analyzers", ("sqlalchemy", "storage.engine", "storage.bulk", "storage.models")),
    ],
)
def test_layers_import_only_downwards(layer: str, forbidden: tuple[str, ...]) -> None:
    assert _offenders(layer, forbidden) == []


def test_analyzers_use_only_the_schema_from_storage() -> None:
    bad = [
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if name.startswith("monitors.analyzers")
        for imported in _imported_names(path)
        if imported.startswith("storage") and not imported.startswith("storage.schema")
    ]
    assert bad == []


def test_analyzers_do_no_io() -> None:
    io_modules = {"sqlalchemy", "adbc_driver_manager", "psycopg", "httpx", "smtplib", "requests"}
    bad = [
        f"{name} imports {sorted(_third_party(path) & io_modules)}"
        for name, path in MODULES.items()
        if name.startswith("monitors.analyzers") and _third_party(path) & io_modules
    ]
    assert bad == []


def test_pages_hold_no_sql() -> None:
    bad = []
    for name, path in MODULES.items():
        if not name.startswith("app.views"):
            continue
        if "sqlalchemy" in _third_party(path) or "storage.engine" in set(_imported_names(path)):
            bad.append(name)
        text = path.read_text().upper()
        if any(word in text for word in ("SELECT ", "INSERT INTO", "DELETE FROM")):
            bad.append(f"{name} (SQL text)")
    assert bad == []


def _too_long() -> tuple[list[str], list[str]]:
    modules, functions = [], []
    for name, path in MODULES.items():
        source = path.read_text()
        n_lines = len(source.splitlines())
        if n_lines > MAX_MODULE_LINES:
            modules.append(f"{name}: {n_lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > MAX_FUNCTION_LINES:
                    functions.append(f"{name}.{node.name}: {length} lines")
    return modules, functions


def test_files_and_functions_hold_one_idea() -> None:
    modules, functions = _too_long()
    assert modules == [], f"modules over {MAX_MODULE_LINES} lines"
    assert functions == [], f"functions over {MAX_FUNCTION_LINES} lines (docstring included)"
