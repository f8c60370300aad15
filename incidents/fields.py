"""The one field registry: every field of the postmortem template, declared once.

A new field is one entry here plus its migration (the model column(s) it consists of).
Everything that lists the template's fields reads them from here: the draft page's
autosave forms (incidents.forms), which input belongs to which field (FIELD_OF_INPUT,
incidents.views.autosave), the template rules' labels, order and long-form list
(incidents.template_rules), the fields with a revision history (incidents.revisions),
the fields that can be marked pending trace review (incidents.meeting_record), the
JSON-lines log (incidents.jsonl), the Markdown export (incidents.markdown_export), the
searched columns (knowledge.search) and the templates' headings and hints (the
`field_heading` / `field_hint` tags of incidents.templatetags.scarlog).

Column lengths are never copied: Input.max_length reads the model
(`Postmortem._meta.get_field(name).max_length`), so a changed column is seen by every
reader at once. (A field added to the searched columns also goes into
Postmortem.search_columns, whose trigger builds the stored search vector; a test
holds the two equal, and makemigrations then writes the trigger's migration.)

Rules: docs/rules.md#template-fields (the seven fields) and docs/rules.md#longform-sections
(the long-form sections).
"""
from dataclasses import dataclass

from django.db import models
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents.models import (
    DEFERRED_FIX_TEXT,
    SECTION_HINTS,
    ContributingFactor,
    Postmortem,
    Reference,
    Section,
    TimelineEntry,
)

SEVEN_FIELD, LONG_FORM_KIND, OPTIONAL = "seven", "long-form", "optional"


@dataclass(frozen=True)
class Input:
    """One stored value of a field: a column of `model` (Postmortem, or the field's row
    model), the form input / autosave URL of the same name, and where the JSON-lines log
    holds it (`jsonl`: a key, or "parent.key" inside an object).

    `search`: its place (1, 2, …) in the postmortem's searched text, 0 when not searched.
    `web_link`: the value is a link, empty or http(s) only (core.web_links,
    docs/rules.md#input-links), in the form and in the JSON-lines log.
    """

    name: str
    jsonl: str = ""
    model: type[models.Model] = Postmortem
    search: int = 0
    web_link: bool = False

    @property
    def model_field(self) -> models.Field:
        return self.model._meta.get_field(self.name)

    @property
    def max_length(self) -> int | None:
        """The column's max_length (None for text and numbers): read from the model."""
        return self.model_field.max_length

    @property
    def label(self) -> str:
        return str(self.model_field.verbose_name)


@dataclass(frozen=True)
class Field:
    """One template field.

    key: its name in the rules, the page (`section-<key>`), pending marks and history;
    number: its number in the template (1–11; None for an unnumbered optional field);
    kind: SEVEN_FIELD, LONG_FORM_KIND or OPTIONAL; inputs: the Postmortem columns it
    consists of (autosaved one at a time); rows: for a field held in child rows, the row
    kind ("timeline", "factors", "references") and row_inputs the row model's columns;
    hint: the HTML (a trusted constant) shown under its heading; markable: may be marked
    "incomplete, pending trace review"; history: its saves are listed in its history;
    blameless: its text goes through incidents.blameless; jsonl: the keys of a log line
    that hold it; heading: its Markdown heading (default: the label).
    """

    key: str
    label: str
    number: int | None
    kind: str
    inputs: tuple[Input, ...] = ()
    rows: str = ""
    row_inputs: tuple[Input, ...] = ()
    hint: str = ""
    markable: bool = True
    history: bool = True
    blameless: bool = False
    jsonl: tuple[str, ...] = ()
    heading: str = ""

    @property
    def markdown_heading(self) -> str:
        return self.heading or self.label

    @property
    def numbered_label(self) -> str:
        """"1. Summary" (the page's heading); the bare label when it has no number."""
        return f"{self.number}. {self.label}" if self.number else self.label

    @property
    def is_row_field(self) -> bool:
        return bool(self.rows)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.inputs)

    def input(self, name: str) -> Input:
        """The input `name` of this field (a Postmortem or row column); KeyError otherwise."""
        for item in self.inputs + self.row_inputs:
            if item.name == name:
                return item
        raise KeyError(name)


