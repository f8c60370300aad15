"""Blameless checks: find blame-flavoured phrasing and suggest the system-level rewrite.

Rule: docs/rules.md#blameless-flagged — a cause names a missing control, not a person.
Three things are flagged:

- the seed's translation table (five phrasings, each with its ticket-able rewrite);
- a person as the subject of an error: a role of a software, operations, data or trading
  team ("the on-call engineer", "our DBA", "a quant"), "someone", "a person", "the team
  member", he/she/I/they (they only when it stands for people), or a user's username or
  display name, followed — through auxiliaries, adverbs and negations — by an omission
  (forgot, failed to, neglected, did not …, never …), a wrong action (deleted … by mistake,
  pushed the wrong …, misconfigured), a mistake (made an error / a typo) or carelessness
  (careless, sloppy, should have …); also the passive with a person as agent ("was
  deleted by a contractor", "was never rotated by the owner");
- an absent person as the subject of an omission ("nobody reviewed the migration", "no
  one had tested the restore", "none of the reviewers caught it", "no engineer checked"):
  an absent person is still a person. "No alert fired", "nothing restarted the worker"
  (a system absent) and "nobody is paged" (the passive) are not flagged;
- blame words whatever the subject (human error, operator error, "the trader's fault").

The same verbs with a system as the subject ("the upload job failed to push …") are not
flagged, nor is the agentless passive ("the key was not rotated"), nor inability ("could
not log in", "did not receive the page"). It is a curated lexicon with hand-written
patterns, measured on tests/data/blameless_corpus.jsonl (tests/test_blameless_corpus.py).

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


def _words(block: str) -> list[str]:
    """The whitespace-separated words of a lexicon block."""
    return block.split()


# --- Lexicon: who is a person ---------------------------------------------------------

# Role words and phrases of software, operations, data and trading teams (lower case,
# singular; a trailing "s"/"es" is accepted for the plural). Longest phrases are tried first.
_ROLE_WORDS = _words("""
engineer developer dev programmer coder sre swe dba sysadmin administrator architect
tester qa technician tech responder on-call oncall on-caller firefighter
reviewer approver maintainer committer contributor author assignee requester submitter
lead manager director supervisor coordinator planner dispatcher cto ceo cio vp
pm em tpm analyst scientist statistician researcher quant trader dealer strategist
accountant auditor clerk officer consultant contractor freelancer intern trainee apprentice
employee staffer colleague coworker co-worker teammate person individual human
operator admin user owner deployer releaser specialist expert designer steward annotator
labeler labeller modeler modeller mathematician actuary member team squad crew desk staff
""")
_ROLE_MULTI = """
incident commander | release captain | scrum master | new hire | support agent |
customer service agent | human agent | duty officer | team member | staff member |
crew member | on call engineer | release manager | product manager | project manager |
program manager | engineering manager | portfolio manager | risk manager | incident manager |
delivery manager | account manager | product owner | service owner | code owner | data owner |
system owner | risk officer | compliance officer | security officer | database administrator |
database admin | system administrator | systems administrator | network administrator |
network admin | cluster administrator | cluster admin
""".replace("\n", " ").split("|")
_ROLE_PHRASES = sorted({(w,) for w in _ROLE_WORDS} | {tuple(p.split()) for p in _ROLE_MULTI},
                       key=len, reverse=True)

# Role words that also name software ("the Kubernetes operator", "the service user", "the
# secrets manager"): a modifier in front that is capitalised or names a system makes them
# a system.
_AMBIGUOUS = {"operator", "admin", "administrator", "user", "manager", "owner", "controller",
              "reviewer", "approver", "author", "lead", "head", "tech", "tester", "dispatcher",
              "planner", "coordinator", "supervisor", "responder", "steward", "human",
              "member", "agent", "dev", "deployer", "releaser"}
_SYSTEM_MODIFIERS = frozenset(_words("""
automated automatic auto scheduled bot robot ai llm virtual kubernetes k8s service system
machine cron ci cd build deploy deployment pipeline database db cluster node package
secrets secret certificate config configuration state lock session process memory traffic
device entity key queue job task window connection resource network storage cache test
iam api web app application backend frontend proxy sidecar script batch stream
"""))
# "a member" is a person only as "a member of the … team" or "team member".
_GROUP_WORDS = (r"(?:team|teams|staff|squad|crew|desk|group|rota|department|org|"
                r"organisation|organization|shift)")

_PRONOUNS = {"he", "she", "i", "you"}
# An absent person: still a person, and the subject makes the omission ("nobody reviewed").
_NOBODY = {"nobody", "noone", "no-one"}
_MODALS = {"will", "would", "shall", "should", "may", "might", "must", "can", "could"}
_INDEFINITE = {"someone", "somebody", "anyone", "anybody", "whoever", "everyone", "everybody"}
_SYSTEM_NAMES = {"ci", "bot", "cron", "system", "deploy", "jenkins", "github", "gitlab",
                 "service", "automation", "scheduler", "root", "daemon", "api"}

_DETERMINERS = {"the", "a", "an", "our", "their", "his", "her", "my", "your", "its", "one",
                "another", "this", "that", "these", "those", "some", "two", "three", "both",
                "each", "every", "any", "no", "all", "several", "other"}
_PREPOSITIONS = {"to", "for", "from", "with", "of", "on", "at", "in", "about", "than",
                 "into", "onto", "via", "toward", "towards", "against", "between", "among",
                 "under", "over", "without", "within", "through", "behind", "beside"}

# --- Lexicon: what counts as erring ---------------------------------------------------

_AUX = frozenset(_words("""
do does did had has have having was were is are am been being be will would shall should
may might must can could keeps kept continued also then still just already again ever
even yet simply apparently clearly obviously evidently unfortunately repeatedly
"""))
_ADVERBS = frozenset(_words("""
also then still just already again ever even yet simply apparently clearly obviously evidently
unfortunately repeatedly
"""))
_NEG_WORDS = {"not", "never", "didn't", "doesn't", "don't", "hadn't", "hasn't", "haven't",
              "wasn't", "weren't", "isn't", "aren't", "won't", "wouldn't"}
_INABILITY = {"could", "couldn't", "can", "can't", "cannot", "unable"}
# Verbs that tell what happened to the person, not what the person did.
_NON_AGENTIVE = re.compile(
    r"^(?:receiv|get|got|gotten|have|has|had|know|knew|known|hear|heard|realis|realiz|"
    r"understand|understood|need|exist|be|been|being|belong|own|manag|succeed|occur|happen|"
    r"appear|seem|mean|lose|lost)", re.IGNORECASE)
_IRREGULAR_PAST = frozenset(_words("""
ran made left put set sent wrote took gave broke forgot overrode hit cut let shut kept
began went did got had was were is are has have will would should could must might may
can told thought saw read rolled led brought chose bought overwrote rewrote undid struck
threw drew fed held meant paid won wore tore
"""))
# More past forms, read only after an absent person ("none of the reviewers caught it").
_MORE_PAST = frozenset(_words("""
caught built spent dealt spoke woke rang sought stood taught fought drove flew froze sold
swept sat upgraded
"""))

# Human-only verbs: flagged anywhere in a person's clause.
_STRONG = re.compile(
    r"^(?:forg[eo]t\w*|neglect\w*|overlook\w*|ignor(?:e|ed|es|ing)|disregard\w*|"
    r"misconfigur\w*|mis-configur\w*|mistyp\w*|misread\w*|misjudg\w*|mislabel\w*|misspel\w*|"
    r"misinterpret\w*|mishandl\w*|misclick\w*|fat-finger\w*|botch\w*|bungl\w*|"
    r"rubber-stamp\w*|overr(?:o|i)de\w*|bother\w*|rush(?:ed|es|ing)?)$", re.IGNORECASE)
# Verbs a system can do too: flagged only at the head of a person's verb phrase.
_WEAK = re.compile(r"^(?:skip(?:s|ped|ping)?|miss(?:es|ed)?|bypass\w*|drop(?:s|ped|ping)?|"
                   r"delet\w*|wip(?:e|ed|es|ing)|purg\w*|destroy\w*|truncat\w*)$",
                   re.IGNORECASE)
_WEAK_NEEDS_MARK = re.compile(r"^(?:drop|delet|wip|purg|destroy|truncat)", re.IGNORECASE)
_FAIL_TO = re.compile(r"^fail(?:s|ed|ing)?$", re.IGNORECASE)
_MISTAKE_NOUN = (r"(?:errors?|mistakes?|typos?|blunders?|slips?|missteps?|oversights?|"
                 r"misjudg(?:e)?ments?|(?:bad|wrong|poor) (?:call|decision|choice)s?)")
_MISTAKE = re.compile(rf"^(?:made|make|makes|making) (?:(?:a|an|another|one|two|three|"
                      rf"several|some|many|multiple|numerous|the|same|this|that) )?"
                      rf"(?:\S+ )?{_MISTAKE_NOUN}\b")
_CARELESS_ADJ = (r"(?:careless|sloppy|negligent|reckless|lazy|hasty|inattentive|distracted|"
                 r"complacent|asleep|sleeping|at fault|to blame|wrong|responsible for the "
                 r"(?:outage|incident|failure|loss)|in a (?:hurry|rush))")
_CARELESS = re.compile(rf"^(?:(?:was|were|is|are|am|been|being|be|seemed|got|acted|became) )"
                       rf"(?:(?:too|very|so|a bit|quite|rather|extremely|overly|simply|just|"
                       rf"being) )*{_CARELESS_ADJ}\b")
_SHOULD_HAVE = re.compile(r"^(?:should|could|ought to|might) (?:not )?(?:have|'ve)\b|"
                          r"^(?:should've|shouldn't have|could've|ought've|should not have)\b")
_NOT_ATTENTIVE = re.compile(r"^(?:was|were|is|are)(?: not|n't) (?:\S+ )?"
                            r"(?:paying|careful|attentive|watching|looking|focused)\b")
_GOT_WRONG = re.compile(r"^(?:got|gets|get) (?:it|this|that|the \S+) wrong\b")
_LEFT_OPEN = re.compile(r"^(?:left|leaves|leaving) (?:the |a |an |its |their |it )?(?:\S+ ){0,3}"
                        r"(?:open|enabled|unlocked|exposed|unpatched|unencrypted|public|"
                        r"running|on|disabled|off|behind)\b")
# Wrongness markers: anywhere in the person's clause.
_MARKERS = re.compile(
    r"\b(?:accidentally|inadvertently|mistakenly|erroneously|wrongly|incorrectly|"
    r"unintentionally|carelessly|hastily|recklessly|negligently|sloppily|lazily|blindly|"
    r"by (?:mistake|accident)|in error|instead of|despite|than (?:intended|planned|expected)|"
    r"without (?:(?:first|even|properly|actually) )?(?:checking|testing|reading|reviewing|"
    r"verifying|confirming|looking|asking|telling|running|waiting|validating|"
    r"double-checking|consulting|notifying|a review|review|approval|a test|tests|a backup|"
    r"backups|a rollback plan)|wrong|incorrect)\b", re.IGNORECASE)
_BAD_OBJECT = re.compile(r"^\S+ (?:(?:\S+ )?(?:the|a|an|its|their) )?(?:bad|untested|"
                         r"unreviewed|unvalidated|unapproved|broken)\b")
_FIX_VERBS = re.compile(r"^(?:fix|found|find|revert|roll|identif|repair|detect|spot|notic|"
                        r"caught|catch|flag|report|investigat|diagnos|correct|replac|undo|"
                        r"undid|quarantin|clean|remov|discover|point)", re.IGNORECASE)
_BLAME_WORDS = re.compile(
    r"\b(?:(?:human|operator|user|pilot|engineer|developer|trader|analyst|manual|personnel)"
    r"\s+errors?|careless(?:ness)?|negligen(?:t|ce)|sloppiness|recklessness|"
    r"(?:his|her|their|my|your|\w+[\u2019']s)\s+fault|to\s+blame)\b", re.IGNORECASE)
_CAREFUL_WORDS = re.compile(r"\b(?:careless|negligent)\b", re.IGNORECASE)

_CLAUSE_BREAK = {"that", "which", "because", "since", "when", "whenever", "while", "after",
                 "before", "until", "so", "but", "although", "though", "whereas", "if",
                 "once", "as", "where", "unless", "whether", "yet"}
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'\u2019][A-Za-z0-9]+)*(?:'(?=\s|$))?|[.,;:!?()\"]")
_SENTENCE_END = {".", ";", ":", "!", "?", "(", ")", '"'}


def _cue_pattern() -> re.Pattern:
    words = (r"not|never|\w+n[\u2019']t|forg[eo]t\w*|neglect\w*|overlook\w*|ignor\w*|"
             r"disregard\w*|mis\w+|fat-finger\w*|botch\w*|bungl\w*|rubber-stamp\w*|"
             r"overr[oi]de\w*|bother\w*|rush\w*|skip\w*|miss\w*|bypass\w*|drop\w*|delet\w*|"
             r"wip\w+|purg\w+|destroy\w*|truncat\w*|fail\w*|made|make\w*|careless\w*|"
             r"sloppy|negligen\w*|reckless\w*|lazy|hasty|inattentive|distracted|complacent|"
             r"asleep|sleeping|should\w*|could\w*|ought|wrong\w*|incorrect\w*|blame|fault|"
             r"error\w*|mistake\w*|typo\w*|blunder\w*|left|accident\w*|inadvertent\w*|"
             r"erroneous\w*|unintentional\w*|hast\w+|blind\w*|despite|instead|without|"
             r"bad|untested|unreviewed|unvalidated|unapproved|broken|paying|careful|hurry|"
             r"nobody|noone|no-one|no|none")
    return re.compile(rf"\b(?:{words})\b", re.IGNORECASE)


_ANY_CUE = _cue_pattern()


def mentions_failure(text: str) -> bool:
    """True when `text` holds any word that can make a person's clause blame-flavoured
    ("forgot", "not", "by mistake", …): only then can a person's name matter, so callers
    may skip reading people's names otherwise (docs/rules.md#blameless-flagged)."""
    return bool(_ANY_CUE.search(text or ""))


