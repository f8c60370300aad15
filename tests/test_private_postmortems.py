"""Private postmortems (docs/rules.md#private-postmortems): a postmortem restricted to a
group leaves no trace for anyone outside it.

On the demo-like site (tests/site_data.py) plus a restricted final postmortem (in the demo's
cloud-training domain, with an open action item, an amendment, knowledge, policy and
runbook links and a linked cost log entry) and a restricted draft, each holding a word
found nowhere else. As a non-member (an editor, and an admin who is not a member) the test
follows every link from every page reachable from the dashboard, fetches every URL pattern
filled with the restricted postmortems' ids and rows (GET and POST), searches for the
words, and reads the JSON, CSV, YAML and Markdown endpoints and the token APIs: no answer
holds the ids or the words, and every URL naming them is a 404. A member sees both; the
gate counts the restricted one as "1 restricted postmortem".
"""
import re
from datetime import date
from html import unescape
from urllib.parse import urldefrag, urljoin

import pytest
from django.contrib.auth.models import Group

from core import roles
from core.api_tokens import create_token
from costlog import services as cost_services
from costlog.models import MishapEntry
from incidents import action_items, gate, services, visibility
from incidents.failure_modes import FAILURE_MODES
from incidents.models import (
    ActionItem,
    ContributingFactor,
    Postmortem,
    PostmortemAccess,
    TimelineEntry,
)
from knowledge.links import set_link
from tests.conftest import CsrfClient, fill_complete_draft, make_user
from tests.security_helpers import url_patterns
from tests.site_data import site

SECRET_FINAL = "zebrafinchquartz"
SECRET_DRAFT = "otterglimmerwick"
SECRET_ITEM = "quartzlatchrotation"
SECRET_NOTE = "vellumcorvidnote"
LINK = re.compile(r"""(?:href|action|hx-get|hx-post|src)\s*=\s*["']([^"']+)["']""")
# Pages the crawl does not follow: signing out ends the session; static files hold no data.
SKIP = re.compile(r"^/(accounts/logout/|static/)")
# Django's admin is crawled from its lists of records that may name a postmortem and their
# change pages (not every filter and sort of every list, which would be thousands).
ADMIN_FOLLOWED = re.compile(
    r"^/admin/(incidents/(postmortem|amendment|actionitem)|costlog/mishapentry"
    r"|knowledge/(knowledgeentry|policy)|runbooks/runbook)/([^/?]+/change/)?$")
CRAWL_LIMIT = 2500


@pytest.fixture
def world(db, settings):
    settings.DEBUG = False
    demo = site()
    security = Group.objects.create(name="Security")
    member = make_user("mara-member", password="mara-member-password-1")
    member.groups.add(security)
    outsider = make_user("otto-outsider", password="otto-outsider-password-1")
    restricted = fill_complete_draft(Postmortem.objects.create(created_by=member))
    restricted.summary = f"Signing key {SECRET_FINAL} was pasted in a shared channel."
    restricted.save()
    TimelineEntry.objects.filter(postmortem=restricted, position=0).update(
        event=f"Key {SECRET_FINAL} seen in the channel log")
    services.set_domain(restricted, "cloud-training", member)
    visibility.set_access(restricted, [security], member)
    restricted = services.finalize(restricted, member)
    item = action_items.add_item(restricted, ActionItem.Kind.RULE,
                                 f"Rotate keys with {SECRET_ITEM}", member,
                                 date(2026, 12, 24), member)
    services.add_amendment(restricted, member, f"The vendor confirmed {SECRET_NOTE}.")
    for target in (demo.knowledge, demo.policy, demo.runbook):
        set_link(restricted, target, True)
    cost_services.link_entry(demo.entry, restricted, user=member)
    draft = Postmortem.objects.create(created_by=member,
                                      summary=f"Badge reader {SECRET_DRAFT} let a visitor in.")
    visibility.set_access(draft, [security], member)
    return {"demo": demo, "member": member, "outsider": outsider, "security": security,
            "final": restricted, "draft": draft, "item": item}


