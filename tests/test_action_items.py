"""Action items with shipping evidence, classification, and the planning gate (issue 4).

Rule: docs/rules.md#action-status: INC-030's action items "had owners but no
verified-shipped status", and INC-031 recurred four days later.
"""
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from core.api_tokens import create_token
from core.models import ApiToken
from incidents import action_items, gate, services
from incidents.evidence import EvidenceError, clean_evidence
from incidents.models import ActionItem, ActionItemEvent, GateOverride, PostmortemDomain
from tests.conftest import NOW, TEST_DATA

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]

INC_030 = "4f3e2d1c-0b9a-4876-9543-2a1b0c9d0f06"
SHA = "9f1c2ab7d3e4"


# --- Evidence, one shape per type ---------------------------------------------------------

@pytest.mark.parametrize("kind, evidence", [
    ("rule", {"rules_file": "rules/cloud-training.md"}),
    ("hook", {"hook_file": "hooks/watchdog.py", "commit_sha": "9F1C2AB"}),
    ("test", {"test_name": "tests/test_launcher.py::test_long_run_survives_blip",
              "commit_sha": SHA, "ci_run_link": "https://ci.example.com/runs/881"}),
    ("criterion", {"contract_path": "templates/postmortem.md",
                   "criterion_text": "Close-out lists evidence for every action item"}),
    ("memory", {"memory_file": "memory/cloud-training.md",
                "last_modified_utc": "2026-02-26T09:00:00+02:00"}),
])
def test_well_formed_evidence_is_accepted_and_normalized(kind, evidence):
    cleaned = clean_evidence(kind, evidence)
    assert set(cleaned) == set(evidence)
    if "commit_sha" in cleaned:
        assert cleaned["commit_sha"] == cleaned["commit_sha"].lower()
    if kind == "memory":
        assert cleaned["last_modified_utc"] == "2026-02-26T07:00:00+00:00"


@pytest.mark.parametrize("kind, evidence, field, message", [
    ("rule", {}, "rules_file", "rules file is required to ship a rule item"),
    ("rule", {"rules_file": "/etc/rules.md"}, "rules_file", "is an absolute path"),
    ("rule", {"rules_file": "../other/rules.md"}, "rules_file", "leaves the repository"),
    ("hook", {"hook_file": "hooks/w.py", "commit_sha": "not-a-sha"}, "commit_sha",
     "is not 7–40 hexadecimal characters"),
    ("hook", {"hook_file": "C:\\hooks\\w.py", "commit_sha": SHA}, "hook_file", "absolute path"),
    ("test", {"test_name": "t", "commit_sha": SHA, "ci_run_link": "ftp://x"}, "ci_run_link",
     r"is not an http\(s\) link"),
    ("test", {"test_name": "t"}, "commit_sha", "commit SHA is required"),
    ("criterion", {"contract_path": "templates/pm.md"}, "criterion_text", "required"),
    ("memory", {"memory_file": "m.md", "last_modified_utc": "yesterday"}, "last_modified_utc",
     "is not a date and time"),
    ("memory", {"memory_file": "m.md", "last_modified_utc": "2026-04-26"},
     "last_modified_utc", "is not a date and time"),
    ("rule", {"rules_file": "r.md", "commit_sha": SHA}, "commit_sha", "is not evidence for a rule"),
])
def test_malformed_evidence_is_refused_naming_the_field(kind, evidence, field, message):
    with pytest.raises(EvidenceError, match=message) as error:
        clean_evidence(kind, evidence)
    assert error.value.field == field


# --- Items and their history --------------------------------------------------------------

@pytest.fixture
def item(final_postmortem, alice):
    services.set_domain(final_postmortem, "trading", user=alice)
    return action_items.add_item(final_postmortem, "hook", "Watchdog for runs over 4 hours",
                                 alice, date(2026, 5, 1), user=alice)


def test_items_are_added_and_progressed_after_finalize_with_history(item, alice, bob):
    action_items.start_item(item, user=bob)
    with pytest.raises(EvidenceError) as error:
        action_items.ship_item(item, {"hook_file": "hooks/watchdog.py"}, user=bob)
    assert error.value.field == "commit_sha"
    assert ActionItem.objects.get(pk=item.pk).status == "in_progress"
    shipped = action_items.ship_item(item, {"hook_file": "hooks/watchdog.py", "commit_sha": SHA},
                                     user=bob)
    assert shipped.status == "shipped" and shipped.evidence["commit_sha"] == SHA
    history = [(event.by.username, event.change) for event in item.events.all()]
    assert history[0][0] == "alice" and history[0][1].startswith("created: hook")
    assert history[1] == ("bob", "status: open → in progress")
    assert history[2][1].startswith(
        "status: in progress → shipped; evidence hook_file=hooks/watchdog.py"
    )