@dataclass
class _Tok:
    text: str
    low: str
    start: int
    end: int
    index: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group(0).replace("\u2019", "'")
        out.append(_Tok(word, word.lower(), m.start(), m.end(), len(out)))
    return out


def _sentences(tokens: list[_Tok]) -> list[list[_Tok]]:
    sentences, current = [], []
    for tok in tokens:
        if tok.text in _SENTENCE_END:
            if current:
                sentences.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        sentences.append(current)
    return sentences


def _name_phrases(names) -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    """(words, case_sensitive) of each usable name by its first word in lower case, longest
    first. Usernames match in any case; display names (with a capital or a space) as
    written."""
    phrases = set()
    for name in names:
        name = (name or "").strip()
        if len(name) < 2 or name.lower() in _SYSTEM_NAMES:
            continue
        words = tuple(name.split())
        display = " " in name or any(c.isupper() for c in name)
        phrases.add((words if display else tuple(w.lower() for w in words), display))
    by_first: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    for phrase in sorted(phrases, key=lambda p: len(p[0]), reverse=True):
        by_first.setdefault(phrase[0][0].lower(), []).append(phrase)
    return by_first


def _singulars(word: str) -> tuple[str, ...]:
    """The word itself and what it could be the plural of."""
    forms = [word]
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)


