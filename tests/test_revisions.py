"""Three people editing one draft (issue 3): version-checked autosaves, 409 conflicts with
both values, "keep mine", and the append-only revision history."""
import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from incidents import services
from incidents.models import ContributingFactor, FieldRevision, Postmortem
from tests.conftest import CsrfClient, fill_complete_draft

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


@pytest.fixture
def bob_client(bob):
    client = CsrfClient()
    client.force_login(bob)
    return client


def save(client, pm, name, value, base, editor):
    return client.post(url("postmortem_field", pm.pk, name),
                       {name: value, "base_version": str(base)}, htmx=True,
                       headers={"X-Scarlog-Editor": editor})


def test_a_stale_save_gets_409_with_both_values_and_keep_mine_wins(alice_client, bob_client,
                                                                      alice):
    pm = Postmortem.objects.create(created_by=alice)
    first = save(alice_client, pm, "prevention", "An alert fires on expiry.", 0, "page-a")
    assert first.status_code == 200
    assert 'id="version-prevention" value="1" hx-swap-oob="true"' in first.content.decode()

    stale = save(bob_client, pm, "prevention", "A metric on open positions.", 0, "page-b")
    assert stale.status_code == 409
    body = stale.content.decode()
    assert "alice saved this while you were typing" in body
    assert '<td class="theirs">An alert fires on expiry.</td>' in body
    assert '<td class="mine">A metric on open positions.</td>' in body
    assert "Keep mine" in body and "Keep theirs" in body
    assert Postmortem.objects.get(pk=pm.pk).prevention == "An alert fires on expiry."

    # "Keep mine" re-sends bob's value based on the version he has now seen.
    kept = save(bob_client, pm, "prevention", "A metric on open positions.", 1, "page-b")
    assert kept.status_code == 200
    assert Postmortem.objects.get(pk=pm.pk).prevention == "A metric on open positions."
    history = alice_client.get(url("field_history", pm.pk, "prevention")).content.decode()
    assert history.index("A metric on open positions.") < history.index("An alert fires")
    assert [(r.version, r.author.username) for r in FieldRevision.objects.order_by("version")] \
        == [(1, "alice"), (2, "bob")]


def test_own_queued_saves_and_identical_values_are_not_conflicts(alice_client, bob_client,
                                                                  alice):
    pm = Postmortem.objects.create(created_by=alice)
    assert save(alice_client, pm, "summary", "Position", 0, "page-a").status_code == 200
    # The page sent its next save before the first answer updated its version.
    assert save(alice_client, pm, "summary", "Position held", 0, "page-a").status_code == 200
    # Another page sending the very same text (or a blur re-sending it) is no conflict
    # and no new revision.
    assert save(bob_client, pm, "summary", "Position held", 1, "page-b").status_code == 200
    assert save(alice_client, pm, "summary", "Position held", 2, "page-a").status_code == 200
    assert list(FieldRevision.objects.filter(key="summary").values_list("version", flat=True)
                .order_by("version")) == [1, 2]


def test_a_save_without_its_version_is_refused_naming_it(alice_client, alice):
    pm = Postmortem.objects.create(created_by=alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "summary"), {"summary": "x"},
                                 htmx=True)
    assert response.status_code == 400
    assert response.content.decode().startswith("base_version: the page did not say")
    ahead = save(alice_client, pm, "summary", "x", 7, "page-a")
    assert ahead.status_code == 400
    assert ahead.content.decode() == ("base_version: 7 is newer than the stored version 0 of "
                                      "summary; reload the page.")
    assert Postmortem.objects.get(pk=pm.pk).summary == ""


def test_rows_are_versioned_and_a_removed_row_keeps_the_typed_text(alice_client, bob_client,
                                                                    alice):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    factor = pm.contributing_factors.first()
    path = url("row_update", pm.pk, "factors", factor.pk)
    assert alice_client.post(path, {"text": "No monitor", "base_version": "0"},
                             htmx=True).status_code == 200
    conflict = bob_client.post(path, {"text": "No watchdog", "base_version": "0"}, htmx=True)
    assert conflict.status_code == 409
    assert '<td class="theirs">No monitor</td>' in conflict.content.decode()

    alice_client.post(url("row_remove", pm.pk, "factors", factor.pk), htmx=True)
    gone = bob_client.post(path, {"text": "No watchdog process", "base_version": "1"},
                           htmx=True)
    assert gone.status_code == 409
    body = gone.content.decode()
    assert "This contributing factor was removed by someone else" in body
    assert "<code>No watchdog process</code>" in body


def test_the_revision_history_is_append_only_in_postgresql(alice_client, alice):
    pm = Postmortem.objects.create(created_by=alice)
    save(alice_client, pm, "summary", "First words", 0, "page-a")
    for statement in ("UPDATE incidents_fieldrevision SET values = '{}'",
                      "DELETE FROM incidents_fieldrevision"):
        # The DELETE check waits for the commit (the draft may go too); this test's
        # transaction never commits, so the check is asked for at once.
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS ALL IMMEDIATE; {statement}")
    assert FieldRevision.objects.count() == 1


def test_discarding_a_draft_takes_its_history_and_a_final_one_takes_no_more(alice_client,
                                                                            alice):
    pm = Postmortem.objects.create(created_by=alice)
    save(alice_client, pm, "summary", "Draft words", 0, "page-a")
    services.discard_draft(pm)
    assert not FieldRevision.objects.exists()

    final = services.finalize(fill_complete_draft(Postmortem.objects.create(created_by=alice)),
                              alice)
    with pytest.raises(IntegrityError, match="final postmortem"), transaction.atomic():
        FieldRevision.objects.create(postmortem=final, field="summary", key="summary",
                                     version=1, values={"summary": "late"})
    response = save(alice_client, final, "summary", "late", 0, "page-a")
    assert response.status_code == 409
    assert ContributingFactor.objects.filter(postmortem=final).count() == 3


def test_keep_mine_merges_cell_by_cell_and_mine_wins_only_where_both_changed():
    from incidents.revisions import EditConflict, keep_mine
    base = {"utc": "2026-11-30 14:02", "event": "Alert fired", "trace_id": "t-1"}
    theirs = FieldRevision(version=3, values={**base, "event": "Alert fired at -2.1%",
                                              "utc": "2026-11-30 14:03"})
    mine = {**base, "trace_id": "t-2", "utc": "2026-11-30 14:05"}
    merged = keep_mine(EditConflict("timeline:7", 2, theirs, base), mine)
    assert merged == {"utc": "2026-11-30 14:05", "event": "Alert fired at -2.1%",
                      "trace_id": "t-2"}
    # Never saved before (version 0): nothing to merge against, every cell is mine.
    assert keep_mine(EditConflict("timeline:7", 0, theirs, None), mine) == mine
