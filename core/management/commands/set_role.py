"""`manage.py set_role USERNAME viewer|editor|admin`: give a user exactly one role.

Roles are described in core.roles: viewers read, editors write, admins manage users,
API tokens and taxonomies. Errors: an unknown username or role stops with a message.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import roles


class Command(BaseCommand):
    help = ("Give USERNAME the role viewer (reads), editor (writes) or admin "
            "(manages users, tokens, taxonomies).")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=roles.ROLES)

    def handle(self, *args, **options):
        users = get_user_model()
        try:
            user = users.objects.get(username=options["username"])
        except users.DoesNotExist as exc:
            raise CommandError(f"username: no user {options['username']!r}") from exc
        with transaction.atomic():
            roles.set_role(user, options["role"])
        self.stdout.write(f"{user.get_username()} is now {options['role']}.")