_ROLE_SET = set(_ROLE_PHRASES)
_ROLES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _phrase in _ROLE_PHRASES:
    _ROLES_BY_FIRST.setdefault(_phrase[0], []).append(_phrase)


def _role_at(sent: list[_Tok], i: int) -> int:
    """Length in tokens of a role phrase starting at sent[i] (0 if none)."""
    first = sent[i].low
    candidates = _ROLES_BY_FIRST.get(first, []) + [
        p for form in _singulars(first)[1:] for p in _ROLES_BY_FIRST.get(form, [])
        if len(p) == 1]
    for phrase in sorted(candidates, key=len, reverse=True):
        n = len(phrase)
        if i + n > len(sent):
            continue
        words = [t.low for t in sent[i:i + n]]
        if words[:-1] == list(phrase[:-1]) and phrase[-1] in _singulars(words[-1]):
            if phrase in {("pm",), ("em",)} and sent[i + n - 1].text.islower():
                continue  # "3 pm" is a time, not a product manager
            return n
    return 0


def _is_person_plural(word: str) -> bool:
    return any((form,) in _ROLE_SET for form in _singulars(word)[1:])


def _they_is_people(all_tokens: list[_Tok], index: int) -> bool:
    """'they' (all_tokens[index]) stands for people unless the nearest plural noun before it
    (within 40 words) is not a role."""
    for k in range(index - 1, max(0, index - 40), -1):
        word, prev = all_tokens[k].low, all_tokens[k - 1].low
        if (len(word) > 3 and word.endswith("s") and not word.endswith("ss")
                and prev not in _PRONOUNS and word not in _AUX):
            if _is_person_plural(word):
                return True
            if prev in _DETERMINERS:
                return False
    return True


