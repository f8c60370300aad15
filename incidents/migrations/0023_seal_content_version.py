"""Seal content version 2: Seal.content_version (existing seals stay 1) and the per-part
hashes of a version-2 seal. Adding the columns rewrites no row, so the append-only
triggers on incidents_logseal are not involved."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0022_text_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="seal",
            name="content_version",
            field=models.PositiveSmallIntegerField(
                default=1, help_text="The canonical content format hashed (incidents.seals): 1 "
                                     "for seals written before version 2 existed."),
        ),
        migrations.AddField(
            model_name="seal",
            name="part_sha256s",
            field=models.JSONField(
                blank=True, default=dict,
                help_text="Version 2: {part: SHA-256} of the record's parts (postmortem, "
                          "meetings, attendees, scan answers, ...); content_sha256 hashes this "
                          "map."),
        ),
    ]
