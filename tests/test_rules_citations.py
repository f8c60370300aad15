"""Docstrings and comments cite the project's own docs/rules.md, never files outside it.

Every rule in docs/rules.md has an `<a id="…"></a>` anchor; code cites it as
`docs/rules.md#<anchor>`. This checks (a) that no Python file or template names the seed
documents by file name or the shared folder beside the repository, and (b) that every
cited anchor exists.
"""
import re
from collections import Counter
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
RULES = PROJECT_DIR / "docs" / "rules.md"
SKIP_DIRS = {"__pycache__", "node_modules", "var", "build", "dist", "test-artifacts"}

OUTSIDE = re.compile(r"\.\./shared\b|\b\d{3}_[0-9a-f]{16}\.txt\b")
CITATION = re.compile(r"docs/rules\.md#([A-Za-z0-9_-]+)")
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')

# A migration is a record of what the models were: migration 0007 keeps the help_text
# Postmortem.owner_sentiment had then (the model's now cites nothing; migration 0017).
# (The name is spelt in pieces so that this file does not cite it.)
OWNER_SENTIMENT_SEED = "002_" + "c5de36bc64e2efd7" + ".txt"
KNOWN_HELP_TEXT = Counter({
    ("incidents/migrations/0007_meeting_mode_scan_blameless_revisions.py",
     OWNER_SENTIMENT_SEED): 1,
})


def project_files(*suffixes):
    """Every file of the project with one of `suffixes`, skipping dot and build folders."""
    for path in sorted(PROJECT_DIR.rglob("*")):
        parts = path.relative_to(PROJECT_DIR).parts
        if any(part.startswith(".") or part in SKIP_DIRS for part in parts[:-1]):
            continue
        if path.is_file() and path.suffix in suffixes:
            yield path


def test_no_citation_of_files_outside_the_repository():
    found = Counter()
    for path in project_files(".py", ".html"):
        relative = path.relative_to(PROJECT_DIR).as_posix()
        for match in OUTSIDE.finditer(path.read_text(encoding="utf-8")):
            found[(relative, match.group())] += 1
    assert found - KNOWN_HELP_TEXT == Counter()


def test_every_cited_anchor_exists():
    anchors = set(ANCHOR.findall(RULES.read_text(encoding="utf-8")))
    cited = {}
    for path in project_files(".py", ".html", ".md"):
        for anchor in CITATION.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(anchor, path.relative_to(PROJECT_DIR).as_posix())
    assert len(cited) > 20  # the scan found the citations at all
    missing = {anchor: where for anchor, where in cited.items() if anchor not in anchors}
    assert missing == {}
