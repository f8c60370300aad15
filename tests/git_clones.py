"""Real local git clones for the tests that verify shipping evidence against one."""
import subprocess
from pathlib import Path

AUTHOR = ["-c", "user.name=ci", "-c", "user.email=ci@example.com"]


def git(clone: Path, *args: str) -> str:
    """Run git in `clone`; its stripped output. Raises CalledProcessError when git fails."""
    return subprocess.run(["git", "-C", str(clone), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_clone(path: Path, files: dict[str, str], message: str = "initial") -> str:
    """A new repository at `path` on branch main holding `files` ({relative path: text}) in
    one commit; returns that commit's SHA."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", ".")
    git(path, *AUTHOR, "commit", "-qm", message)
    return git(path, "rev-parse", "HEAD")
