"""Who may see which postmortem: the single place visibility is decided.

Every reader that shows a postmortem, or names one (the MCP server's tools and resources
first of all, knowledge/mcp), asks here: visible_postmortems(user) for a QuerySet to read
from, can_see(user, postmortem) for one record already in hand. A postmortem that
can_see() refuses leaves no trace in the answer: not its id, not its summary, not its text.

This is the minimal version: every signed-in person reads everything
(docs/rules.md#role-read), so every postmortem is visible. Restricting postmortems to named
groups replaces the bodies of these two functions and nothing else; the MCP server
already reads through them (docs/rules.md#mcp-visibility).
"""
from django.db.models import QuerySet

from incidents.models import Postmortem


def visible_postmortems(user) -> QuerySet[Postmortem]:
    """The postmortems `user` (a User, active) may see, as a QuerySet to filter further.

    Now every postmortem (docs/rules.md#role-read).
    """
    return Postmortem.objects.all()


def can_see(user, postmortem: Postmortem) -> bool:
    """Whether `user` may see `postmortem` (any trace of it: id, summary, text).

    Now always True (docs/rules.md#role-read).
    """
    return True
