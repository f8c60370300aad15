"""Email backends for the worker tests: one that hangs mid-send, to kill a worker there."""
import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class HangingBackend(FileBackend):
    """Writes a `sending` marker file, then hangs (the test kills the worker meanwhile)."""

    def send_messages(self, email_messages):
        Path(os.environ["EMAIL_FILE_PATH"], "sending").write_text("started")
        time.sleep(600)
        return super().send_messages(email_messages)
