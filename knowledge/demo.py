"""The knowledge app's part of `manage.py demo`: the knowledge base and policies in
knowledge/demo_data/ (copies of the seed's), and the links the seed's incident narrative
states between them, the runbooks and the postmortems, so the feedback loop and loop-gaps
pages have both linked and missing steps."""
from pathlib import Path

from incidents.models import Postmortem
from knowledge.kb_yaml import import_yaml
from knowledge.links import find_target, set_link
from knowledge.policies_md import import_policies

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
# (target kind, target, postmortem id): links the seed's incident narrative states.
DEMO_LINKS = (
    ("knowledge", "silent_fallback", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("knowledge", "silent_fallback", "5b7c2d10-8e4f-4a2b-b6c3-1d9e8f7a0b02"),
    ("knowledge", "feature_verification", "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"),
    ("knowledge", "deployment_process", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("policy", "4", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("policy", "4", "5b7c2d10-8e4f-4a2b-b6c3-1d9e8f7a0b02"),
    ("policy", "6", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("policy", "7", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("runbook", "ops-05", "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"),
    ("runbook", "ops-03", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("runbook", "risk-15", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
)


def load(login, stdout) -> None:
    """Import the knowledge base and policies (idempotent), then the demo links."""
    knowledge = import_yaml((DEMO_DATA / "ai-knowledge-base.yaml").read_text(encoding="utf-8"))
    policies = import_policies((DEMO_DATA / "policies.md").read_text(encoding="utf-8"))
    for kind, key, postmortem_id in DEMO_LINKS:
        set_link(Postmortem.objects.get(pk=postmortem_id), find_target(kind, key), True)
    stdout.write(f"Documentation: {knowledge.created} knowledge-base entries and "
                 f"{policies.created} policies loaded; the seed's links set.")
