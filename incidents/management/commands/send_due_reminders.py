"""`manage.py send_due_reminders`: run the reminder sweep once (cron, or the demo without Redis)."""
from django.core.management.base import BaseCommand

from incidents.reminders import sweep


class Command(BaseCommand):
    help = ("Send every meeting reminder that is due now, once; the same sweep Celery beat "
            "runs every minute. Prints how many were sent, skipped, failed or left to retry.")

    def handle(self, *args, **options):
        counts = sweep().counts()
        self.stdout.write(", ".join(f"{n} {name}" for name, n in counts.items()))
