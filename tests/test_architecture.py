"""The apps import one way, in the order docs/architecture.md gives (highest first): an app imports only apps below
it, at the top of a module and inside a function alike; no function imports another app; the simulator and the
product import nothing of each other; and every app of delivery/ is in the order."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "delivery"
APART = {"simulator"}


def layers() -> list[str]:
    """The apps, lowest first, as docs/architecture.md lists them (highest first) between its layer markers."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"<!-- layers: highest first -->\s*```\n(.*?)```\s*<!-- /layers -->", text, re.S)
    assert block, "docs/architecture.md lost its layer list"
    return [line.split()[0] for line in block.group(1).strip().splitlines()][::-1]


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for each `delivery.…` import of a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    in_function = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(name, node.lineno, id(node) in in_function) for name in names if name.startswith("delivery.")]
    return found


def app_modules() -> list[tuple[str, Path]]:
    return sorted(
        (path.relative_to(PACKAGE).parts[0], path)
        for path in PACKAGE.rglob("*.py")
        if len(path.relative_to(PACKAGE).parts) > 1 and "migrations" not in path.parts
    )


def test_every_app_has_its_place_in_the_order() -> None:
    apps = {path.name for path in PACKAGE.iterdir() if (path / "apps.py").exists()}
    assert apps - APART == set(layers()), "docs/architecture.md and delivery/ disagree on the apps"


def test_apps_import_only_the_apps_below_them() -> None:
    rank = {app: i for i, app in enumerate(layers())}
    upward = []
    for app, path in app_modules():
        for name, line, _ in imports(path):
            target = name.split(".")[1]
            if app in APART or target in APART:
                if app != target:
                    upward.append(f"{path.relative_to(ROOT)}:{line} {name} (the simulator stands apart)")
            elif target in rank and app in rank and rank[target] > rank[app]:
                upward.append(f"{path.relative_to(ROOT)}:{line} {app} imports {name}, above it")
    assert not upward, "\n".join(upward)


def test_no_function_imports_another_app() -> None:
    hidden = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for app, path in app_modules()
        for name, line, in_function in imports(path)
        if in_function and name.split(".")[1] not in (app, "celery", "settings")
    ]
    assert not hidden, "\n".join(hidden)


@pytest.mark.parametrize("layer", ["flows", "web"])
def test_nothing_below_imports_the_top_layers(layer: str) -> None:
    """The flows and the pages that start them are the top: a lower app that imported them would run in a circle."""
    order = layers()
    below = set(order[: order.index(layer)])
    found = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for app, path in app_modules()
        if app in below
        for name, line, _ in imports(path)
        if name.split(".")[1] == layer
    ]
    assert not found, "\n".join(found)