def test_a_closed_postmortem_needs_items_all_shipped_or_dropped(final_postmortem, item, alice):
    assert not action_items.is_closed(final_postmortem)
    second = action_items.add_item(final_postmortem, "rule", "Heartbeat retry per run length",
                                   alice, date(2026, 5, 1))
    action_items.ship_item(item, {"hook_file": "hooks/watchdog.py", "commit_sha": SHA})
    assert not action_items.is_closed(final_postmortem)
    with pytest.raises(action_items.ActionItemError) as error:
        action_items.drop_item(second, "  ")
    assert error.value.field == "drop_reason"
    action_items.drop_item(second, "Superseded by the watchdog")
    assert action_items.is_closed(final_postmortem)


def test_a_postmortem_without_items_is_not_closed(final_postmortem):
    assert not action_items.is_closed(final_postmortem)


def test_an_item_of_no_listed_type_is_refused(final_postmortem, alice):
    with pytest.raises(action_items.ActionItemError, match="too vague to ship") as error:
        action_items.add_item(final_postmortem, "other", "Be careful", alice, date(2026, 5, 1))
    assert error.value.field == "kind"


def test_the_database_refuses_shipped_without_evidence_and_rewritten_history(item):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_actionitem SET status = 'shipped' WHERE id = %s", [item.pk]
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_actionitemevent SET change = 'nothing happened'")
    assert ActionItemEvent.objects.filter(item=item).count() == 1


def test_a_final_postmortem_can_be_classified(final_postmortem, alice, bob):
    services.set_domain(final_postmortem, "trading", user=alice)
    classification = services.set_domain(final_postmortem, "cloud-training", user=bob,
                                         tags=["gpu", "launcher"])
    assert (classification.domain, classification.tags, classification.set_by) == (
        "cloud-training", ["gpu", "launcher"], bob)
    assert classification.set_utc == NOW
    with pytest.raises(services.DomainError, match="is not a slug"):
        services.set_domain(final_postmortem, "Cloud Training")


# --- The planning gate: INC-030 → INC-031 -------------------------------------------------

def run_gate_with_stderr(domain: str, capsys, *args: str) -> tuple[int, str, str]:
    """`manage.py gate DOMAIN *args`: (exit code, stdout, stderr)."""
    code = 0
    try:
        call_command("gate", domain, *args)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_gate(domain: str, capsys, *args: str) -> tuple[int, str]:
    return run_gate_with_stderr(domain, capsys, *args)[:2]


def test_inc_030_blocks_its_domain_until_its_items_ship(
    root_patterns, alice, bob, tmp_path, capsys
):
    inc_030 = next(line for line in (TEST_DATA / "postmortems.jsonl").read_text().splitlines()
                   if INC_030 in line)
    (tmp_path / "inc-030.jsonl").write_text(inc_030 + "\n")
    call_command("import_postmortems", str(tmp_path / "inc-030.jsonl"), domain="cloud-training")
    capsys.readouterr()
    assert PostmortemDomain.objects.get(postmortem_id=INC_030).domain == "cloud-training"
    postmortem = PostmortemDomain.objects.get(postmortem_id=INC_030).postmortem
    auto_destroy = action_items.add_item(
        postmortem, "rule", "Add auto_destroy=False for runs over 240 minutes", alice,
        date(2026, 4, 23))
    heartbeat = action_items.add_item(
        postmortem, "rule", "Raise heartbeat retry threshold for long runs", bob, date(2026, 4, 23))

    code, out = run_gate("cloud-training", capsys)
    assert code == 1
    assert (
        "Gate closed: 2 open action items from finalized postmortems block 'cloud-training'." in out
    )
    assert f"postmortem {INC_030}: rule item {auto_destroy.pk} “Add auto_destroy=False" in out
    assert "owner alice, due 2026-04-23, open; needs rules file" in out
    assert "Raise heartbeat retry threshold" in out and "owner bob" in out
    # Fail closed: a domain no postmortem is classified in is refused (exit 2) ...
    assert run_gate("trading", capsys) == (2, "")
    # ... unless the caller asks for the old answer.
    assert run_gate("trading", capsys, "--allow-unknown") == (
        0, "Gate open: no postmortem is classified in domain 'trading' (unknown domain).\n")

    action_items.ship_item(auto_destroy, {"rules_file": "sop/cloud-training.md"}, user=alice)
    code, out = run_gate("cloud-training", capsys)
    assert code == 1 and "auto_destroy" not in out and "heartbeat" in out
    action_items.ship_item(heartbeat, {"rules_file": "sop/cloud-training.md"}, user=bob)
    code, out = run_gate("cloud-training", capsys)
    assert (code, out.strip()) == (
        0, "Gate open: every finalized postmortem in 'cloud-training' is closed out.")


