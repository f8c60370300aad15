"""Roles (config.roles): the Editors group. Accounts that existed before roles could write,
so every active non-superuser account is made an editor; accounts created later start as
viewers until an admin grants the editor role."""
from django.db import migrations

EDITORS_GROUP = "Editors"


def create_editors(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    editors, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    editors.user_set.add(*User.objects.filter(is_active=True, is_superuser=False))


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("incidents", "0007_meeting_mode_scan_blameless_revisions"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
