"""Email backends for the worker tests: one that hangs mid-send, to kill a worker there."""
import os
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class HangingBackend(FileBackend):
    """Writes a `sending` marker file, then hangs on opening the `release` FIFO the test
    made beside it, which blocks until someone opens it for writing: the test never does,
    it kills the worker meanwhile. (No clock: the hang lasts until the test ends it.)"""

    def send_messages(self, email_messages):
        directory = Path(os.environ["EMAIL_FILE_PATH"])
        (directory / "sending").write_text("started")
        with (directory / "release").open() as release:
            release.read()
        return super().send_messages(email_messages)
