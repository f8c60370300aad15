"""Migrations are frozen history: none imports the project's code (a later change of that
code would change what an old migration does), and an app's migrations never alter
another app's tables: another app's table may only be read (a rollup function's SELECT
… FROM / JOIN, its app named in the migration's dependencies), never written, altered,
indexed, locked or given a trigger."""
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


# SQL that changes the table named right after it (a trigger's or an index's ON too); a
# table qualifying a column (`ON incidents_x.id = …`) is a read.
WRITE_POSITION = (r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|"
                  r"ALTER\s+TABLE|DROP\s+TABLE|LOCK\s+TABLE|ANALYZE|VACUUM|ON|REFERENCES)"
                  r"\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?{table}\b(?!\.)")


def _sql_literals(tree: ast.AST) -> list[str]:
    """The migration's string literals other than docstrings."""
    docstrings = {id(body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                  and (body := node.body) and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def _written_tables(tree: ast.AST, tables: set[str]) -> set[str]:
    """Which of `tables` the migration's SQL writes, alters, indexes, locks or triggers."""
    sql = "\n".join(_sql_literals(tree))
    return {table for table in tables
            if re.search(WRITE_POSITION.format(table=re.escape(table)), sql, re.IGNORECASE)}


def _named_tables(tree: ast.AST) -> set[str]:
    """Table names of the project's apps in the migration's string literals (its RunSQL,
    trigger SQL, …) other than docstrings; `app.model` references and pgtrigger ids do
    not match."""
    return {name for text in _sql_literals(tree) for name in TABLE_NAME.findall(text)}


def test_there_are_migrations_to_check():
    assert len(MIGRATION_FILES) > 20


@pytest.mark.parametrize("path", MIGRATION_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_migration_imports_no_project_code(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _project_imports(tree) == []


@pytest.mark.parametrize("path", MIGRATION_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_migration_alters_only_its_own_apps_tables(path):
    app = path.parent.parent.name
    owners = _table_owners()
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign = {}
    for table in _named_tables(tree):
        # A table of no current model (an old name, an index name) belongs to its prefix.
        owner = owners.get(table, table.split("_")[0])
        if owner != app:
            foreign[table] = owner
    written = _written_tables(tree, set(foreign))
    assert written == set(), f"{app} migration alters other apps' tables: {sorted(written)}"
    dependencies = {node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert set(foreign.values()) <= dependencies, (
        f"{app} migration reads tables of apps it does not depend on: {foreign}")


def test_the_check_tells_reading_from_altering():
    tree = ast.parse('''SQL = """
        SELECT max(e.at_utc) FROM incidents_actionitemevent e
        JOIN incidents_actionitem i ON incidents_actionitem.id = e.item_id;
        INSERT INTO knowledge_insightscloseout VALUES (1);
        CREATE TRIGGER t AFTER INSERT ON costlog_mishapentry FOR EACH ROW EXECUTE FUNCTION f();
        UPDATE ONLY runbooks_runbook SET x = 1;
        """''')
    tables = {"incidents_actionitemevent", "incidents_actionitem", "knowledge_insightscloseout",
              "costlog_mishapentry", "runbooks_runbook"}
    assert _written_tables(tree, tables) == {"knowledge_insightscloseout", "costlog_mishapentry",
                                             "runbooks_runbook"}


def test_the_checks_catch_what_they_are_for():
    bad = ast.parse('"""About incidents_apitoken."""\n'
                    "from knowledge.search import SOURCES\nimport incidents.seals\n"
                    "from . import helpers\nimport django\n"
                    "SQL = 'ALTER TABLE incidents_postmortem ADD COLUMN x int'\n")
    assert _project_imports(bad) == ["knowledge.search", "incidents.seals", "."]
    assert _named_tables(bad) == {"incidents_postmortem"}
    assert _named_tables(ast.parse("to = 'incidents.postmortem'; pgid = 'pgtrigger_x_1'")) == set()
