"""Create a provider user (password "<username>-idp-password") or update one; its groups
become exactly the GROUP arguments (the `scarlog_role` claim)."""
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "provider_user USERNAME [GROUP ...]"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("groups", nargs="*")

    def handle(self, username, groups, **options):
        user, created = User.objects.get_or_create(username=username,
                                                   defaults={"email": f"{username}@idp.test"})
        if created:
            user.set_password(f"{username}-idp-password")
            user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