def _subjects(sent: list[_Tok], all_tokens: list[_Tok],
              names) -> list[tuple[int, int, bool, bool]]:
    """(first token, token after the head, by_agent, absent) of each person noun phrase in
    `sent`. by_agent marks a person after "by" (the agent of a passive); absent marks an
    absent person ("nobody", "no one", "no reviewer", "none of the reviewers"), whose
    deed is an omission in itself."""
    found = []
    i = 0
    while i < len(sent):
        tok = sent[i]
        length = 0
        kind = ""
        if tok.low in _NOBODY or (tok.low == "no" and i + 1 < len(sent)
                                  and sent[i + 1].low == "one"):
            length = 1 if tok.low in _NOBODY else 2
            before = sent[i - 1].low if i > 0 else ""
            if before not in _PREPOSITIONS or before == "by":
                found.append((i, i + length, before == "by", True))
            i += length
            continue
        for words, case_sensitive in names.get(tok.low, ()):
            n = len(words)
            got = [t.text if case_sensitive else t.low for t in sent[i:i + n]]
            if tuple(got) == words:
                length, kind = n, "name"
                break
        if not length:
            if tok.low in _PRONOUNS and (tok.low != "i" or tok.text == "I"):
                length, kind = 1, "pronoun"
            elif tok.low == "they":
                if _they_is_people(all_tokens, tok.index):
                    length, kind = 1, "pronoun"
            elif tok.low in _INDEFINITE:
                length, kind = 1, "indefinite"
            else:
                length = _role_at(sent, i)
                kind = "role" if length else ""
        if not length:
            i += 1
            continue
        head_end = i + length
        head = sent[head_end - 1].low.rstrip("s") if kind == "role" else ""
        start = i
        if kind == "role":
            # Walk back over modifiers to the determiner.
            j = i - 1
            modifiers = []
            while j >= 0 and sent[j].low not in _DETERMINERS and sent[j].low not in _PREPOSITIONS \
                    and sent[j].low not in _AUX and sent[j].low not in _CLAUSE_BREAK \
                    and sent[j].low not in {"and", "or", "by"} and len(modifiers) < 3 \
                    and not sent[j].low.endswith("ly"):
                modifiers.append(sent[j])
                j -= 1
            if head in _AMBIGUOUS and length == 1 and any(
                    m.low in _SYSTEM_MODIFIERS or (m.text[:1].isupper() and m is not sent[0])
                    for m in modifiers):
                i = head_end
                continue
            start = j + 1
            if j >= 0 and sent[j].low in _DETERMINERS:
                start = j
            before = sent[start - 1].low if start > 0 else ""
        else:
            before = sent[i - 1].low if i > 0 else ""
            if kind == "name" and before in _DETERMINERS:
                i = head_end
                continue
        if sent[head_end - 1].low.endswith("'s") or sent[head_end - 1].low.endswith("s'"):
            i = head_end  # possessive: "the engineer's script"
            continue
        if head == "member" and length == 1 and not re.match(
                rf"(?:of|in|on|from) (?:the |our |a |their )?(?:\S+ )?{_GROUP_WORDS}\b",
                " ".join(t.low for t in sent[head_end:head_end + 5])):
            i = head_end
            continue
        absent = kind == "role" and sent[start].low == "no"
        if kind == "role" and before == "of" and start >= 2 and sent[start - 2].low == "none":
            start, before, absent = start - 2, sent[start - 3].low if start > 2 else "", True
        by_agent = before == "by"
        if before in _PREPOSITIONS and not by_agent:
            i = head_end
            continue
        found.append((start, head_end, by_agent, absent))
        i = head_end
    return found


