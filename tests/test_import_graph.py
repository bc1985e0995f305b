"""Imports run one way: no file imports a file that imports it back, directly or in a circle;
each app imports only the apps on the layers below it; no module imports another's private
(underscore) names; and an import inside a function says why it is there.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a
first-party module, at module level or inside a function alike (an import moved into a
function still ties the two files together), resolved to the file that defines the name.
"""

import ast
import io
import tokenize
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("catalog", "tagging", "llm", "recommendations", "storefront", "config")

# An app may import only apps on a lower layer (the README draws it). config is the project's
# plumbing (settings, cache, queue) and imports no app; the catalog's core and the model gateway
# know nothing of each other; storefront shows products with their tags and picks.
LAYERS = {"config": 0, "catalog": 1, "llm": 1, "tagging": 2, "recommendations": 3, "storefront": 4}

# Imports inside functions in modules the tagging pipeline's rework (issue 17) is rewriting: each
# goes to module level or gets its reason there. An entry that no longer matches fails the test,
# so the list only shrinks: delete it.
AWAITING_A_REASON = {
    ("recommendations.freshness", "from catalog.models import Product"),
    ("recommendations.freshness", "from tagging.models import ProductTag"),
    ("recommendations.freshness", "from tagging.signals import tags_changed"),
    ("recommendations.signals", "from recommendations.tasks import enqueue_similar_refresh"),
    ("recommendations.signals", "from tagging.signals import tags_changed"),
    ("recommendations.tasks", "from recommendations.services import refresh_similar_products"),
}


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


def app_of(module: str) -> str:
    return module.split(".")[0]


def layer_violations(graph: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """``importer -> imported`` for every import of an app on the same layer or above."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if app_of(target) != app_of(module) and layers[app_of(target)] >= layers[app_of(module)]
    )


def app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    apps: dict[str, set[str]] = {app: set() for app in FIRST_PARTY}
    for module, targets in graph.items():
        apps[app_of(module)].update(app_of(target) for target in targets if app_of(target) != app_of(module))
    return apps


def test_every_app_has_a_layer():
    assert set(LAYERS) == set(FIRST_PARTY)


def test_the_layer_check_finds_an_import_upwards_and_one_sideways():
    graph = {"catalog.admin": {"tagging.models"}, "tagging.models": {"catalog.models"}, "llm.x": {"catalog.y"}}
    graph |= {"catalog.models": set(), "catalog.y": set()}

    assert layer_violations(graph, LAYERS) == ["catalog.admin -> tagging.models", "llm.x -> catalog.y"]
    assert cycles(app_graph(graph)) == [["catalog", "tagging"]]


def test_the_catalog_core_imports_nothing_of_tagging_recommendations_or_the_storefront():
    above = {app for app, layer in LAYERS.items() if layer > LAYERS["catalog"]}
    imports_from_above = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if app_of(module) == "catalog"
        for target in targets
        if app_of(target) in above
    )

    assert imports_from_above == []


def test_each_app_imports_only_the_layers_below_it():
    assert layer_violations(import_graph(), LAYERS) == []


def test_no_circle_between_apps():
    assert cycles(app_graph(import_graph())) == []


def unexplained_imports_in_functions(source: str) -> list[tuple[int, str]]:
    """(line, statement) of each import inside a function with no comment on its lines or the
    line above; a run of imports one under the other shares the comment above the first."""
    commented = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    in_functions = {
        id(node): node
        for function in ast.walk(ast.parse(source))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    explained_ends: set[int] = set()
    unexplained = []
    for node in sorted(in_functions.values(), key=lambda node: node.lineno):
        own_lines = set(range(node.lineno, node.end_lineno + 1))
        if own_lines & commented or node.lineno - 1 in commented or node.lineno - 1 in explained_ends:
            explained_ends.add(node.end_lineno)
        else:
            unexplained.append((node.lineno, ast.unparse(node)))
    return unexplained


def test_the_import_check_wants_a_reason_for_each_import_inside_a_function():
    source = """
import os


def ready():
    # the models load only once the registry is ready
    from a import b
    from a import c

    from d import e


def optional():
    import f  # only when installed
"""

    assert unexplained_imports_in_functions(source) == [(10, "from d import e")]


def test_every_import_inside_a_function_says_why():
    unexplained = {
        (name, statement)
        for name, path in module_files().items()
        for _line, statement in unexplained_imports_in_functions(path.read_text())
    }

    assert sorted(unexplained - AWAITING_A_REASON) == []
    assert sorted(AWAITING_A_REASON - unexplained) == [], "explained or gone: delete it from AWAITING_A_REASON"
