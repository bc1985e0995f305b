"""No file of the project imports a file that imports it back, directly or in a circle, and
no module imports another's private (underscore) names.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a
first-party module, at module level or inside a function alike (an import moved into a
function still ties the two files together), resolved to the file that defines the name.
"""

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("catalog", "tagging", "llm", "recommendations", "config")


def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every first-party module (packages by their __init__)."""
    modules = {}
    for package in FIRST_PARTY:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if "migrations" in parts:
                continue  # Django loads migrations by name; they import nothing back
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_modules(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The first-party modules the file imports; ``from package import module`` counts as the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imported_modules(path, name, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One example path per strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()

    assert "tagging.models" in graph["tagging.services"]
    assert graph["catalog.models"] <= {"catalog"}  # catalog's core imports nobody's internals


def test_the_cycle_finder_finds_a_circle_of_three():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_of_the_project_imports_itself_back():
    assert cycles(import_graph()) == []


def private_names_imported() -> list[str]:
    """``module: from other import _name`` for every first-party module that does it."""
    known = module_files()
    found = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FIRST_PARTY:
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                found.extend(f"{name}: from {node.module} import {alias}" for alias in private)
    return found


def test_no_module_imports_another_modules_private_names():
    assert private_names_imported() == []