def _skip_post_modifiers(sent: list[_Tok], k: int) -> int:
    """Skip "on call", "responsible for the rota", "of the platform team", ", who" …"""
    while k < len(sent):
        low = sent[k].low
        rest = " ".join(t.low for t in sent[k:k + 6])
        m = re.match(rf"(?:on call|on duty|on shift|in charge|at the keyboard|involved|"
                     rf"concerned|responsible(?: for (?:the |a |this )?\S+)?|"
                     rf"(?:of|in|on|from) (?:the |our |a |their )?(?:\S+ )?{_GROUP_WORDS})\b",
                     rest)
        if m:
            k += len(m.group(0).split())
            continue
        if low in {",", "who", "that"}:
            k += 1
            continue
        break
    return k


def _verbish(tok: _Tok) -> bool:
    low = tok.low
    return (low in _AUX or low in _NEG_WORDS or low in _INABILITY or low in _IRREGULAR_PAST
            or low.endswith(("ed", "ly", "n't", "'ve"))
            or bool(_STRONG.match(low)) or bool(_WEAK.match(low))
            or low in {"ignores", "forgets", "keeps", "unable", "made", "makes", "make"})


def _chunks(pred: list[_Tok]) -> list[list[_Tok]]:
    """Split a predicate at 'and'/'or'/'then' that start another verb phrase."""
    chunks, current = [], []
    for tok in pred:
        if tok.low in {"and", "or", "then"} and current:
            chunks.append(current)
            current = []
            continue
        if tok.low == ",":
            continue
        current.append(tok)
    if current:
        chunks.append(current)
    return chunks


