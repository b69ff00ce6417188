"""The packages stand in layers: a service or model imports only what stands below it.

From the bottom: foundations (database, vocabulary, i18n, ...), the questionnaire
definitions, history (versions and audit), staff accounts, mail, the registry, campaigns,
the questionnaire's submissions, the review, dashboards, the API. Pages and commands
(``views``, ``*_views``, ``cli``) are the top of their area and may call the services of
any area; they import them at the top of the module, never inside a function, so the
graph stays visible. Imports needed only for type hints (``if TYPE_CHECKING``) are free.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from surveyapp.paths import PACKAGE_DIR

LAYERS = [
    "definitions",
    "history",
    "auth",
    "mail",
    "registry",
    "campaigns",
    "questionnaire",
    "review",
    "dashboard",
    "api",
]
FOUNDATIONS = {
    "paths",
    "database",
    "extensions",
    "i18n",
    "vocabulary",
    "text_input",
    "routing",
    "pagination",
    "logs",
    "tabular",
    "backup",
}
MODULES = sorted(p for p in PACKAGE_DIR.rglob("*.py") if p != PACKAGE_DIR / "__init__.py")


def _layer(name: str) -> int:
    return -1 if name in FOUNDATIONS else LAYERS.index(name)


def _is_page_or_command(path: Path) -> bool:
    return path.stem in ("views", "cli") or path.stem.endswith("_views")


def _imports(tree: ast.Module) -> list[tuple[ast.ImportFrom, bool]]:
    """Every ``from surveyapp... import`` with whether it sits inside a function; imports
    under ``if TYPE_CHECKING`` are left out."""
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    return [
        (node, id(node) in in_function)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("surveyapp")
        and id(node) not in typing_only
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_no_module_imports_a_package_above_it(path):
    relative = path.relative_to(PACKAGE_DIR).parts
    own = relative[0].removesuffix(".py")
    upward = []
    for node, inside_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        parts = node.module.split(".")
        targets = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
        for target in targets:
            if target == own or target not in FOUNDATIONS | set(LAYERS):
                continue
            above = _layer(target) > _layer(own)
            if above and (inside_function or not _is_page_or_command(path)):
                upward.append(f"line {node.lineno}: {node.module}")
    assert not upward, f"{path.name} imports from above its layer: {upward}"
