"""Seed the root-pattern taxonomy with its starting patterns (docs/rules.md#cost-root-patterns).

The patterns are copied here as they were when this migration was written (they were
read from costlog.seed): a later change to the application's list must not change what
this migration inserts. Admins edit the patterns after.
"""
from django.db import migrations

SEED_PATTERNS = {
    "Silent fallback": "An error was caught and replaced by a default, masking a broken system.",
    "Unverified deployment": "A deployment was assumed to work without checking it.",
    "Unverified output": "Execution was checked but the output never was.",
    "Feature mismatch": "Training and inference feature lists diverged.",
    "Training/inference mismatch": "Training code or assumptions leaked into the inference path.",
    "Missing risk check": "A trade or action went ahead without the risk check that should gate it.",
}


def seed(apps, schema_editor):
    root_pattern = apps.get_model("costlog", "RootPattern")
    for name, description in SEED_PATTERNS.items():
        root_pattern.objects.get_or_create(name=name, defaults={"description": description})


class Migration(migrations.Migration):
    dependencies = [("costlog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