def test_items_of_a_draft_do_not_block_yet(complete_draft, alice):
    services.set_domain(complete_draft, "trading")
    action_items.add_item(complete_draft, "test", "Regression test", alice, date(2026, 5, 1))
    result = gate.check_gate("trading")
    assert result.open and result.known_domain and not result.blocking


def test_an_override_opens_the_gate_without_hiding_the_items(item, alice):
    with pytest.raises(gate.GateOverrideError) as error:
        gate.override_gate("trading", "urgent", NOW - timedelta(hours=1), alice)
    assert error.value.field == "until_utc"
    gate.override_gate("trading", "Hotfix for a live order bug", NOW + timedelta(hours=4), alice)
    result = gate.check_gate("trading")
    assert result.open and len(result.blocking) == 1
    assert "Gate open by override until 2026-03-09 16:00 UTC" in result.message
    assert "(alice: Hotfix for a live order bug); 1 open action item still block" in result.message
    assert gate.check_gate("trading", now=NOW + timedelta(hours=4, seconds=-1)).open
    later = gate.check_gate("trading", now=NOW + timedelta(hours=4))
    assert not later.open
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM incidents_gateoverride")
    assert GateOverride.objects.count() == 1


# --- The gate API for CI ------------------------------------------------------------------

def test_the_gate_api_answers_ci_with_a_scoped_token(item, alice, anonymous_client):
    url = "/api/gate/trading"
    assert anonymous_client.get(url).status_code == 401
    _, key = create_token("CI", alice, ["gate:read"])
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)
    response = anonymous_client.get(url, headers={"Authorization": f"Bearer {key}"})
    body = response.json()
    assert response.status_code == 200 and body["open"] is False
    assert body["blocking"][0]["type"] == "hook"
    assert body["blocking"][0]["missing_evidence"] == "needs hook file + commit SHA"
    assert body["blocking"][0]["owner"] == "alice"
    bad = anonymous_client.get("/api/gate/Not A Slug", headers={"Authorization": f"Bearer {key}"})
    assert bad.status_code == 400 and bad.json()["field"] == "domain"
    token = ApiToken.objects.get()
    token.revoked_utc = NOW
    token.save()
    revoked = anonymous_client.get(url, headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]


def test_a_mistyped_domain_never_opens_the_gate(item, capsys):
    """docs/rules.md#gate-unknown-domain: exit 2 with the known domains on stderr."""
    code, out, err = run_gate_with_stderr("tradng", capsys)
    assert (code, out) == (2, "")
    assert "Unknown domain 'tradng'" in err and "Did you mean 'trading'?" in err
    assert "Known domains: trading." in err
    with pytest.raises(SystemExit) as exit_:
        call_command("gate", "tradng", json=True)
    refused = capsys.readouterr()
    assert exit_.value.code == 2 and refused.out == ""
    answer = json.loads(refused.err)
    assert answer["field"] == "domain" and answer["known_domains"] == ["trading"]
    assert answer["error"].startswith("Unknown domain 'tradng'")
    # A malformed domain is refused the same way, never read as "closed" (1) or "open" (0).
    code, _, err = run_gate_with_stderr("Not A Slug", capsys)
    assert code == 2 and "is not a slug" in err
    # Known domains answer as before; --allow-unknown changes nothing for them.
    assert run_gate("trading", capsys)[0] == 1
    assert run_gate("trading", capsys, "--allow-unknown")[0] == 1
    action_items.drop_item(ActionItem.objects.get(), "Superseded by the new watchdog", None)
    assert run_gate("trading", capsys)[0] == 0
    assert run_gate("tradng", capsys, "--allow-unknown") == (
        0, "Gate open: no postmortem is classified in domain 'tradng' (unknown domain).\n")


