"""The runbooks' part of `manage.py demo`: the docs directory in runbooks/demo_data/docs/v2
(a copy of the seed's runbooks and INDEX.md), owned by the demo login."""
from pathlib import Path

from runbooks.docs_io import import_runbooks

DEMO_DATA = Path(__file__).resolve().parent / "demo_data" / "docs" / "v2"


def load(login, stdout) -> None:
    """Import the runbooks (idempotent); dangling depends_on ids are reported."""
    runbooks = import_runbooks(DEMO_DATA, owner=login)
    stdout.write(f"Runbooks: {runbooks.created} loaded; {len(runbooks.dangling)} dangling "
                 "depends_on ids shown on the runbook graph.")
