"""Apps stand on floors: `locations` (devices, places, custody, trails, labels) knows no
workflow, so its domain modules never import the `incidents` app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER_APP_DOMAIN = ["models", "services", "selectors", "codes", "scanning", "labels", "fields"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", LOWER_APP_DOMAIN)
def test_the_lower_app_does_not_import_the_workflow(module):
    imports = imported_modules(ROOT / "locations" / f"{module}.py")

    assert not {name for name in imports if name.split(".")[0] == "incidents"}