def test_the_gate_api_refuses_an_unknown_domain_with_404_and_the_known_ones(
        item, alice, anonymous_client):
    _, key = create_token("CI", alice, ["gate:read"])
    auth = {"Authorization": f"Bearer {key}"}
    response = anonymous_client.get("/api/gate/tradng", headers=auth)
    assert response.status_code == 404
    body = response.json()
    assert body["field"] == "domain" and body["known_domains"] == ["trading"]
    assert "Unknown domain 'tradng'" in body["error"] and "Did you mean 'trading'?" in body["error"]
    assert "open" not in body
    allowed = anonymous_client.get("/api/gate/tradng?allow_unknown=1", headers=auth)
    assert allowed.status_code == 200
    assert allowed.json()["open"] is True and allowed.json()["known_domain"] is False
    assert anonymous_client.get("/api/gate/tradng?allow_unknown=0", headers=auth).status_code == 404
    bad_flag = anonymous_client.get("/api/gate/tradng?allow_unknown=maybe", headers=auth)
    assert bad_flag.status_code == 400 and bad_flag.json()["field"] == "allow_unknown"
    # A known domain answers as before, with or without the flag.
    for url in ("/api/gate/trading", "/api/gate/trading?allow_unknown=1"):
        known = anonymous_client.get(url, headers=auth)
        assert known.status_code == 200 and known.json()["open"] is False
    # Without a valid token nothing is listed.
    assert "known_domains" not in anonymous_client.get("/api/gate/tradng").json()


def test_the_gate_command_prints_json_for_scripts(item, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("gate", "trading", json=True)
    assert exit_.value.code == 1
    assert json.loads(capsys.readouterr().out)["blocking"][0]["description"] == (
        "Watchdog for runs over 4 hours")


def test_shipped_rules_export_as_a_numbered_rules_file(item, final_postmortem, alice, capsys):
    rule = action_items.add_item(final_postmortem, "rule",
                                 "Fail fast, never silently — no fallback that masks a failure",
                                 alice, date(2026, 5, 1))
    action_items.add_item(
        final_postmortem, "rule", "Still open, not exported", alice, date(2026, 5, 1)
    )
    action_items.ship_item(rule, {"rules_file": "CLAUDE.md"})
    call_command("export_rules", domain="trading")
    out = capsys.readouterr().out
    assert out.startswith("# Team rules (trading)\n\n## Key Policies (from past failures)\n\n")
    assert (
        "1. **Fail fast, never silently — no fallback that masks a failure** — see `CLAUDE.md`."
        in out
    )
    assert "Still open" not in out and "Watchdog" not in out
    assert (f"- Policy 1 ← {final_postmortem.created_utc:%Y-%m-%d}: {final_postmortem.summary} "
            f"(postmortem {final_postmortem.pk})") in out


def test_an_admin_records_an_override_signed_with_their_name(item, db):
    from django.contrib.auth import get_user_model

    from tests.conftest import CsrfClient

    admin = get_user_model().objects.create_superuser("root", password="root-password-1")
    client = CsrfClient()
    client.force_login(admin)
    until = NOW + timedelta(hours=3)
    response = client.post("/admin/incidents/gateoverride/add/", {
        "domain": "trading", "reason": "Hotfix for a live order bug",
        "until_utc_0": until.strftime("%Y-%m-%d"), "until_utc_1": until.strftime("%H:%M:%S"),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    override = GateOverride.objects.get()
    assert override.created_by == admin and gate.check_gate("trading").open


def test_a_domain_with_many_open_items_lists_the_first_hundred_and_counts_all(
        final_postmortem, alice, capsys):
    services.set_domain(final_postmortem, "trading", user=alice)
    ActionItem.objects.bulk_create(
        ActionItem(postmortem=final_postmortem, kind="test", description=f"Test {n}",
                   owner=alice, due_date=date(2026, 1, 1) + timedelta(days=n))
        for n in range(130))
    result = gate.check_gate("trading")
    assert result.blocking_count == 130 and len(result.blocking) == gate.BLOCKING_LISTED
    assert result.blocking[0].item.description == "Test 0"  # earliest due first
    body = result.as_dict()
    assert body["open"] is False and body["blocking_count"] == 130
    assert (
        body["message"]
        == "Gate closed: 130 open action items from finalized postmortems block 'trading'."
    )
    with pytest.raises(SystemExit):
        call_command("gate", "trading")
    assert "… and 30 more" in capsys.readouterr().out


def test_the_gate_api_reads_the_token_user_s_role_with_the_token(item, alice, anonymous_client):
    """The role that bounds a token's scopes is read in the token's own query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, key = create_token("ci", alice, ["gate:read"])
    with CaptureQueriesContext(connection) as queries:
        response = anonymous_client.get("/api/gate/trading",
                                        headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    touching_groups = [q["sql"] for q in queries if "auth_group" in q["sql"]]
    assert len(touching_groups) == 1 and "incidents_apitoken" in touching_groups[0]