def _gap_end(chunk: list[_Tok]) -> tuple[int, list[str]]:
    """Index of the first word after the auxiliaries/adverbs/negations; the words skipped."""
    k = 0
    skipped = []
    while k < len(chunk) and (chunk[k].low in _AUX or chunk[k].low in _NEG_WORDS
                              or chunk[k].low in _INABILITY or chunk[k].low == "to"
                              or (chunk[k].low.endswith("ly") and len(chunk[k].low) > 3
                                  and not _STRONG.match(chunk[k].low))):
        if chunk[k].low in {"have", "has", "had", "get", "got"} and skipped and \
                skipped[-1] in _NEG_WORDS and not (
                    k + 1 < len(chunk) and (chunk[k + 1].low.endswith("ed")
                                            or chunk[k + 1].low in _IRREGULAR_PAST
                                            or chunk[k + 1].low in _ADVERBS)):
            break  # "did not have access": a main verb, not an auxiliary
        skipped.append(chunk[k].low)
        k += 1
    return k, skipped


def _errs(pred: list[_Tok], relative: bool) -> bool:
    """Does the person's predicate say they erred? (docs/rules.md#blameless-flagged)"""
    if not pred:
        return False
    text = " ".join(t.low for t in pred)
    chunks = _chunks(pred)
    fix_led = False
    for n, chunk in enumerate(chunks):
        words = [t.low for t in chunk]
        phrase = " ".join(words)
        if _SHOULD_HAVE.match(phrase) or _CARELESS.match(phrase) or \
                _NOT_ATTENTIVE.match(phrase) or _GOT_WRONG.match(phrase):
            return True
        k, skipped = _gap_end(chunk)
        rest = " ".join(words[k:])
        if any(_STRONG.match(w) for w in words):
            return True
        if k >= len(words):
            continue
        verb = words[k]
        if n == 0:
            fix_led = bool(_FIX_VERBS.match(verb))
        negated = any(w in _NEG_WORDS for w in skipped)
        unable = any(w in _INABILITY for w in skipped) or "unable" in skipped
        passive = any(w in {"was", "were", "is", "are", "been", "being"} for w in skipped)
        if negated and not unable and not _NON_AGENTIVE.match(verb) and (
                not passive or verb.endswith("ing")):
            return True
        if _FAIL_TO.match(verb) and k + 1 < len(words) and words[k + 1] == "to" and not unable:
            return True
        if _WEAK.match(verb) and not passive and not (
                _WEAK_NEEDS_MARK.match(verb) and not _MARKERS.search(text)):
            return True
        if _MISTAKE.match(rest) or _LEFT_OPEN.match(rest):
            return True
        if not passive and not _FIX_VERBS.match(verb) and _BAD_OBJECT.match(rest):
            return True
    if not fix_led and _MARKERS.search(text):
        return True
    # A relative clause, then the negated main verb ("… who wrote the script never tested it").
    for k, tok in enumerate(pred if relative else ()):
        if tok.low in {"never", "not", "didn't", "hadn't", "hasn't", "haven't"} and \
                k + 1 < len(pred):
            prev = pred[k - 1].low if k else ""
            if prev in _INABILITY or prev in {"was", "were", "is", "are", "been"}:
                continue
            nxt = [t.low for t in pred[k + 1:k + 3] if not (t.low.endswith("ly") or
                                                            t.low in _ADVERBS)]
            if nxt and not _NON_AGENTIVE.match(nxt[0]) and (
                    nxt[0].endswith("ed") or nxt[0] in _IRREGULAR_PAST or k == 0
                    or prev in _AUX):
                return True
    return False


