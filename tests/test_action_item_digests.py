"""Owners get one digest a day of their overdue and soon-due action items (Celery task)."""
from datetime import date

import pytest
from django.conf import settings
from django.core import mail

from incidents import action_items
from incidents.models import DigestSent
from incidents.tasks import send_action_item_digests

pytestmark = pytest.mark.django_db

NOW = "2026-05-10T07:00:00+00:00"


@pytest.fixture
def items(final_postmortem, alice, bob):
    alice.email, bob.email = "alice@example.com", ""
    alice.save()
    bob.save()
    return [
        action_items.add_item(final_postmortem, "hook", "Watchdog for long runs", alice,
                              date(2026, 5, 8)),
        action_items.add_item(final_postmortem, "rule", "auto_destroy=False", alice,
                              date(2026, 5, 12)),
        action_items.add_item(final_postmortem, "test", "Later work", alice, date(2026, 6, 1)),
        action_items.add_item(final_postmortem, "test", "Bob's item", bob, date(2026, 5, 9)),
    ]


def test_an_owner_gets_one_digest_a_day_of_overdue_and_soon_due_items(items, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = send_action_item_digests(NOW)
    assert result == {"sent": 1, "already_sent": 0, "no_email": ["bob"]}
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Scarlog: 2 action items overdue or due soon"
    assert "[Hook] Watchdog for long runs (OVERDUE since 2026-05-08)" in message.body
    assert "[Rule] auto_destroy=False (due 2026-05-12)" in message.body
    assert "Later work" not in message.body
    assert message.extra_headers["Message-ID"].startswith("<digest-")
    # The same day again: nothing more. The next day: a new digest.
    assert send_action_item_digests("2026-05-10T19:00:00+00:00")["already_sent"] == 1
    assert len(mail.outbox) == 1
    assert send_action_item_digests("2026-05-11T07:00:00+00:00")["sent"] == 1
    assert DigestSent.objects.count() == 2


def test_a_failed_send_is_not_marked_sent(items, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(OSError):  # noqa: PT011 (refused or timed out: any network error)
        send_action_item_digests(NOW)
    assert not DigestSent.objects.exists()


def test_beat_runs_the_digest_task():
    assert settings.CELERY_BEAT_SCHEDULE["action-item-digests"]["task"] == (
        "incidents.tasks.send_action_item_digests")
