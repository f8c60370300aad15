"""Migrations are frozen history: none imports the project's code (a later change of that
code would change what an old migration does), and each app's migrations only name
tables of that app (an app never alters another app's tables)."""
import ast
import re
from pathlib import Path

import pytest
from django.apps import apps

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"config", "core", "incidents", "knowledge", "runbooks", "costlog"}
APPS_WITH_MIGRATIONS = ("core", "incidents", "knowledge", "runbooks", "costlog")
MIGRATION_FILES = sorted(
    path for app in APPS_WITH_MIGRATIONS
    for path in (PROJECT_DIR / app / "migrations").glob("[0-9]*.py")
)
TABLE_NAME = re.compile(rf"\b(?:{'|'.join(APPS_WITH_MIGRATIONS)})_[a-z0-9_]+")


def _project_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [] if node.level else [node.module or ""]
            if node.level:  # a relative import reaches into the app's own package
                names = [f".{node.module or ''}"]
        else:
            continue
        found += [name for name in names
                  if name.startswith(".") or name.split(".")[0] in PROJECT_PACKAGES]
    return found


def _table_owners() -> dict[str, str]:
    """{table: app label} of every model of the project's apps as they are now."""
    return {model._meta.db_table: model._meta.app_label for model in apps.get_models()
            if model._meta.app_label in APPS_WITH_MIGRATIONS}


def _named_tables(tree: ast.AST) -> set[str]:
    """Table names of the project's apps in the migration's string literals (its RunSQL,
    trigger SQL, …) other than docstrings; `app.model` references and pgtrigger ids do
    not match."""
    docstrings = {id(body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and (body := node.body) and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant)}
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings):
            names |= set(TABLE_NAME.findall(node.value))
    return names


def test_there_are_migrations_to_check():
    assert len(MIGRATION_FILES) > 20


@pytest.mark.parametrize("path", MIGRATION_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_migration_imports_no_project_code(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _project_imports(tree) == []


@pytest.mark.parametrize("path", MIGRATION_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_migration_names_only_its_own_apps_tables(path):
    app = path.parent.parent.name
    owners = _table_owners()
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign = {}
    for table in _named_tables(tree):
        # A table of no current model (an old name, an index name) belongs to its prefix.
        owner = owners.get(table, table.split("_")[0])
        if owner != app:
            foreign[table] = owner
    assert foreign == {}, f"{app} migration names other apps' tables: {foreign}"


def test_the_checks_catch_what_they_are_for():
    bad = ast.parse('"""About incidents_apitoken."""\n'
                    "from knowledge.search import SOURCES\nimport incidents.seals\n"
                    "from . import helpers\nimport django\n"
                    "SQL = 'ALTER TABLE incidents_postmortem ADD COLUMN x int'\n")
    assert _project_imports(bad) == ["knowledge.search", "incidents.seals", "."]
    assert _named_tables(bad) == {"incidents_postmortem"}
    assert _named_tables(ast.parse("to = 'incidents.postmortem'; pgid = 'pgtrigger_x_1'")) == set()