def client_for(user) -> CsrfClient:
    client = CsrfClient()
    client.force_login(user)
    return client


def secrets_of(world) -> list[str]:
    final, draft = world["final"], world["draft"]
    return [str(final.pk), final.pk.hex, str(draft.pk), draft.pk.hex, SECRET_FINAL,
            SECRET_DRAFT, SECRET_ITEM, SECRET_NOTE, f"/action-items/{world['item'].pk}/"]


def leaks(body: str, world) -> list[str]:
    text = unescape(body).lower()
    return [secret for secret in secrets_of(world) if secret.lower() in text]


def restricted_paths(world) -> list[tuple[str, str]]:
    """(route, path) of every URL pattern naming a restricted postmortem or its rows."""
    out = []
    for pm in (world["final"], world["draft"]):
        values = {
            "pk": pm.pk, "name": "summary", "field": "summary", "mode": FAILURE_MODES[0].slug,
            "kind": "timeline", "change": "start", "item_id": world["item"].pk,
            "meeting_id": getattr(pm.meetings.first(), "pk", 1),
            "row_id": TimelineEntry.objects.filter(postmortem=pm).values_list("pk", flat=True)
            .first() or 1,
            "factor_id": ContributingFactor.objects.filter(postmortem=pm)
            .values_list("pk", flat=True).first() or 1,
        }
        for route, name in url_patterns():
            if not ((name.startswith("incidents:") and ("<uuid:pk>" in route
                                                       or "<int:item_id>" in route))
                    or name == "costlog:postmortem_link"):
                continue
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>",
                                lambda m, values=values: str(values[m.group(1)]), route)
            out.append((route, path))
    return out


def crawl(client, world, start: list[str]) -> tuple[int, dict[str, list[str]]]:
    """Follow every same-site link from `start` (GET); returns (pages read, leaks by path)."""
    seen, queue, found = set(), list(start), {}
    while queue:
        path = queue.pop()
        if path in seen or SKIP.match(path):
            continue
        seen.add(path)
        assert len(seen) < CRAWL_LIMIT, "the crawl found more pages than expected"
        answer = client.get(path)
        body = answer.content.decode("utf-8", "replace")
        if answer.status_code in (301, 302) and answer.get("Location", "").startswith("/"):
            queue.append(answer["Location"])
        # A search page shows its own query back: a word the path holds is not a leak of
        # the page (a link holding it would be one, of the page that linked it).
        leaked = [secret for secret in leaks(body, world) + leaks(answer.get("Location", ""),
                                                                  world)
                  if secret.lower() not in path.lower()]
        if leaked:
            found[path] = leaked
        if "html" not in answer.get("Content-Type", ""):
            continue
        for link in LINK.findall(body):
            target, _ = urldefrag(urljoin(path, unescape(link)))
            if target.startswith("/admin/") and not ADMIN_FOLLOWED.match(target):
                continue
            if target.startswith("/") and not target.startswith("//"):
                queue.append(target)
    return len(seen), found


@pytest.mark.parametrize("who", ["outsider", "admin", "viewer"])
def test_a_non_member_finds_no_trace_anywhere(world, who):
    user = {"outsider": world["outsider"], "admin": world["demo"].admin,
            "viewer": world["demo"].viewer}[who]
    client = client_for(user)
    # every URL naming a restricted postmortem (or its item) is a 404, GET and POST
    for route, path in restricted_paths(world):
        for method in (client.get, client.post):
            answer = method(path)
            assert answer.status_code == 404, (who, method.__name__, route, answer.status_code)
            assert not leaks(answer.content.decode(), world), path
    searches = [f"/search/?q={word}" for word in (SECRET_FINAL, SECRET_DRAFT, SECRET_ITEM,
                                                   SECRET_NOTE)]
    downloads = ["/insights.json", "/insights.csv", "/costs/totals.csv",
                 "/knowledge/ai-knowledge-base.yaml", "/policies.md", "/loop/", "/admin/",
                 "/admin/incidents/postmortem/", "/admin/incidents/actionitem/",
                 "/admin/incidents/amendment/", "/admin/costlog/mishapentry/",
                 "/admin/knowledge/knowledgeentry/", "/admin/knowledge/policy/",
                 "/admin/runbooks/runbook/"]
    pages, found = crawl(client, world, ["/", *searches, *downloads])
    assert found == {}
    assert pages > 60  # the crawl reached the site, not just the dashboard


