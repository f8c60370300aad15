"""Roles: viewers read, editors write, admins manage users, API tokens and taxonomies.

- admin: a superuser. Only admins reach /admin/ (users and their roles, API tokens, the
  root-pattern taxonomy) and admins write everything editors write.
- editor: a member of the "Editors" group. Writes drafts, finalizes, amendments, action
  items, cost entries and resource rates, runbooks, checklist runs and knowledge links.
- viewer: every other signed-in user. A new account is a viewer until an admin grants
  more (fail closed: a missing group never means "may write").

RoleMiddleware enforces it for every state-changing request, so a view cannot forget
to, and for every request to a page marked @editors_only (a form that only writes, such
as "New postmortem"); token-authenticated APIs (views marked @login_not_required) check
their token's scopes instead.
"""
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef

from core.role_names import ADMIN, EDITOR, ROLES, VIEWER

EDITORS_GROUP = "Editors"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Signing out, and a page leaving a live draft (its presence entry only), are POSTs every
# role may make.
ALWAYS_ALLOWED_URL_NAMES = frozenset({"logout", "live_leave"})


def in_editors(user_ref: str) -> Exists:
    """An Exists() telling whether the user at `user_ref` (an OuterRef path) is an editor,
    to read the role in the same query as the user (or the user's API token)."""
    from django.contrib.auth.models import Group

    return Exists(Group.objects.filter(name=EDITORS_GROUP, user=OuterRef(user_ref)))


def remember_role(user, is_editor: bool) -> None:
    """Cache the role of `user` read with it (in_editors), so role_of() queries nothing."""
    user._scarlog_role = ADMIN if user.is_superuser else EDITOR if is_editor else VIEWER


def role_of(user) -> str:
    """Return "admin", "editor" or "viewer" for a signed-in `user` (see module docstring).

    Read once per user object (a request's user answers from the cache; set_role clears it).
    """
    cached = getattr(user, "_scarlog_role", None)
    if cached is None:
        if user.is_superuser:
            cached = ADMIN
        elif user.groups.filter(name=EDITORS_GROUP).exists():
            cached = EDITOR
        else:
            cached = VIEWER
        user._scarlog_role = cached
    return cached


def item_owners():
    """The users who may own an action item: active, able to sign in (with a password or
    through single sign-on; not an API token's service account, whose password is unusable)
    and editor or admin; a queryset ordered
    by username. docs/rules.md#action-owner"""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
    from django.db.models import Q

    signs_in_with_sso = Q(oidc_identity__isnull=False)
    has_password = ~Q(password__startswith=UNUSABLE_PASSWORD_PREFIX) & ~Q(password="")
    return (get_user_model().objects.filter(is_active=True)
            .filter(has_password | signs_in_with_sso)
            .filter(Q(is_superuser=True) | Q(pk__in=in_editors_ids()))
            .order_by("username"))


def in_editors_ids():
    """The ids of the Editors group's members (a subquery)."""
    from django.contrib.auth.models import Group

    return Group.objects.filter(name=EDITORS_GROUP).values("user")


def can_write(user) -> bool:
    """True when `user` is signed in and an editor or admin."""
    return user.is_authenticated and role_of(user) in (EDITOR, ADMIN)


def set_role(user, role: str) -> None:
    """Give `user` exactly `role` (one of ROLES); raises ValueError for another value.

    admin sets is_superuser and is_staff; editor and viewer clear them, and the
    Editors group membership follows the role.
    """
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    editors, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    user.is_superuser = user.is_staff = role == ADMIN
    user.save(update_fields=["is_superuser", "is_staff"])
    if role == EDITOR:
        user.groups.add(editors)
    else:
        user.groups.remove(editors)
    user._scarlog_role = None


class RoleModelBackend(ModelBackend):
    """Django's ModelBackend, reading the signed-in user's role in the same query.

    get_user() is what AuthenticationMiddleware calls on every request: it annotates
    whether the user is in the Editors group, so role_of() needs no query of its own
    (one query fewer on every write and every page that shows the role).
    """

    def get_user(self, user_id):
        """The active user `user_id` with its role cached, or None (ModelBackend's rules)."""
        from django.contrib.auth import get_user_model

        user = (get_user_model()._default_manager.annotate(in_editors=in_editors("pk"))
                .filter(pk=user_id).first())
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_role(user, user.in_editors)
        return user


VIEWER_REFUSAL = (
    "Your role is viewer: you can read everything but not change it. "
    "Ask a Scarlog admin for the editor role."
)


def editors_only(view):
    """Mark `view` as a page only editors and admins open, whatever the method: a viewer's
    GET of it is refused with 403 by RoleMiddleware too (a form a viewer could only be
    refused on submitting is not shown). docs/rules.md#roles"""
    view.editors_only = True
    return view


class RoleMiddleware:
    """Refuse a state-changing request from a signed-in viewer with 403 before its view runs.

    Safe methods pass, except to a view marked @editors_only; so do views marked
    @login_not_required (the login page, health check and token APIs, which check scopes)
    and signing out. Place after
    AuthenticationMiddleware and LoginRequiredMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return
        if request.method in SAFE_METHODS and not getattr(view_func, "editors_only", False):
            return
        if request.resolver_match and request.resolver_match.url_name in ALWAYS_ALLOWED_URL_NAMES:
            return
        if not request.user.is_authenticated or can_write(request.user):
            return
        raise PermissionDenied(VIEWER_REFUSAL)


def role_context(request) -> dict:
    """Template context: `role` of the signed-in user ("" when signed out), `can_write`."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"role": "", "can_write": False}
    role = role_of(user)
    return {"role": role, "can_write": role in (EDITOR, ADMIN)}
