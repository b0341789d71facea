"""The layers as the folder listing shows them (docs/ARCHITECTURE.md).

import-linter (``make test``) holds the packages: web -> services -> domain, and none of them
imports a top-level file. It reads packages only, so this test holds the top-level files:
each imports only what lies beneath it, and a project module is imported inside a function
only where a comment on that line says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "services", "web", "demo")
TOP_LEVEL = ("app", "cli", "admin_views", "tasks", "models", "extensions")
PROJECT = (*PACKAGES, *TOP_LEVEL)
# What each top-level file may import from the project (the design card's jobs).
MAY_IMPORT = {
    "app": set(PROJECT) - {"app"},
    "cli": {"demo", "services", "domain", "models", "extensions"},
    "admin_views": {"web", "services", "domain", "models", "extensions"},
    "tasks": {"services", "domain", "models", "extensions"},
    "models": {"extensions"},
    "extensions": set(),
}


def project_imports(tree: ast.AST) -> list[tuple[ast.stmt, str]]:
    """Each import statement of a project module, with the top-level name it imports."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node, name.split(".")[0]) for name in names if name.split(".")[0] in PROJECT]
    return found


def function_local_imports(tree: ast.AST) -> list[ast.stmt]:
    """Project imports inside a function body."""
    local = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            local += [node for node, _name in project_imports(function)]
    return local


def project_files() -> list[Path]:
    files = [ROOT / f"{name}.py" for name in TOP_LEVEL]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_a_top_level_file_imports_only_the_layers_beneath_it(name):
    tree = ast.parse((ROOT / f"{name}.py").read_text())
    upward = sorted({module for _node, module in project_imports(tree)} - MAY_IMPORT[name])
    assert upward == [], f"{name}.py imports {upward}"


def test_admin_views_is_imported_by_app_alone():
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in project_files()
        if any(
            module == "admin_views" for _n, module in project_imports(ast.parse(path.read_text()))
        )
    ]
    assert importers == ["app.py"]


def test_a_function_local_project_import_says_why():
    unexplained = []
    for path in project_files():
        source = path.read_text()
        lines = source.splitlines()
        for node in function_local_imports(ast.parse(source)):
            if "#" not in lines[node.lineno - 1]:
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []
