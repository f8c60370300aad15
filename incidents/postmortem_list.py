"""The postmortem list at the size of a real archive: filters, sort and pages.

Rule: docs/rules.md#template-list. The page's GET form is a django-filter FilterSet
(PostmortemFilter): root cause, domain, status, trigger, event date range (UTC dates),
open action items, free text (core.search_vector.text_matches: the postmortem's own text,
its timeline entries or its contributing factors), and a whitelisted sort. Fifty
postmortems a page (PAGE_SIZE). A bad value, an unknown or repeated parameter or a page
that is not a number is refused (ListError / the page's 400) with a message naming the
parameter; the list is then not shown, never shown unfiltered in its place.

What the list reads is bounded whatever a record holds: only LIST_COLUMNS and the first
SUMMARY_HEAD_CHARS characters of the summary (never prevention, the long-form texts or
the search vector), and counts (timeline rows, factors, references, open action items,
amendments) as subqueries instead of rows. The queries are the same for any page:
session and user, the domain choices, the count, the page's rows.

The count is bounded (BoundedPaginator): it counts up to COUNT_CAP matches (or up to the
page asked for, when that lies further) and the page shows "1,000+" past that, with no
last-page link, since an exact COUNT over a hundred thousand filtered rows costs more than
the page itself (bench/README.md, issue 23).

To add a filter: declare it on PostmortemFilter (e.g. `severity = df.ChoiceFilter(...)`,
its choices set in __init__ when they are data), add it to Meta.fields in order and, to
sort by it, a SORTS entry; the template renders every field of the form, so nothing else
changes.
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import django_filters as df
from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Left
from django.utils.functional import cached_property

from core.record_types import shown
from core.search_vector import text_matches
from incidents import template_rules, visibility, vocabulary
from incidents.meetings import annotate_meeting_held
from incidents.models import (
    MEETING_DEADLINE_HOURS,
    ActionItem,
    Amendment,
    ContributingFactor,
    Postmortem,
    Reference,
    RootCause,
    TimelineEntry,
)
from incidents.services import known_domains

PAGE_SIZE = 50
COUNT_CAP = 1000  # matches counted exactly; past it the page says "1,000+"
MAX_TEXT = 200  # characters of free text, as the search page allows
SUMMARY_HEAD_CHARS = 400  # enough for the 24 words the list shows
# The postmortem columns the list reads (Postmortem.objects.only()).
LIST_COLUMNS = ("id", "created_utc", "updated_utc", "status", "template", "occurred_utc",
                "trigger", "root_cause", "severity")
CHOICE_ERRORS = {"invalid_choice": "not one of the choices offered."}
DATE_ERRORS = {"invalid": "give a date as YYYY-MM-DD (UTC)."}
PAGE_PATTERN = re.compile(r"[1-9][0-9]{0,8}")

_waiting = ExpressionWrapper(Q(status=Postmortem.Status.DRAFT, meeting_held=False),
                             output_field=BooleanField())
_no_root_cause = ExpressionWrapper(Q(root_cause=""), output_field=BooleanField())
# Sort keys (the `sort` parameter): label and ORDER BY; "" is the default, newest first.
# Each ends with created_utc and id, so pages never overlap or skip a postmortem.
SORTS = {
    "": ("Newest first (created)", ()),
    "event": ("Event time, oldest first", (F("occurred_utc").asc(nulls_last=True),)),
    "-event": ("Event time, newest first", (F("occurred_utc").desc(nulls_last=True),)),
    "deadline": ("Meeting deadline (waiting first), soonest first",
                 (_waiting.desc(), F("deadline_utc").asc(nulls_last=True))),
    "-deadline": ("Meeting deadline (waiting first), latest first",
                  (_waiting.desc(), F("deadline_utc").desc(nulls_last=True))),
    "updated": ("Updated, oldest first", (F("updated_utc").asc(),)),
    "-updated": ("Updated, newest first", (F("updated_utc").desc(),)),
    "root_cause": ("Root cause, A to Z", (_no_root_cause.asc(), F("root_cause").asc())),
    "-root_cause": ("Root cause, Z to A", (_no_root_cause.asc(), F("root_cause").desc())),
}
TIE_BREAK = (F("created_utc").desc(), F("id").asc())


class ListError(ValueError):
    """A query-string parameter of the list is unusable; `field` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class ListFilterForm(forms.Form):
    """The filter form; refuses an event range whose start is after its end."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("event_from"), data.get("event_to")
        if start and end and start > end:
            self.add_error("event_to", f"the range ends ({end:%Y-%m-%d}) before it starts "
                                       f"({start:%Y-%m-%d}).")
        return data


def _utc_midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _count(model, **extra) -> Coalesce:
    """COUNT of `model` rows of the outer postmortem (a subquery; 0 when none)."""
    rows = (model.objects.filter(postmortem=OuterRef("pk"), **extra).order_by()
            .values("postmortem").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _open_items():
    return ActionItem.objects.filter(postmortem=OuterRef("pk"),
                                     status__in=ActionItem.OPEN_STATUSES)


class PostmortemFilter(df.FilterSet):
    """The list's filters, in the order the form shows them (see the module docstring).

    Data: request.GET. Dates are UTC calendar days, both ends included. `domain` offers
    the domains some postmortem is classified in (services.known_domains, one query).
    """

    q = df.CharFilter(label="Text", method="filter_text", max_length=MAX_TEXT,
                      widget=forms.TextInput(attrs={"type": "search"}))
    root_cause = df.ChoiceFilter(choices=RootCause.choices, label="Root cause",
                                 empty_label="Any root cause", error_messages=CHOICE_ERRORS)
    domain = df.ChoiceFilter(field_name="classification__domain", label="Domain",
                             empty_label="Any domain", error_messages=CHOICE_ERRORS)
    status = df.ChoiceFilter(choices=Postmortem.Status.choices, label="Status",
                             empty_label="Draft or final", error_messages=CHOICE_ERRORS)
    trigger = df.ChoiceFilter(label="Trigger", empty_label="Any trigger",
                              error_messages=CHOICE_ERRORS)
    severity = df.ChoiceFilter(label="Severity", empty_label="Any severity",
                               error_messages=CHOICE_ERRORS)
    event_from = df.DateFilter(label="Event from (UTC date)", method="filter_event_from",
                               error_messages=DATE_ERRORS,
                               widget=forms.DateInput(attrs={"type": "date"}))
    event_to = df.DateFilter(label="Event to (UTC date)", method="filter_event_to",
                             error_messages=DATE_ERRORS,
                             widget=forms.DateInput(attrs={"type": "date"}))
    open_items = df.ChoiceFilter(
        label="Open action items", method="filter_open_items", empty_label="Either",
        choices=(("yes", "Some open"), ("no", "None open")), error_messages=CHOICE_ERRORS)
    sort = df.ChoiceFilter(
        label="Sort", method="sort_by", empty_label=SORTS[""][0], error_messages=CHOICE_ERRORS,
        choices=[(key, label) for key, (label, _) in SORTS.items() if key])

    class Meta:
        model = Postmortem
        form = ListFilterForm
        fields = ["q", "root_cause", "severity", "domain", "status", "trigger", "event_from",
                  "event_to", "open_items", "sort"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["domain"].extra["choices"] = [(d, d) for d in known_domains()]
        # Triggers and severities are data (incidents.vocabulary); retired ones still
        # find the old records that carry them.
        self.filters["trigger"].extra["choices"] = list(vocabulary.trigger_labels().items())
        self.filters["severity"].extra["choices"] = list(vocabulary.severity_labels().items())

    def filter_text(self, queryset, name, value):
        """Postmortems whose own text, a timeline entry or a contributing factor matches."""
        value = value.strip()
        if not value:
            return queryset
        own = Q(pk__in=text_matches(Postmortem, value).values("pk"))
        return queryset.filter(
            own
            | Exists(text_matches(TimelineEntry, value).filter(postmortem=OuterRef("pk")))
            | Exists(text_matches(ContributingFactor, value).filter(postmortem=OuterRef("pk"))))

    def filter_event_from(self, queryset, name, value):
        return queryset.filter(occurred_utc__gte=_utc_midnight(value))

    def filter_event_to(self, queryset, name, value):
        if value == date.max:  # no next day to stop before
            return queryset.filter(occurred_utc__isnull=False)
        return queryset.filter(occurred_utc__lt=_utc_midnight(value + timedelta(days=1)))

    def filter_open_items(self, queryset, name, value):
        return queryset.filter(Exists(_open_items()) if value == "yes" else ~Exists(_open_items()))

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS[value][1], *TIE_BREAK)


def listed_postmortems(user=None):
    """Every postmortem `user` may read (incidents.visibility) with what the list shows and
    nothing else (newest first)."""
    rows = visibility.visible_postmortems(user).only(*LIST_COLUMNS).annotate(
        summary_head=Left("summary", SUMMARY_HEAD_CHARS),
        domain=F("classification__domain"),
        deadline_utc=ExpressionWrapper(
            F("occurred_utc") + timedelta(hours=MEETING_DEADLINE_HOURS),
            output_field=DateTimeField()),
        timeline_count=_count(TimelineEntry),
        factor_count=_count(ContributingFactor),
        reference_count=_count(Reference),
        amendment_count=_count(Amendment),
        open_item_count=_count(ActionItem, status__in=ActionItem.OPEN_STATUSES),
    )
    return annotate_meeting_held(rows).order_by(*TIE_BREAK)


class BoundedPaginator(Paginator):
    """A Paginator whose count stops at `bound` + 1 rows (one COUNT over a LIMIT), so a
    long archive is never counted whole. `capped` is True when there are more than `bound`
    matches: `count` is then `bound` + 1 and `num_pages` a lower bound. Rule:
    docs/rules.md#template-list."""

    def __init__(self, object_list, per_page: int, bound: int):
        super().__init__(object_list, per_page)
        self.bound = bound

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by().values("pk")[:self.bound + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.bound


@dataclass
class Listing:
    """What the list page shows: the form, the page of rows (None when refused), the
    refusals (one message per bad parameter, naming it), a note (e.g. past the last page)
    and the query string the page links keep (without `page`)."""

    filters: PostmortemFilter
    page: Page | None = None
    errors: list[str] = field(default_factory=list)
    note: str = ""
    query: str = ""

    @property
    def count_shown(self) -> str:
        """The number of matches as the page says it: "1,000+" past the bound."""
        paginator = self.page.paginator
        if paginator.capped:
            return f"{paginator.bound:,}+"
        return f"{paginator.count:,}"

    @property
    def status(self) -> int:
        return 400 if self.errors else 200

    @property
    def rows(self) -> list:
        """(postmortem, row-count messages) of the page's postmortems."""
        if self.page is None:
            return []
        return [(pm, _row_gaps(pm)) for pm in self.page.object_list]


def _row_gaps(pm) -> list[str]:
    counts = {"timeline": pm.timeline_count, "contributing_factors": pm.factor_count,
              "references": pm.reference_count}
    return [message for key, count in counts.items()
            for message in template_rules.row_count_messages(key, count)]


def _parameter_errors(query) -> list[str]:
    allowed = set(PostmortemFilter.base_filters) | {"page"}
    errors = []
    for name in query:
        if name not in allowed:
            errors.append(f"Parameter {shown(name)} is not a filter of this list; "
                          f"the filters are {', '.join(sorted(allowed))}.")
        elif len(query.getlist(name)) > 1:
            errors.append(f"{_label(name)} ({name}): given {len(query.getlist(name))} times; "
                          "give it once.")
    return errors


def _label(name: str) -> str:
    return "Page" if name == "page" else PostmortemFilter.base_filters[name].label


def _form_errors(filters: PostmortemFilter) -> list[str]:
    form = filters.form
    return [f"{_label(name)} ({name}={shown(form.data.get(name, ''))}): {message}"
            for name, messages in form.errors.items() for message in messages]


def page_number(raw: str | None) -> int:
    """The page asked for: 1 when absent, else a whole number from 1 to 999,999,999.
    Raises ListError("page") for anything else (text, 0, negative, fractions)."""
    if raw is None or raw == "":
        return 1
    if not PAGE_PATTERN.fullmatch(raw):
        raise ListError("page", f"Page (page={shown(raw)}): give a page number from 1 up.")
    return int(raw)


def listing(query, user=None) -> Listing:
    """The list for request.GET `query`: filtered, sorted, one page of PAGE_SIZE.

    A page past the last shows the last page with a note saying so; every other bad input
    gives Listing.errors (and status 400) and no rows.
    """
    filters = PostmortemFilter(query, queryset=listed_postmortems(user))
    errors = _parameter_errors(query)
    if errors:
        return Listing(filters, errors=errors)
    if not filters.is_valid():
        return Listing(filters, errors=_form_errors(filters))
    try:
        number = page_number(query.get("page"))
    except ListError as exc:
        return Listing(filters, errors=[str(exc)])
    # Counted exactly up to COUNT_CAP, or up to the page asked for when it lies further,
    # so a page past the last is known to be so.
    paginator = BoundedPaginator(filters.qs, PAGE_SIZE, max(COUNT_CAP, number * PAGE_SIZE))
    note = ""
    if number > paginator.num_pages:
        note = (f"There is no page {number}; this is the last page, {paginator.num_pages}."
                if paginator.count else "")
        number = paginator.num_pages
    kept = query.copy()
    kept.pop("page", None)
    return Listing(filters, paginator.page(number), note=note, query=kept.urlencode())
