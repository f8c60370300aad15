"""`manage.py create_api_token NAME --user USERNAME [--scope gate:read] [--create-user ROLE]`.

Prints the token once. The user must exist, or `--create-user viewer|editor|admin` creates
it as a service account (no password: it cannot sign in, it only acts through tokens) with
that role. A missing user without --create-user stops with exit status 1 and a message
naming the user and both ways to create it (docs/rules.md#token-format).
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import roles
from core.api_tokens import ROLE_SCOPES, SCOPES, create_token, roles_allowing
from core.roles import role_of


class Command(BaseCommand):
    help = "Create an API token (only its SHA-256 is stored; the token is printed once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="what the token is for, e.g. 'CI planning gate'")
        parser.add_argument("--user", required=True, help="the user the token acts for")
        parser.add_argument("--scope", action="append", choices=SCOPES, default=None)
        parser.add_argument(
            "--create-user", choices=roles.ROLES, default=None, metavar="ROLE",
            help="create --user as a service account (no password) with ROLE "
                 "(viewer, editor or admin) when it does not exist yet",
        )

    def handle(self, *args, **options):
        users = get_user_model()
        username = options["user"]
        with transaction.atomic():
            user = users.objects.filter(username=username).first()
            if user is None:
                if options["create_user"] is None:
                    raise CommandError(
                        f"--user: there is no user {username!r}. Create it first "
                        f"(`manage.py createsuperuser`, or Users in the admin, then "
                        f"`manage.py set_role {username} viewer|editor`), or add "
                        f"`--create-user viewer` (or editor) to create {username!r} as a "
                        "service account with that role."
                    )
                user = users.objects.create_user(username)  # no usable password
                roles.set_role(user, options["create_user"])
                self.stdout.write(f"Created the service account {username!r} "
                                  f"({options['create_user']}; it cannot sign in).")
            token, key = create_token(options["name"], user, options["scope"] or ["gate:read"])
        self.stdout.write(f"Token {token.name!r} ({', '.join(token.scopes)}): {key}")
        self.stdout.write("It is shown only now; store it as a CI secret.")
        role = role_of(user)
        for scope in token.scopes:
            if scope not in ROLE_SCOPES[role]:  # docs/rules.md#token-scopes
                self.stderr.write(
                    f"Warning: {user.get_username()} has the {role} role, so {scope} is refused "
                    f"until they have the {' or '.join(roles_allowing(scope))} role.")
