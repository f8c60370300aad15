"""Seed the root-pattern taxonomy with the patterns of 000_147101d763a5563e.txt."""
from django.db import migrations

from costlog.seed import seed_root_patterns


def seed(apps, schema_editor):
    seed_root_patterns(apps.get_model("costlog", "RootPattern"))


class Migration(migrations.Migration):
    dependencies = [("costlog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