def _section_hint(section: Section) -> SafeString:
    return escape(SECTION_HINTS[section])


REGISTRY: tuple[Field, ...] = (
    Field("summary", "Summary", 1, SEVEN_FIELD,
          inputs=(Input("summary", "summary", search=1),), blameless=True, jsonl=("summary",),
          hint=mark_safe(
              "One or two sentences, factual, no attribution; at most 40 words. “Position "
              "opened in SYNTHETIC_A at 14:02 UTC was not closed on thesis invalidation at "
              "15:47 UTC.”")),
    Field("timeline", "Timeline", 2, SEVEN_FIELD, rows="timeline",
          row_inputs=(Input("utc", "utc", TimelineEntry), Input("event", "event", TimelineEntry),
                      Input("trace_id", "trace_id", TimelineEntry)),
          jsonl=("timeline",),
          hint=mark_safe(
              "UTC timestamps for idea → decision → execution → outcome; 5 to 20 rows, each "
              "carrying the trace_id of its log. Rows keep time order. Times: "
              "<code>YYYY-MM-DD HH:MM[:SS]</code> in UTC, or ISO 8601 with an offset "
              "(converted to UTC).")),
    Field("root_cause", "Root cause", 3, SEVEN_FIELD,
          inputs=(Input("root_cause", "root_cause"),), jsonl=("root_cause",),
          hint=mark_safe(
              "Exactly one label from the closed vocabulary. Cross-cutting failures pick the "
              "dominant one and list the others as contributing factors.")),
    Field("contributing_factors", "Contributing factors", 4, SEVEN_FIELD, rows="factors",
          row_inputs=(Input("text", "contributing_factors", ContributingFactor),
                      Input("substitution", "factor_substitution", ContributingFactor)),
          blameless=True, jsonl=("contributing_factors", "factor_substitution"),
          hint=mark_safe(
              "Three to five system conditions that made the failure possible. “The validator "
              "did not check schema version” is a factor; “the operator was not watching” is "
              "not. <strong>Substitution test</strong> for each: would it have failed with "
              "someone else at the keyboard? Yes → structural; no → personal. Only structural "
              "factors count toward the three to five.")),
    Field("fix", "Fix implemented", 5, SEVEN_FIELD,
          inputs=(Input("fix_commit_sha", "fix_commit_sha"),
                  Input("fix_description", "fix_description", search=8),
                  Input("fix_ticket_link", "fix_ticket_link", web_link=True)),
          jsonl=("fix_commit_sha", "fix_description", "fix_ticket_link"),
          hint=mark_safe(
              "Name the code, config or prompt change and give its commit SHA. If no change is "
              f"made, the field reads exactly “{escape(DEFERRED_FIX_TEXT)}” with a ticket "
              "link.")),
    Field("prevention", "Prevention", 6, SEVEN_FIELD,
          inputs=(Input("prevention", "prevention", search=2),), blameless=True,
          jsonl=("prevention",),
          hint=mark_safe(
              "One paragraph on how a similar failure would be detected earlier: "
              "detectability, not intent. “The ingestion pipeline now emits a schema-version "
              "metric; an alert fires on change.”")),
    Field("references", "References", 7, SEVEN_FIELD, rows="references",
          row_inputs=(Input("kind", "kind", Reference), Input("value", "value", Reference)),
          jsonl=("references", "trace_id", "pr_link"),
          hint=mark_safe(
              "Three to six typed links that close the loop: trace_id for log replay, commit "
              "SHA for the fix, PR link for the review, ticket for follow-up work.")),
    Field(Section.IMPACT.value, str(Section.IMPACT.label), 8, LONG_FORM_KIND,
          inputs=(Input("impact_usd", "impact.usd"), Input("impact_users", "impact.users"),
                  Input("impact_duration_minutes", "impact.duration_minutes"),
                  Input("impact_description", "impact.description", search=6)),
          jsonl=("impact",), hint=_section_hint(Section.IMPACT)),
    Field(Section.WHAT_WENT_WELL.value, str(Section.WHAT_WENT_WELL.label), 9, LONG_FORM_KIND,
          inputs=(Input("what_went_well", "what_went_well", search=5),),
          jsonl=("what_went_well",), hint=_section_hint(Section.WHAT_WENT_WELL)),
    Field(Section.WHAT_WENT_WRONG.value, str(Section.WHAT_WENT_WRONG.label), 10,
          LONG_FORM_KIND, inputs=(Input("what_went_wrong", "what_went_wrong", search=4),),
          jsonl=("what_went_wrong",), hint=_section_hint(Section.WHAT_WENT_WRONG)),
    Field(Section.LESSONS_LEARNED.value, str(Section.LESSONS_LEARNED.label), 11,
          LONG_FORM_KIND, inputs=(Input("lessons_learned", "lessons_learned", search=3),),
          jsonl=("lessons_learned",), hint=_section_hint(Section.LESSONS_LEARNED)),
    Field("owner_sentiment", "Owner sentiment", None, OPTIONAL,
          inputs=(Input("owner_sentiment", "owner_sentiment.quote"),
                  Input("owner_sentiment_by", "owner_sentiment.by")),
          markable=False, jsonl=("owner_sentiment",),
          hint=mark_safe(
              "A real quote from whoever paid the cost — yours or theirs. Don't soften it: the "
              "honest cost belongs in the document.")),
)

