"""The packages stand in layers: every module, page and command included, imports only
what stands in its own package or below it.

From the bottom: foundations (database, vocabulary, i18n, ...), the questionnaire
definitions, history (versions and audit), staff accounts, mail, the registry, its
releases, campaigns, the questionnaire's submissions, the review, the respondent's pages,
dashboards, the Centres of Excellence network, the API, and people's rights over their
data (access, erasure, retention, consent), which read every area that stores personal data.
A page that shows what a higher area owns gets it from that area (a template function the
higher area adds, as the late answers on the campaign page), or lives in the higher area.
Imports needed only for type hints (``if TYPE_CHECKING``) are free. Only the application
factory, which wires every area together, stands above them all.
"""

from __future__ import annotations

import ast

import pytest

from surveyapp.paths import PACKAGE_DIR

LAYERS = [
    "definitions",
    "history",
    "auth",
    "mail",
    "registry",
    "releases",
    "campaigns",
    "questionnaire",
    "review",
    "respondent",
    "dashboard",
    "network",
    "api",
    "people",
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


def _imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """Every ``from surveyapp... import``, leaving out those under ``if TYPE_CHECKING``."""
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    return [
        node
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
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        parts = node.module.split(".")
        targets = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
        for target in targets:
            if target == own or target not in FOUNDATIONS | set(LAYERS):
                continue
            if _layer(target) > _layer(own):
                upward.append(f"line {node.lineno}: {node.module}")
    assert not upward, f"{path.name} imports from above its layer: {upward}"
