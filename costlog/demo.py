"""The cost log's part of `manage.py demo`: the seed's mishap cost log (a copy in
costlog/demo_data/), and the KXIN mishap linked to its postmortem with an Impact amendment
stating the loss, so the KXIN page shows the stated impact beside the cost log's figure."""
from pathlib import Path

from costlog.import_export import import_costlog
from costlog.services import current_entries, link_entry
from incidents.jsonl import import_log
from incidents.models import Postmortem

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
INCIDENTS_DEMO_DATA = Path(__file__).resolve().parents[1] / "incidents" / "demo_data"
KXIN_POSTMORTEM_ID = "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"
KXIN_MISHAP_TITLE = "KXIN Concentration Loss"


def load(login, stdout) -> None:
    """Import the cost log (idempotent), then link KXIN and state its impact."""
    costs = import_costlog((DEMO_DATA / "MISHAP_COST_LOG.md").read_text(encoding="utf-8"))
    stdout.write(
        f"Cost log: {costs.entries_created} mishap entries and {costs.rates_created} rates "
        f"loaded ({costs.entries_unchanged + costs.rates_unchanged} already present)."
    )
    kxin = Postmortem.objects.get(pk=KXIN_POSTMORTEM_ID)
    entry = current_entries().get(title=KXIN_MISHAP_TITLE)
    if entry.postmortem_id is None:
        link_entry(entry, kxin)
    import_log(INCIDENTS_DEMO_DATA / "postmortems.jsonl",
               INCIDENTS_DEMO_DATA / "demo_amendments.jsonl")
    stdout.write("KXIN: mishap linked to its postmortem, impact stated by amendment.")
