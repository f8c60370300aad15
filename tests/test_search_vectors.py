"""The search vectors are kept by PostgreSQL (core.search_vector): written with each row,
whoever writes it, final postmortems included; and the SQLite demo searches without them."""
import os
import subprocess
import sys

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection

from core.search_vector import TRIGGER_NAME
from incidents.models import Amendment, ContributingFactor, Postmortem, TimelineEntry
from incidents.services import add_amendment
from knowledge.models import KnowledgeEntry, Policy
from knowledge.search import SOURCES, search
from runbooks.models import Runbook
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.django_db


def _found(model, word: str) -> set:
    return set(model.objects.filter(search_vector=SearchQuery(word, config="english"))
               .values_list("pk", flat=True))


def _urls(query: str) -> list[str]:
    return [hit.url for hit in search(query)]


def test_every_searched_table_has_the_trigger_and_the_gin_index():
    with connection.cursor() as cursor:
        for source in SOURCES:
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                           "AND tgname LIKE %s", [source.table, f"pgtrigger_{TRIGGER_NAME}_%"])
            assert cursor.fetchone()[0] == 1, source.table
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                           [source.index])
            assert "USING gin (search_vector)" in cursor.fetchone()[0]
            cursor.execute("SELECT attgenerated FROM pg_attribute WHERE attrelid = "
                           "%s::regclass AND attname = 'search_vector'", [source.table])
            assert cursor.fetchone()[0] == ""  # a plain column, kept by the trigger


def test_a_drafts_vector_follows_its_inserts_and_updates(alice):
    draft = Postmortem.objects.create(created_by=alice, summary="The zebrafish feed stalled.")
    assert draft.search_vector is None  # the database wrote it, not Python
    assert _urls("zebrafish") == [f"/postmortems/{draft.pk}/"]
    draft.summary = "The quokka feed stalled."
    draft.save()
    assert _urls("zebrafish") == [] and _urls("quokka") == [f"/postmortems/{draft.pk}/"]
    draft.save_locked_draft(update_fields=["prevention"])  # the vector column is not written
    assert _found(Postmortem, "quokka") == {draft.pk}
    with connection.cursor() as cursor:  # any writer, not only the ORM
        cursor.execute("UPDATE incidents_postmortem SET lessons_learned = 'Watch the axolotl' "
                       "WHERE id = %s", [draft.pk])
    assert _found(Postmortem, "axolotl") == _found(Postmortem, "quokka") == {draft.pk}
    TimelineEntry.objects.bulk_create([TimelineEntry(postmortem=draft, event="Narwhal alarm")])
    ContributingFactor.objects.bulk_create([ContributingFactor(postmortem=draft,
                                                               text="No pangolin check")])
    assert search("narwhal")[0].matched_in == ["timeline"]
    assert search("pangolin")[0].matched_in == ["factor"]


def test_a_final_postmortem_has_its_vector_and_is_found(final_postmortem, alice):
    stored = Postmortem.objects.get(pk=final_postmortem.pk)
    assert stored.is_final and stored.search_vector
    assert "invalid" in stored.search_vector  # stemmed from "invalidation"
    assert TimelineEntry.objects.filter(postmortem=stored, search_vector__isnull=True).count() == 0
    hits = search("invalidation monitor")
    assert hits[0].url == f"/postmortems/{stored.pk}/"
    assert {"postmortem", "factor"} <= set(hits[0].matched_in)
    amendment = add_amendment(stored, alice, "Later the okapi signal was rewired.")
    assert _found(Amendment, "okapi") == {amendment.pk}
    assert search("okapi")[0].kind == "amendment"


def test_knowledge_policies_and_runbooks_are_found_as_written(db):
    entry = KnowledgeEntry.objects.create(key="kb-1", kind="pattern", name="Check the wombat",
                                          severity="HIGH")
    policy = Policy.objects.create(number=99, title="Feed the capybara", body="Every day.")
    runbook = Runbook.objects.create(key="ops-99", path="ops/99.md", title="Tapir restart",
                                     perspective="operations", last_updated="2026-01-01")
    assert _found(KnowledgeEntry, "wombat") == {entry.pk}
    assert _found(Policy, "capybara") == {policy.pk}
    assert _found(Runbook, "tapir") == {runbook.pk}
    policy.body = "Every night, the ibis."
    policy.save()
    assert _found(Policy, "ibis") == {policy.pk}
    assert search("ibis")[0].title == "Policy 99: Feed the capybara"


def test_the_sqlite_demo_migrates_and_searches_simplified(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SCARLOG_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    manage = [sys.executable, str(PROJECT_DIR / "manage.py")]
    subprocess.run([*manage, "demo", "--no-serve"], env=env, check=True, capture_output=True,
                   cwd=PROJECT_DIR, timeout=300)
    script = ("from knowledge.search import is_simplified, search; "
              "hits = search('pending orders'); "
              "print(is_simplified(), hits[0].title, sorted(hits[0].matched_in))")
    shown = subprocess.run([*manage, "shell", "-c", script], env=env, check=True,
                           capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    last_line = shown.stdout.strip().splitlines()[-1]
    assert last_line.startswith("True A single stock crashed 74%"), shown.stdout
    assert "'timeline'" in last_line