FIELDS_BY_KEY = {item.key: item for item in REGISTRY}
SEVEN = tuple(item for item in REGISTRY if item.kind == SEVEN_FIELD)
LONG_FORM = tuple(item for item in REGISTRY if item.kind == LONG_FORM_KIND)
OPTIONAL_FIELDS = tuple(item for item in REGISTRY if item.kind == OPTIONAL)
# The fields whose section has markup of its own on the draft page (a partial or inline
# in postmortem_draft.html). Every other field of the registry is a plain text field: the
# draft and final pages render it from the registry (incidents/partials/text_field_section
# .html), so adding one needs no template.
OWN_SECTION = frozenset({"summary", "timeline", "root_cause", "contributing_factors", "fix",
                         "prevention", "references", "owner_sentiment",
                         *(f.key for f in LONG_FORM)})
GENERIC_SECTIONS = tuple(item for item in REGISTRY if item.key not in OWN_SECTION)
# Which field each autosaved Postmortem input belongs to ("impact_usd" -> "impact").
FIELD_OF_INPUT = {item.name: field.key for field in REGISTRY for item in field.inputs}
# Postmortem columns the search reads besides the template's (the event's reason), with
# their place in the searched text.
OTHER_SEARCHED_COLUMNS = {"trigger_reason": 7}


def field(key: str) -> Field:
    """The field `key` ("summary", "fix", …); KeyError for another key."""
    return FIELDS_BY_KEY[key]


def input_field(input_name: str) -> Field:
    """The field an autosaved input belongs to ("fix_ticket_link" -> fix); KeyError otherwise."""
    return FIELDS_BY_KEY[FIELD_OF_INPUT[input_name]]


def inputs() -> tuple[Input, ...]:
    """Every autosaved Postmortem input, in template order."""
    return tuple(item for field_ in REGISTRY for item in field_.inputs)


def input_names() -> tuple[str, ...]:
    return tuple(item.name for item in inputs())


def max_length(name: str, model: type[models.Model] = Postmortem) -> int | None:
    """The max_length of column `name` of `model`, read from the model."""
    return model._meta.get_field(name).max_length


def searched_columns() -> tuple[str, ...]:
    """The Postmortem columns the search reads, in the order of the searched text."""
    places = {item.name: item.search for item in inputs() if item.search}
    places |= OTHER_SEARCHED_COLUMNS
    return tuple(sorted(places, key=places.__getitem__))


def labels() -> dict[str, str]:
    """key -> label of every field."""
    return {item.key: item.label for item in REGISTRY}