def _absent_errs(pred: list[_Tok]) -> bool:
    """Does an absent person's predicate tell a deed left undone? "Nobody reviewed the
    migration", "no one had tested the restore", "none of the reviewers caught it": an
    agentive verb in the past or perfect, active. Not: the passive ("nobody is paged"), the
    present of how things stand ("nobody subscribes to the channel"), inability or a
    modal ("no one could log in"), what happens to a person ("nobody knew", "nobody had
    access")."""
    chunk = (_chunks(pred) or [[]])[0]
    words = [t.low for t in chunk]
    if any(_STRONG.match(w) for w in words):
        return True
    k, skipped = _gap_end(chunk)
    if k >= len(words) or any(w in _INABILITY or w in _MODALS for w in skipped):
        return False
    if any(w in {"was", "were", "is", "are", "been", "being", "be", "am"} for w in skipped):
        return False
    verb = words[k]
    if _NON_AGENTIVE.match(verb) or verb in _AUX:
        return False
    perfect = any(w in {"had", "has", "have"} for w in skipped)
    past = verb.endswith("ed") or verb in _IRREGULAR_PAST or verb in _MORE_PAST
    return past and (perfect or not skipped or all(w in _ADVERBS for w in skipped))


def _passive_errs(clause: list[_Tok]) -> bool:
    """A passive with a person as the agent: "was deleted by a contractor", "was never
    rotated by the owner", "was written by the analyst without checking"."""
    text = " ".join(t.low for t in clause)
    if _MARKERS.search(text) or re.search(r"\b(?:not|never|n't)\b", text):
        return True
    return bool(re.search(r"\b(?:was|were|been|being|got)\s+(?:\w+ly\s+)?(?:deleted|dropped|"
                          r"removed|wiped|truncated|destroyed|overwritten|purged|erased|"
                          r"killed|terminated|misconfigured|broken)\b", text))


