"""ApiToken moves from the incidents app to core, keeping its table (incidents_apitoken):
a change of Django's model state only, no change in the database."""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("incidents", "0012_gate_domain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        ("prefix", models.CharField(
                            help_text="The first characters, to recognise it.", max_length=12)),
                        ("key_sha256", models.CharField(max_length=64, unique=True)),
                        ("scopes", models.JSONField(default=list)),
                        ("created_utc", models.DateTimeField(default=django.utils.timezone.now)),
                        ("revoked_utc", models.DateTimeField(blank=True, null=True)),
                        ("last_used_utc", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(
                            on_delete=django.db.models.deletion.PROTECT, related_name="+",
                            to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "incidents_apitoken"},
                ),
            ],
            database_operations=[],
        ),
    ]
