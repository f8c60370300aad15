"""Who may read which postmortem: the one place the private-postmortem rule lives
(docs/rules.md#private-postmortems).

A postmortem is *restricted* when its latest PostmortemAccess row names groups; then only
members of at least one of those groups read it, superusers included (least privilege: an
admin who is not a member reads it only after adding themselves to a group, which the
admin's own change log records). Everyone else finds no trace of it: every list, count
that names records, search, export and API reads postmortems through
`visible_postmortems(user)` or `hidden_ids(user)`, and every URL naming it answers 404
(VisibilityMiddleware).

Public API (used by the pages, the APIs and the MCP server):
- visible_postmortems(user) -> QuerySet[Postmortem]
- can_see(user, postmortem) -> bool
"""
from __future__ import annotations

import uuid

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404

from incidents.models import ActionItem, Postmortem, PostmortemAccess


class AccessError(ValueError):
    """A refused access change; `field` names the form field ("groups")."""

    def __init__(self, message: str, field: str = "groups"):
        super().__init__(message)
        self.field = field


def restrictions() -> dict[uuid.UUID, frozenset[int]]:
    """{postmortem id: the group ids its latest access row names} for every restricted
    postmortem (one query; a postmortem whose latest row names no group is left out)."""
    latest = (PostmortemAccess.objects.values("postmortem")
              .annotate(latest=Max("id")).values("latest"))
    rows = PostmortemAccess.objects.filter(pk__in=latest).values_list("postmortem_id",
                                                                      "group_ids")
    return {pm_id: frozenset(int(g) for g in groups) for pm_id, groups in rows if groups}


def _group_ids(user) -> frozenset[int]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    # The membership rows alone (auth_user_groups), not a join to auth_group.
    memberships = user.groups.through.objects.filter(user_id=user.pk)
    return frozenset(memberships.values_list("group_id", flat=True))


def hidden_ids(user) -> set[uuid.UUID]:
    """The ids of the restricted postmortems `user` may not read (all of them for None, an
    anonymous or an inactive user: fails closed)."""
    restricted = restrictions()
    if not restricted:
        return set()
    mine = _group_ids(user)
    return {pm_id for pm_id, groups in restricted.items() if not groups & mine}


def visible_postmortems(user) -> QuerySet:
    """Every Postmortem `user` may read (a queryset to filter further); for None or an
    anonymous user, the unrestricted ones only. docs/rules.md#private-postmortems"""
    return Postmortem.objects.exclude(pk__in=hidden_ids(user))


def can_see(user, postmortem) -> bool:
    """True when `user` may read `postmortem` (a Postmortem or its id).
    docs/rules.md#private-postmortems"""
    pm_id = getattr(postmortem, "pk", postmortem)
    if isinstance(pm_id, str):
        try:
            pm_id = uuid.UUID(pm_id)
        except ValueError:
            return False
    groups = current_group_ids(pm_id)
    return not groups or bool(groups & _group_ids(user))


def visible_or_404(user, postmortem_id) -> None:
    """Raise Http404 when `user` may not read the postmortem `postmortem_id` (no trace:
    the same answer as for an id that does not exist)."""
    if not can_see(user, postmortem_id):
        raise Http404("No postmortem matches the given query.")


def redacted(text: str, user) -> str:
    """`text` with every "postmortem <id>" naming a postmortem `user` may not read written as
    "a postmortem" (a cost log correction's reason names the postmortem it links)."""
    for pm_id in hidden_ids(user):
        text = text.replace(f"postmortem {pm_id}", "a postmortem").replace(str(pm_id), "…")
    return text


def visible_items(user) -> QuerySet:
    """The ActionItems of the postmortems `user` may read."""
    return ActionItem.objects.exclude(postmortem_id__in=hidden_ids(user))


def current_group_ids(postmortem) -> frozenset[int]:
    """The group ids the latest access row of `postmortem` (or its id) names; empty when
    every signed-in person reads it."""
    pm_id = getattr(postmortem, "pk", postmortem)
    row = PostmortemAccess.objects.filter(postmortem_id=pm_id).order_by("-id").first()
    return frozenset(int(g) for g in row.group_ids) if row else frozenset()


def current_groups(postmortem) -> list[Group]:
    """The groups `postmortem` is restricted to, by name ([] when it is not)."""
    return list(Group.objects.filter(pk__in=current_group_ids(postmortem)).order_by("name"))


def choosable_groups(user) -> QuerySet:
    """The groups `user` may name in a restriction: the groups `user` is a member of."""
    return Group.objects.filter(pk__in=_group_ids(user)).order_by("name")


@transaction.atomic
def set_access(postmortem: Postmortem, groups, by) -> PostmortemAccess | None:
    """Restrict `postmortem` to `groups` (Groups; empty: lift the restriction), as `by`.

    Returns the new PostmortemAccess row, or None when nothing changed. Raises AccessError
    when `by` may not read the postmortem, names a group they are not a member of, or when
    a final postmortem's restriction would be lifted or widened (a final record can only
    be restricted or tightened). docs/rules.md#private-postmortems
    """
    pm = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if not can_see(by, pm):
        raise AccessError("Groups: you cannot change who reads this postmortem.")
    wanted = frozenset(group.pk for group in groups)
    foreign = wanted - _group_ids(by)
    if foreign:
        names = ", ".join(sorted(Group.objects.filter(pk__in=foreign)
                                 .values_list("name", flat=True))) or "unknown group"
        raise AccessError(f"Groups: you can only name groups you are a member of "
                          f"(not {names}).")
    current = current_group_ids(pm)
    if wanted == current:
        return None
    if pm.is_final:
        if not wanted:
            raise AccessError("Groups: a final postmortem's restriction can be tightened, "
                              "never lifted.")
        if current and not wanted <= current:
            raise AccessError("Groups: a final postmortem's restriction can only be "
                              "tightened to some of the groups it names already.")
    return PostmortemAccess.objects.create(postmortem=pm, group_ids=sorted(wanted), by=by)


class VisibilityMiddleware:
    """Answer 404 to any URL naming a postmortem (or an action item of one) the signed-in
    user may not read, before its view runs, GET or POST: no page, fragment or form of a
    restricted postmortem exists for a non-member. Place after AuthenticationMiddleware,
    before core.roles.RoleMiddleware (a viewer's POST gets 404, as for a missing id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = getattr(request, "resolver_match", None)
        if match is None:
            return
        namespace = match.namespace
        if namespace == "incidents" and "pk" in view_kwargs:
            visible_or_404(request.user, view_kwargs["pk"])
        if namespace == "costlog" and match.url_name == "postmortem_link":
            visible_or_404(request.user, view_kwargs["pk"])
        if namespace == "incidents" and "item_id" in view_kwargs:
            pm_id = (ActionItem.objects.filter(pk=view_kwargs["item_id"])
                     .values_list("postmortem_id", flat=True).first())
            if pm_id is not None:
                visible_or_404(request.user, pm_id)
        return


class HidesRestrictedPostmortemsAdmin:
    """A ModelAdmin mixin for a model with a `postmortems` many-to-many (knowledge entries,
    policies, runbooks): the admin's choices offer only the postmortems the signed-in admin
    may read, and saving keeps the links to the others (which the form never showed)."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "postmortems":
            kwargs["queryset"] = visible_postmortems(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        kept = []
        if change and form.instance.pk:
            kept = list(form.instance.postmortems.filter(pk__in=hidden_ids(request.user)))
        super().save_related(request, form, formsets, change)
        if kept:
            form.instance.postmortems.add(*kept)