def _clause_end(sent: list[_Tok], k: int) -> int:
    """First token index at or after k that starts another clause (at most 40 words on)."""
    limit = min(len(sent), k + 40)
    while k < limit:
        low = sent[k].low
        if low in _CLAUSE_BREAK:
            return k
        if low in {"and", "or", "but"} and k + 1 < len(sent) and (
                sent[k + 1].low in _DETERMINERS or sent[k + 1].low in _PRONOUNS
                or sent[k + 1].low in {"they", "it", "we", "nothing", "nobody"}):
            return k
        k += 1
    return k


def _general_findings(text: str, names) -> list[tuple[int, int]]:
    tokens = _tokens(text)
    spans = []
    for sent in _sentences(tokens):
        for start, head_end, by_agent, absent in _subjects(sent, tokens, names):
            if by_agent:
                # The clause around the agent: back to the clause start, on to its end.
                back = start
                while back > 0 and start - back < 40 and sent[back - 1].low not in _CLAUSE_BREAK:
                    back -= 1
                end = _clause_end(sent, head_end)
                if absent:
                    # "was reviewed by nobody": the passive's deed left undone.
                    words = [t.low for t in sent[max(0, start - 4):start - 1]
                             if not (t.low.endswith("ly") or t.low in _ADVERBS)]
                    if len(words) >= 2 and words[-2] in {"was", "were", "been", "got"} and (
                            words[-1].endswith(("ed", "en")) or words[-1] in _IRREGULAR_PAST
                            or words[-1] in _MORE_PAST):
                        spans.append((sent[back].start, sent[end - 1].end))
                    continue
                if _passive_errs(sent[back:end]):
                    spans.append((sent[back].start, sent[end - 1].end))
                continue
            k = _skip_post_modifiers(sent, head_end)
            if k >= len(sent) or not (_verbish(sent[k])
                                      or (absent and sent[k].low in _MORE_PAST)):
                continue
            end = _clause_end(sent, k)
            relative = any(t.low in {"who", "that"} for t in sent[head_end:k])
            if absent:
                if _absent_errs(sent[k:end]):
                    spans.append((sent[start].start, sent[end - 1].end))
                continue
            if _errs(sent[k:end], relative):
                spans.append((sent[start].start, sent[end - 1].end))
    return spans


def check(text: str, names=()) -> list[BlameFinding]:
    """The blame-flavoured phrases in `text`, in order of appearance (no overlaps).

    `names` are people's usernames and display names, also treated as persons ("alice
    forgot to …", "Alice Smith skipped …"). Table phrasings come with the seed's rewrite;
    everything else with GENERAL_REWRITE. Rule: docs/rules.md#blameless-flagged.
    """
    if not text or not text.strip():
        return []
    found: list[tuple[int, int, BlameFinding]] = []

    def add(start: int, end: int, rewrite: str, rule: str) -> None:
        if any(start < other_end and other_start < end for other_start, other_end, _ in found):
            return
        found.append((start, end, BlameFinding(text[start:end].strip(), rewrite, rule)))

    for pattern, rewrite in TRANSLATION_TABLE:
        for match in pattern.finditer(text):
            before = text[:match.start()].split()
            if before and before[-1].lower() in _SYSTEM_MODIFIERS:
                continue  # "the automated reviewer approved …" is a system
            add(*match.span(), rewrite, TABLE_RULE)
    for start, end in _general_findings(text, _name_phrases(names)):
        add(start, end, GENERAL_REWRITE, GENERAL_RULE)
    for match in _BLAME_WORDS.finditer(text):
        if _CAREFUL_WORDS.fullmatch(match.group(0)):
            continue  # careless/negligent alone count only with a person (above)
        add(*match.span(), GENERAL_REWRITE, GENERAL_RULE)
    return [finding for _, _, finding in sorted(found, key=lambda item: item[0])]
