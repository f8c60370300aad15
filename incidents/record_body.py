"""The final postmortem page's record body, rendered once per seal (issue 23).

A final postmortem cannot change (docs/rules.md#final-immutable) and its seal's content
hash (incidents.seals) covers every row the body shows: the record, its timeline,
contributing factors with their reviews, references and scan answers. The body (the
"falls short of the template" box and the <article class="record">) is rendered from
those rows once and kept in the default cache under a key made of the postmortem's id,
that hash and the ids of its amendments (sealed, append-only: an amendment to a long-form
section is shown inside the body, so a new one makes a new key). Nothing can make a kept
body stale short of changing a sealed row, which the database refuses; there is nothing
to invalidate. A draft, or a final record without a seal, is rendered from its rows every
time.

The living parts of the page (action items, the cost panel, the feedback loop, who can
read it, the general amendments, the meeting) are never kept: the view renders them on
every request. The body is looked up only after the view has read the postmortem through
incidents.visibility, so a restricted record's body is never served to a non-member.
Rule: docs/rules.md#final-page-body.
"""
import hashlib

from django.core.cache import cache
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from incidents import fields, template_rules
from incidents.models import DEFERRED_FIX_TEXT, ROOT_CAUSE_DEFINITIONS, Postmortem, Seal

BODY_TEMPLATE = "incidents/partials/record_body.html"
# Bumped when the body's template or its context changes shape, so a cache shared across
# a deploy never serves the old markup.
BODY_VERSION = 1
KEEP_SECONDS = 24 * 3600
# The rows the body shows, read only when it is rendered.
BODY_ROWS = ("timeline_entries", "contributing_factors__blameless_reviewed_by", "references",
             "scan_answers__answered_by", "pending_marks__marked_by")


def seal_sha256(pm: Postmortem) -> str | None:
    """The content hash of `pm`'s seal (one query), or None for a draft or an unsealed
    final record."""
    if not pm.is_final:
        return None
    return (Seal.objects.filter(postmortem_id=pm.pk, kind=Seal.Kind.POSTMORTEM)
            .values_list("content_sha256", flat=True).first())


def cache_key(pm: Postmortem, sealed: str, amendments) -> str:
    """The body's cache key: the record's id, its seal hash and its amendments' ids."""
    ids = ",".join(str(amendment.pk) for amendment in sorted(amendments, key=lambda a: a.pk))
    digest = hashlib.sha256(f"{pm.pk}|{sealed}|{ids}".encode()).hexdigest()
    return f"scarlog:final-body:v{BODY_VERSION}:{digest}"


def body_context(pm: Postmortem, sections, show_sections: bool) -> dict:
    """What BODY_TEMPLATE reads; loads the record's rows (BODY_ROWS) if not yet loaded."""
    # Imported here: incidents.views.context imports this module's neighbours.
    from incidents.views.context import final_scan_context
    prefetch_related_objects([pm], *BODY_ROWS)
    return {
        "pm": pm,
        "gaps": template_rules.gaps(pm),
        "generic_fields": fields.GENERIC_SECTIONS,
        "sections": sections,
        "show_sections": show_sections,
        "root_cause_definition": ROOT_CAUSE_DEFINITIONS.get(pm.root_cause, ""),
        "deferred_fix_text": DEFERRED_FIX_TEXT,
        **final_scan_context(pm),
    }


def record_body(pm: Postmortem, amendments, sections, show_sections: bool) -> SafeString:
    """The rendered body of `pm` (HTML): from the cache for a sealed final record, else
    rendered from its rows (and kept when sealed). `amendments`: all of `pm`'s amendments,
    `sections`: [(Section, its amendments)] as the page shows them."""
    sealed = seal_sha256(pm)
    if sealed is None:
        return mark_safe(render_to_string(BODY_TEMPLATE, body_context(pm, sections,
                                                                      show_sections)))
    key = cache_key(pm, sealed, amendments)
    body = cache.get(key)
    if body is None:
        body = render_to_string(BODY_TEMPLATE, body_context(pm, sections, show_sections))
        cache.set(key, body, KEEP_SECONDS)
    return mark_safe(body)
