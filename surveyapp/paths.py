"""Where the application finds the project-level folders it reads at run time.

surveyapp is installed editable from its checkout (``pip install -e .``), so the package
sits one level below the project root, beside ``templates/``, ``static/``, ``forms/`` and
``migrations/``.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
FORMS_DIR = PROJECT_ROOT / "forms"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA_DIR = PACKAGE_DIR / "registry" / "data"
