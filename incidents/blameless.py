"""Blameless checks: find blame-flavoured phrasing and suggest the system-level rewrite.

Rule: docs/rules.md#blameless-flagged — the translation table
(five blame-flavoured phrasings, each with its ticket-able rewrite) and the rule behind
it: a cause names a missing control, not a person. Beyond the table, the general shape
"a person as the subject of a failure" (the operator / someone / alice + did not,
forgot, missed, ignored, should have …) is flagged with a generic rewrite hint.

The checks are advice while typing; only a contributing factor still flagged blocks
finalize, until the meeting's facilitator marks it reviewed (incidents.meeting_record).
"""
import re
from dataclasses import dataclass

GENERAL_RULE = "person as the subject of a failure"
TABLE_RULE = "translation table"
GENERAL_REWRITE = ("Name the missing control instead: what would have caught this whoever was "
                   "at the keyboard? (\u201cNo alert on …\u201d, \u201cNo check that …\u201d)")


@dataclass(frozen=True)
class BlameFinding:
    """One flagged phrase: `phrase` as typed, the suggested `rewrite`, and the `rule` it broke."""

    phrase: str
    rewrite: str
    rule: str


_GAP = r"[^.;\n]{0,40}?"
_NOT = r"(?:did\s+not|didn[\u2019']t|does\s+not|doesn[\u2019']t|failed\s+to|forgot\s+to|never)"

# The seed's translation table: blame-flavoured phrasing -> blameless rewrite.
TRANSLATION_TABLE = [
    (re.compile(rf"\boperator\b{_GAP}\b{_NOT}\s+(?:check|look|watch|monitor)\w*"
                rf"(?:{_GAP}\bdashboard\b)?", re.IGNORECASE),
     "No alerting on the dashboard metric"),
    (re.compile(rf"\breviewer\b{_GAP}\bapproved\b(?:{_GAP}\bprompt\b)?", re.IGNORECASE),
     "No automated regression test on the prompt change"),
    (re.compile(r"\b(?:agent|model|bot)?\b[^.;\n]{0,20}?\bwent\s+off\s+the\s+rails\b",
                re.IGNORECASE),
     "No max_steps ceiling; no convergence gate"),
    (re.compile(r"\b(?:someone|somebody|\w+)\s+pushed\s+(?:the\s+|a\s+)?(?:wrong|bad|broken)"
                r"\s+config\w*", re.IGNORECASE),
     "No config-schema validation in the deploy pipeline"),
    (re.compile(r"\bon[- ]?call\b[^.;\n]{0,30}?\b(?:was|were)\s+(?:asleep|sleeping|"
                r"not\s+(?:awake|available|around))", re.IGNORECASE),
     "No paging integration for this class of alert"),
]

_PEOPLE = (r"operator|reviewer|on[- ]?call(?:\s+engineer)?|engineer|developer|trader|analyst|"
           r"admin(?:istrator)?|facilitator|owner|intern|someone|somebody|he|she|human")
_FAILURES = (
    r"did\s+not|didn[\u2019']t|failed\s+to|forgot|missed|ignored|neglected|overlooked|"
    r"should\s+have|should\s+not\s+have|shouldn[\u2019']t\s+have|was\s+(?:not\s+(?:watching|"
    r"paying\s+attention|careful)|careless|asleep|distracted|negligent|lazy)|made\s+a\s+mistake|"
    r"messed\s+up|screwed\s+up|blew\s+up|broke|was\s+wrong|approved\s+a\s+bad"
)
_BLAME_WORDS = re.compile(r"\b(?:human\s+error|careless(?:ness)?|negligen(?:t|ce)|"
                          r"(?:his|her|their)\s+fault|to\s+blame)\b", re.IGNORECASE)


_FAILURE_PHRASE = re.compile(rf"\b(?:{_FAILURES})\b", re.IGNORECASE)


def mentions_failure(text: str) -> bool:
    """True when `text` holds a failure phrase ("forgot", "failed to", …): only then can a
    person's name make it blame-flavoured, so callers may skip reading people's names."""
    return bool(_FAILURE_PHRASE.search(text or ""))


def _person_failure(names: tuple[str, ...]) -> re.Pattern:
    people = _PEOPLE
    if names:
        people += "|" + "|".join(re.escape(name) for name in names)
    return re.compile(rf"\b(?:the\s+|an?\s+|our\s+)?(?:{people})\b(?:\s+\w+){{0,2}}?\s+"
                      rf"(?:{_FAILURES})\b[^.;\n]{{0,30}}", re.IGNORECASE)


def check(text: str, names=()) -> list[BlameFinding]:
    """The blame-flavoured phrases in `text`, in order of appearance (no overlaps).

    `names` are people's names (usernames) also treated as persons ("alice forgot to …").
    Table phrasings come with the seed's rewrite; the general shape with GENERAL_REWRITE.
    """
    if not text or not text.strip():
        return []
    found: list[tuple[int, int, BlameFinding]] = []

    def add(match: re.Match, rewrite: str, rule: str) -> None:
        start, end = match.span()
        if any(start < other_end and other_start < end for other_start, other_end, _ in found):
            return
        found.append((start, end, BlameFinding(match.group(0).strip(), rewrite, rule)))

    for pattern, rewrite in TRANSLATION_TABLE:
        for match in pattern.finditer(text):
            add(match, rewrite, TABLE_RULE)
    clean_names = tuple(sorted({n for n in names if n and len(n) > 1}, key=len, reverse=True))
    for pattern in (_person_failure(clean_names), _BLAME_WORDS):
        for match in pattern.finditer(text):
            add(match, GENERAL_REWRITE, GENERAL_RULE)
    return [finding for _, _, finding in sorted(found, key=lambda item: item[0])]
