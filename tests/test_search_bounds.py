"""Search ranks within a bounded candidate set (knowledge.search.CANDIDATE_LIMIT): a
common phrase costs the same whatever the number of postmortems, the page says when the
count is a lower bound, and a restricted postmortem is neither shown nor counted for a
non-member (docs/rules.md#private-postmortems)."""
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import visibility
from incidents.models import Postmortem
from knowledge import search as search_module
from knowledge.search import search_counted
from tests.conftest import CsrfClient, make_user

pytestmark = pytest.mark.django_db


def _postmortems(user, count: int, word: str = "quokka") -> list[Postmortem]:
    return [Postmortem.objects.create(created_by=user,
                                      summary=f"The {word} feed stalled, case {n}.")
            for n in range(count)]


def _queries(query: str, user) -> int:
    with CaptureQueriesContext(connection) as captured:
        search_counted(query, user=user)
    return len(captured)


def test_a_common_phrase_is_capped_and_the_page_says_so(alice, monkeypatch):
    monkeypatch.setattr(search_module, "CANDIDATE_LIMIT", 3)
    _postmortems(alice, 5)
    result = search_counted("quokka", user=alice)
    assert result.capped and len(result.hits) == 3 and result.matched == 3
    client = CsrfClient()
    client.force_login(alice)
    page = client.get("/search/?q=quokka").content.decode()
    assert "of more than 3 matches" in page and "Add words to narrow the search" in page
    few = search_counted("quokka case 4", user=alice)  # every word: one record
    assert not few.capped and len(few.hits) == 1
    assert "more than" not in client.get("/search/?q=quokka+case+4").content.decode()


def test_restricted_postmortems_are_neither_shown_nor_counted(alice, monkeypatch):
    monkeypatch.setattr(search_module, "CANDIDATE_LIMIT", 3)
    security = Group.objects.create(name="Security")
    member = make_user("mara-member")
    member.groups.add(security)
    outsider = make_user("otto-outsider")
    secret = _postmortems(member, 4)
    for pm in secret:
        visibility.set_access(pm, [security], member)
    open_ones = _postmortems(alice, 2)
    seen = search_counted("quokka", user=outsider)
    assert not seen.capped and seen.matched == 2  # the four restricted ones do not count
    assert {hit.url for hit in seen.hits} == {f"/postmortems/{pm.pk}/" for pm in open_ones}
    assert search_counted("quokka", user=member).capped  # the member sees all six


def test_the_query_count_does_not_grow_with_the_matches(alice):
    _postmortems(alice, 2)
    few = _queries("quokka", alice)
    _postmortems(alice, 30)
    assert _queries("quokka", alice) == few