def test_the_token_apis_name_no_restricted_postmortem(world, client):
    _, key = create_token("ci", world["outsider"], ["gate:read", "docs:read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    answer = client.get("/api/gate/cloud-training", **auth)
    assert answer.status_code == 200
    body = answer.json()
    assert not leaks(answer.content.decode(), world)
    assert body["restricted"] == "1 restricted postmortem"
    assert body["restricted_postmortems"] == 1
    assert "1 restricted postmortem" in body["message"]
    # counted (the gate stays closed for it), never listed
    listed = {row["action_item"] for row in body["blocking"]}
    assert world["item"].pk not in listed
    assert body["blocking_count"] == len(listed) + 1
    for path in ("/knowledge/ai-knowledge-base.yaml", "/policies.md"):
        answer = client.get(path, **auth)
        assert answer.status_code == 200 and not leaks(answer.content.decode(), world), path


def test_the_gate_counts_a_restricted_postmortem_without_naming_it(world):
    outsider, member = world["outsider"], world["member"]
    seen_by_outsider = gate.check_gate("cloud-training", user=outsider)
    seen_by_member = gate.check_gate("cloud-training", user=member)
    assert seen_by_outsider.restricted_note == "1 restricted postmortem"
    assert seen_by_outsider.blocking_count == seen_by_member.blocking_count
    assert world["item"].pk not in {b.item.pk for b in seen_by_outsider.blocking}
    assert world["item"].pk in {b.item.pk for b in seen_by_member.blocking}
    assert seen_by_member.restricted_postmortems == 0
    assert not seen_by_outsider.open
    # the operator's CLI (no user) reads no restricted postmortem either
    assert gate.check_gate("cloud-training").restricted_postmortems == 1


def test_a_member_sees_it_everywhere(world):
    client = client_for(world["member"])
    final, draft = world["final"], world["draft"]
    assert SECRET_FINAL in client.get(f"/postmortems/{final.pk}/").content.decode()
    assert SECRET_NOTE in client.get(f"/postmortems/{final.pk}/").content.decode()
    assert SECRET_DRAFT in client.get(f"/postmortems/{draft.pk}/").content.decode()
    assert SECRET_FINAL in client.get("/postmortems/").content.decode()
    assert SECRET_DRAFT in client.get("/").content.decode()
    assert SECRET_ITEM in client.get("/").content.decode()
    assert str(final.pk) in client.get(f"/search/?q={SECRET_FINAL}").content.decode()
    assert str(final.pk) in client.get(f"/knowledge/{world['demo'].knowledge.key}/") \
        .content.decode()
    assert visibility.can_see(world["member"], final)
    assert not visibility.can_see(world["outsider"], final)
    assert set(visibility.visible_postmortems(world["member"])) == set(Postmortem.objects.all())
    assert final not in visibility.visible_postmortems(world["outsider"])


def test_an_admin_sees_it_only_as_a_member(world):
    admin = world["demo"].admin
    assert roles.role_of(admin) == roles.ADMIN
    assert not visibility.can_see(admin, world["final"])
    admin.groups.add(world["security"])
    assert visibility.can_see(admin, world["final"])
    assert client_for(admin).get(f"/postmortems/{world['final'].pk}/").status_code == 200


# --- The restriction form, as the page renders it ------------------------------------------

def test_an_editor_restricts_a_draft_with_the_rendered_form(django_app, world):
    member, outsider = world["member"], world["outsider"]
    pm = Postmortem.objects.create(created_by=member, summary="Laptop left in a taxi")
    page = django_app.get(f"/postmortems/{pm.pk}/", user=member.get_username())
    form = page.forms["access-form"]
    form["groups"] = [str(world["security"].pk)]
    answer = form.submit().follow()
    assert "Restricted to Security." in answer.text
    assert list(PostmortemAccess.objects.filter(postmortem=pm).values_list("group_ids",
                                                                           flat=True)) \
        == [[world["security"].pk]]
    assert django_app.get(f"/postmortems/{pm.pk}/", user=outsider.get_username(),
                          status=404).status_code == 404
    # lifted again on the draft (clear every box): everyone reads it
    form = django_app.get(f"/postmortems/{pm.pk}/", user=member.get_username()) \
        .forms["access-form"]
    form["groups"] = []
    assert "Every signed-in person can read" in form.submit().follow().text
    assert django_app.get(f"/postmortems/{pm.pk}/", user=outsider.get_username()) \
        .status_code == 200
    assert PostmortemAccess.objects.filter(postmortem=pm).count() == 2


def test_a_final_record_is_only_tightened_through_its_form(django_app, world):
    member = world["member"]
    legal = Group.objects.create(name="Legal")
    member.groups.add(legal)
    pm = fill_complete_draft(Postmortem.objects.create(created_by=member))
    visibility.set_access(pm, [world["security"], legal], member)
    pm = services.finalize(pm, member)
    url = f"/postmortems/{pm.pk}/"
    form = django_app.get(url, user=member.get_username()).forms["access-form"]
    form["groups"] = []
    answer = form.submit().follow()
    assert "can be tightened, never lifted" in answer.text
    form = answer.forms["access-form"]
    form["groups"] = [str(legal.pk)]
    assert "Restricted to Legal." in form.submit().follow().text
    assert visibility.current_group_ids(pm) == {legal.pk}
    assert not visibility.can_see(world["outsider"], pm)
    assert django_app.get(url, user=world["outsider"].get_username(), status=404)


def test_an_editor_names_only_groups_they_belong_to(world):
    hr = Group.objects.create(name="HR")
    with pytest.raises(visibility.AccessError, match="groups you are a member of"):
        visibility.set_access(world["draft"], [hr], world["member"])
    with pytest.raises(visibility.AccessError, match="cannot change who reads"):
        visibility.set_access(world["draft"], [], world["outsider"])
    answer = client_for(world["member"]).post(f"/postmortems/{world['draft'].pk}/access/",
                                              {"groups": [str(hr.pk)]}, follow=True)
    assert "Groups:" in answer.content.decode()
    assert visibility.current_group_ids(world["draft"]) == {world["security"].pk}


def test_a_restricted_draft_is_discarded_with_its_access_history(world):
    draft = world["draft"]
    answer = client_for(world["member"]).post(f"/postmortems/{draft.pk}/discard/")
    assert answer.status_code == 302
    assert not Postmortem.objects.filter(pk=draft.pk).exists()
    assert not PostmortemAccess.objects.filter(postmortem_id=draft.pk).exists()


def test_a_restricted_id_is_refused_as_a_missing_one_in_the_cost_log_form(world):
    entry = MishapEntry.objects.filter(postmortem__isnull=True).first()
    assert entry is not None
    page = client_for(world["outsider"]).get(f"/costs/entries/{entry.pk}/correct/")
    assert page.status_code == 200
    from costlog.forms import MishapEntryForm
    form = MishapEntryForm({"postmortem": str(world["final"].pk)}, user=world["outsider"])
    form.is_valid()
    assert "is not the id of a postmortem" in str(form.errors["postmortem"])
    form = MishapEntryForm({"postmortem": str(world["final"].pk)}, user=world["member"])
    form.is_valid()
    assert "postmortem" not in form.errors
