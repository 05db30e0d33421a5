"""The code stands on floors, lowest first: config.kit → locations → incidents → messaging →
the rest of config (settings, URLs, ASGI, the admin site, operations). An import only points
down a floor, at module level and inside functions alike; a lower floor learns of an upper one's
changes by a signal. And no group of the product's modules imports itself round in a circle."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["config", "locations", "incidents", "messaging"]

# Imports that still point up, each to be replaced by a signal or moved to its own floor.
STILL_UP: set[tuple[str, str]] = set()
STILL_CIRCULAR: list[set[str]] = []


def floor(module: str) -> int | None:
    """The floor a module of the product stands on; None for Django, libraries and tests."""
    if module == "config.kit" or module.startswith("config.kit."):
        return 0
    return {"locations": 1, "incidents": 2, "messaging": 3, "config": 4}.get(module.split(".")[0])


def product_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, wherever the import statement stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module → the product's modules it imports (a package's own submodules left out: its
    `__init__` re-exporting them is how a package is made)."""
    modules = product_modules()
    graph = {}
    for name, path in modules.items():
        targets = {target for target in imports_of(path) if target in modules}
        graph[name] = {t for t in targets if t != name and not t.startswith(name + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_points_up_a_floor():
    assert _up_imports() - STILL_UP == set()


def test_the_imports_still_pointing_up_are_listed_only_while_they_exist():
    assert STILL_UP - _up_imports() == set()


def test_no_modules_import_each_other_in_a_circle():
    found = cycles(import_graph())

    assert [group for group in found if group not in STILL_CIRCULAR] == []
    assert [group for group in STILL_CIRCULAR if group not in found] == []


def imported(node: ast.AST) -> list[str]:
    """The modules an import statement names (`from x import name` counts as importing `x`);
    none for any other node."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def _up_imports() -> set[tuple[str, str]]:
    """(file, module) for each import of a module on a higher floor; `from x import name`
    counts as importing `x`."""
    modules = product_modules()
    found = set()
    for name, path in modules.items():
        own = floor(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for target in imported(node):
                target_floor = floor(target)
                if target_floor is not None and target_floor > own:
                    found.add((str(path.relative_to(ROOT)), target))
    return found


def test_the_lower_app_knows_no_workflow_in_its_domain_modules():
    for module in ["models", "services", "selectors", "codes", "scanning", "labels", "fields"]:
        path = ROOT / "locations" / f"{module}.py"
        assert not {t for t in imports_of(path) if t.split(".")[0] == "incidents"}, module


def test_the_products_modules_are_imported_at_the_top_of_a_module_not_inside_a_function():
    """An import inside a function hides an import cycle; the one place for them is an app's
    `ready()`, which Django calls once every model is loaded (signals are connected there)."""
    inside = []
    for name, path in product_modules().items():
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "apps.py" and function.name == "ready":
                continue
            for node in ast.walk(function):
                inside += [
                    f"{name}.{function.name}: {t}" for t in imported(node) if floor(t) is not None
                ]

    assert inside == []
