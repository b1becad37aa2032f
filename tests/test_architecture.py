"""The layout keeps its promises: no import circle between the project's modules (lazy imports
inside functions count), and no module reaching into another one's underscore names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tasks", "flows", "db", "notifications", "deployments", "web")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(imported project module, names taken from it, line) for every import in ``tree``."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:  # from package import module
                    found.append((f"{base}.{alias.name}", [], node.lineno))
                elif base in MODULES:
                    found.append((base, [alias.name], node.lineno))
    return found


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    private = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        imported_names: set[str] = set()
        for target, names, line in _imports(module, tree):
            if target != module and not (MODULES[target].name == "__init__.py" and not names):
                edges[module].add(target)
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    private.append(f"{path.relative_to(ROOT)}:{line} imports {target}.{name}")
                imported_names.add(name)
            if not names:  # a module: its name (or alias) is bound
                imported_names.add(target.rpartition(".")[2])
        for node in ast.walk(tree):  # aliases of what was taken from the project's modules
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
                imported_names.update(a.asname for a in node.names if a.asname)
        for node in ast.walk(tree):  # ``Reader._after`` on a class or module taken from another module
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_names and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                private.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_the_projects_modules():
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_no_module_uses_another_modules_underscore_names():
    _, private = _graph()
    assert private == []


def test_the_checks_find_a_circle_and_a_private_name():
    """The two checks above can fail: a made-up pair of modules that import each other, one of them
    through an underscore name."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_test_module_imports_another_test_module():
    """Shared helpers live in tests/support, shared fixtures are registered once in conftest.py."""
    found = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.relative_to(ROOT)} imports {n}" for n in names
                      if n.startswith("tests.") and n.rpartition(".")[2].startswith("test_")]
    assert found == []
