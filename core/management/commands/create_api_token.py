"""`manage.py create_api_token NAME --user USERNAME [--scope gate:read]`: prints the token once."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.api_tokens import ROLE_SCOPES, SCOPES, create_token, roles_allowing
from core.roles import role_of


class Command(BaseCommand):
    help = "Create an API token (only its SHA-256 is stored; the token is printed once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="what the token is for, e.g. 'CI planning gate'")
        parser.add_argument("--user", required=True, help="the user the token acts for")
        parser.add_argument("--scope", action="append", choices=SCOPES, default=None)

    def handle(self, *args, **options):
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}.") from exc
        token, key = create_token(options["name"], user, options["scope"] or ["gate:read"])
        self.stdout.write(f"Token {token.name!r} ({', '.join(token.scopes)}): {key}")
        self.stdout.write("It is shown only now; store it as a CI secret.")
        role = role_of(user)
        for scope in token.scopes:
            if scope not in ROLE_SCOPES[role]:  # docs/rules.md#token-scopes
                self.stderr.write(
                    f"Warning: {user.get_username()} has the {role} role, so {scope} is refused "
                    f"until they have the {' or '.join(roles_allowing(scope))} role.")
