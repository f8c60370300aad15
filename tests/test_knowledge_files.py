"""Knowledge base YAML and policies.md: the real files round-trip; schema errors name the
entry and key; the importer never half-writes."""
import pytest
import yaml

from incidents.models import Postmortem
from knowledge.kb_yaml import KnowledgeSchemaError, export_yaml, import_yaml, parse_yaml
from knowledge.models import KnowledgeEntry, Policy
from knowledge.policies_md import PolicyFileError, export_policies, import_policies
from tests.conftest import TEST_DATA

KXIN = "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"


def test_real_knowledge_base_round_trips_byte_for_byte(real_knowledge):
    yaml_text, _ = real_knowledge
    assert KnowledgeEntry.objects.count() == 4
    assert export_yaml() == yaml_text
    assert yaml.safe_load(export_yaml()) == yaml.safe_load(yaml_text)


def test_decision_tree_yes_no_keys_survive_yaml_booleans(real_knowledge):
    tree = KnowledgeEntry.objects.get(key="urgent_failure")
    assert tree.kind == KnowledgeEntry.Kind.DECISION_TREE
    assert tree.steps[0] == {"question": "Are jobs failing and costing money right now?",
                             "yes": "stop_jobs", "no": "normal_process"}
    assert tree.step_by_id("stop_jobs")["action"].startswith("Stop failing jobs")


def test_reimport_is_unchanged_and_edits_update(real_knowledge):
    yaml_text, _ = real_knowledge
    assert import_yaml(yaml_text).unchanged == 4
    edited = yaml_text.replace('severity: "HIGH"\n    category: "deployment"',
                               'severity: "MEDIUM"\n    category: "deployment"')
    result = import_yaml(edited)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert KnowledgeEntry.objects.get(key="deployment_process").severity == "MEDIUM"


def test_linked_postmortems_export_as_incidents_and_import_back(real_postmortems, real_knowledge):
    entry = KnowledgeEntry.objects.get(key="silent_fallback")
    entry.postmortems.add(KXIN)
    text = export_yaml()
    assert f'    incidents:\n      - "{KXIN}"\n' in text
    entry.postmortems.clear()
    import_yaml(text)
    assert [str(pm.pk) for pm in entry.postmortems.all()] == [KXIN]
    assert export_yaml() == text


@pytest.mark.parametrize("change, entry, key", [
    (('severity: "CRITICAL"\n    category: "code"', 'severity: "URGENT"\n    category: "code"'),
     "silent_fallback", "severity"),
    ((('    reference_files:\n      - "docs/v2/ops/03-deployment-checklist.md"\n'
       'anti_patterns'), 'anti_patterns'), "deployment_process", "reference_files"),
    (('  - id: silent_fallback\n', '  - id: silent_fallback\n    owner: "bob"\n'),
     "silent_fallback", "owner"),
    (("        no: normal_process", "        no: nowhere"), "urgent_failure", "steps[0].no"),
    ((('    checklist:\n      - "Inference module imports checked"\n      - "Container built '
       'locally"\n      - "Sample payload answered"\n      - "Endpoint InService"\n'
       '      - "Logs checked"'), '    checklist: "Logs checked"'),
     "deployment_process", "checklist"),
])
def test_schema_errors_name_entry_and_key(real_knowledge, change, entry, key):
    yaml_text, _ = real_knowledge
    bad = yaml_text.replace(*change, 1)
    assert bad != yaml_text
    before = export_yaml()
    with pytest.raises(KnowledgeSchemaError) as caught:
        import_yaml(bad)
    assert (caught.value.entry, caught.value.key) == (entry, key)
    assert entry in str(caught.value) and key in str(caught.value)
    assert export_yaml() == before


def test_unknown_incident_id_refused_and_nothing_written(real_knowledge):
    yaml_text, _ = real_knowledge
    bad = yaml_text.replace('version: 1\n', 'version: 1\n', 1).replace(
        '  - id: silent_fallback\n',
        '  - id: silent_fallback\n    incidents:\n      - "00000000-0000-4000-8000-000000000000"\n')
    bad = bad.replace('name: "Silent Fallback"', 'name: "Silent Fallback (renamed)"')
    with pytest.raises(KnowledgeSchemaError, match="no postmortem has id"):
        import_yaml(bad)
    assert KnowledgeEntry.objects.get(key="silent_fallback").name == "Silent Fallback"


def test_duplicate_id_and_version_refused(db):
    text = (TEST_DATA / "ai-knowledge-base.yaml").read_text(encoding="utf-8")
    with pytest.raises(KnowledgeSchemaError, match="version"):
        parse_yaml(text.replace("version: 1", "version: 2"))
    with pytest.raises(KnowledgeSchemaError, match="appears twice"):
        parse_yaml(text.replace("id: deployment_process", "id: feature_verification"))


def test_real_policies_round_trip_byte_for_byte(real_knowledge):
    _, policies_text = real_knowledge
    assert Policy.objects.count() == 12
    four = Policy.objects.get(number=4)
    assert four.title == "Fail fast, never silently"
    assert [origin.text for origin in four.origins.all()] == [
        "2026-01-12 and 2026-01-30: silent fallback to heuristics masked complete model failure."]
    assert export_policies() == policies_text
    assert import_policies(policies_text).unchanged == 12


def test_policy_links_export_as_origin_lines_and_round_trip(real_postmortems, real_knowledge):
    Policy.objects.get(number=4).postmortems.add(KXIN)
    text = export_policies()
    kxin = Postmortem.objects.get(pk=KXIN)
    assert f"- Policy 4 ← 2026-02-02: {kxin.summary} (postmortem {KXIN})\n" in text
    Policy.objects.get(number=4).postmortems.clear()
    import_policies(text)
    assert [str(pm.pk) for pm in Policy.objects.get(number=4).postmortems.all()] == [KXIN]
    assert export_policies() == text


@pytest.mark.parametrize("bad, line, words", [
    ("3. **Verify deployments** — x", 5, "out of order"),
    ("- Policy 13 ← 2026-01-01: nothing", 20, "not in the list"),
    ("Some stray paragraph", 5, "expected"),
])
def test_policy_file_errors_name_the_line(real_knowledge, bad, line, words):
    _, policies_text = real_knowledge
    lines = policies_text.split("\n")
    if bad.startswith("- Policy"):
        lines.insert(line - 1, bad)
    else:
        lines[line - 1] = bad
    with pytest.raises(PolicyFileError) as caught:
        import_policies("\n".join(lines))
    assert caught.value.line == line
    assert words in str(caught.value)
    assert export_policies() == policies_text
