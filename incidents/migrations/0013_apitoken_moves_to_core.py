"""ApiToken now belongs to the core app (core/migrations/0001_initial.py); its table,
incidents_apitoken, stays where it is: a change of Django's model state only."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0012_gate_domain"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiToken")],
            database_operations=[],
        ),
    ]
