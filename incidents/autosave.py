"""The one autosave service: a draft's field, its deferred fix and its rows.

Each call locks the postmortem row (one SELECT ... FOR UPDATE, the first query of its
transaction), validates the posted values with incidents.forms, checks the version the
page edited (docs/rules.md#autosave-versions), writes, appends the revision
(incidents.revisions) and answers an AutosaveResult saying what happened. Refusals are
outcomes, not exceptions; an unknown input or row kind raises UnknownInput or
UnknownRowKind, a missing postmortem Postmortem.DoesNotExist.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django import forms
from django.db import transaction
from django.db.models import Exists, OuterRef

from incidents import fields, revisions, services
from incidents.forms import ROW_FORMS, field_form
from incidents.models import DEFERRED_FIX_TEXT, PendingMark, Postmortem


class UnknownInput(LookupError):
    """No autosaved input of that name."""


class UnknownRowKind(LookupError):
    """No row kind of that URL slug (timeline, factors, references)."""


class Outcome(StrEnum):
    SAVED = "saved"                    # written; `saved` has the new version
    UNCHANGED = "unchanged"            # the newest values again; `saved` has the version
    INVALID = "invalid"                # refused by the form; `errors` name the inputs
    CONFLICT = "conflict"              # another page saved first; `conflict`, `mine`
    FINAL = "final"                    # the postmortem is final
    RESENT_AFTER_FINAL = "resent_after_final"  # final, and the values equal the stored ones
    BAD_BASE = "bad_base"              # base_version missing or not an integer; `message`
    STALE_BASE = "stale_base"          # base_version ahead of the stored one; `message`
    NOTHING_POSTED = "nothing_posted"  # a row save without any of its inputs; `message`
    ROW_GONE = "row_gone"              # the row was removed meanwhile; `mine`, `labels`
    REORDERED = "reordered"            # written, and the timeline's order changed


@dataclass(frozen=True)
class AutosaveResult:
    """What an autosave did.

    `postmortem`: the locked row, as saved (or as stored when refused); a field save's is
    annotated with `field_marked`. `field_key`: the template field. `labels`: {input name:
    label} of the inputs concerned; `mine`: {input name: posted text}.
    """

    outcome: Outcome
    postmortem: Postmortem
    field_key: str
    saved: revisions.Saved | None = None
    errors: tuple[str, ...] = ()
    conflict: revisions.EditConflict | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    mine: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    row_kind: services.RowKind | None = None


def _lock(postmortem_id, field_key: str | None = None) -> Postmortem:
    """The postmortem row, read once with SELECT ... FOR UPDATE (annotated with
    `field_marked` for `field_key`). Raises Postmortem.DoesNotExist."""
    queryset = Postmortem.objects.select_for_update()
    if field_key is not None:
        marked = PendingMark.objects.filter(postmortem=OuterRef("pk"), field=field_key)
        queryset = queryset.annotate(field_marked=Exists(marked))
    return queryset.get(pk=postmortem_id)


def _resent(form, stored: Mapping) -> bool:
    """Whether `form` is valid and holds the `stored` values (read before validating:
    validating a ModelForm sets its instance's attributes)."""
    return form.is_valid() and all(form.cleaned_data[n] == v for n, v in stored.items())


def _versioned_write(pm: Postmortem, field_key: str, key: str, mine: dict, base_version: int,
                     editor: str, user, write, **result) -> AutosaveResult:
    """Check the version, call write() unless unchanged, append the revision; the result
    (SAVED, UNCHANGED, CONFLICT, STALE_BASE) carries `result`'s extra attributes."""
    try:
        checked = revisions.check_version(pm, key, mine, base_version, editor)
    except revisions.EditConflict as conflict:
        return AutosaveResult(Outcome.CONFLICT, pm, field_key, conflict=conflict, mine=mine,
                              **result)
    except revisions.StaleBaseVersion as exc:
        return AutosaveResult(Outcome.STALE_BASE, pm, field_key, message=str(exc), mine=mine,
                              **result)
    if checked.unchanged:
        return AutosaveResult(Outcome.UNCHANGED, pm, field_key, saved=checked.saved, mine=mine,
                              **result)
    write()
    saved = revisions.record_revision(pm, field_key, checked, mine, editor, user)
    return AutosaveResult(Outcome.SAVED, pm, field_key, saved=saved, mine=mine, **result)


def _base_version(raw):
    """(base_version, None), or (None, the message) when `raw` is not an integer ≥ 0."""
    try:
        return revisions.parse_base_version(raw), None
    except services.FieldError as exc:
        return None, str(exc)


def save_field(postmortem_id, input_name: str, posted: Mapping, base_version_raw, editor: str,
               user) -> AutosaveResult:
    """Autosave the postmortem-row input `input_name` from `posted` (its template field is
    the registry's, incidents.fields.FIELD_OF_INPUT).

    Outcomes: SAVED, UNCHANGED, INVALID, CONFLICT, STALE_BASE, BAD_BASE, FINAL,
    RESENT_AFTER_FINAL. Raises UnknownInput, Postmortem.DoesNotExist.
    """
    if input_name not in fields.FIELD_OF_INPUT:
        raise UnknownInput(f"No such field: {input_name}")
    field_key = fields.FIELD_OF_INPUT[input_name]
    with transaction.atomic():
        pm = _lock(postmortem_id, field_key)
        form = field_form(input_name, posted, pm)
        labels = {input_name: form.fields[input_name].label}
        if pm.is_final:
            resent = _resent(form, {input_name: getattr(pm, input_name)})
            return AutosaveResult(Outcome.RESENT_AFTER_FINAL if resent else Outcome.FINAL,
                                  pm, field_key, labels=labels)
        base_version, message = _base_version(base_version_raw)
        if message:
            return AutosaveResult(Outcome.BAD_BASE, pm, field_key, message=message)
        if not form.is_valid():
            errors = tuple(f"{form.fields[input_name].label}: {e}"
                           for e in form.errors.get(input_name, []))
            return AutosaveResult(Outcome.INVALID, pm, field_key, errors=errors, labels=labels)
        value = form.cleaned_data[input_name]

        def write():
            setattr(pm, input_name, value)
            pm.save_locked_draft([input_name, "updated_utc"])

        return _versioned_write(pm, field_key, input_name,
                                {input_name: posted.get(input_name, "")}, base_version, editor,
                                user, write, labels=labels)


def set_deferred_fix(postmortem_id, base_version_raw, editor: str, user) -> AutosaveResult:
    """Set the fix to DEFERRED_FIX_TEXT, versioned as the input fix_description.

    Outcomes: SAVED, UNCHANGED, CONFLICT, STALE_BASE, BAD_BASE, FINAL. Raises
    Postmortem.DoesNotExist.
    """
    labels = {"fix_description": "Change described"}
    with transaction.atomic():
        pm = _lock(postmortem_id)
        if pm.is_final:
            return AutosaveResult(Outcome.FINAL, pm, "fix", labels=labels)
        base_version, message = _base_version(base_version_raw)
        if message:
            return AutosaveResult(Outcome.BAD_BASE, pm, "fix", message=message)

        def write():
            pm.fix_description = DEFERRED_FIX_TEXT
            pm.save_locked_draft(["fix_description", "updated_utc"])

        return _versioned_write(pm, "fix", "fix_description",
                                {"fix_description": DEFERRED_FIX_TEXT}, base_version, editor,
                                user, write, labels=labels)


def row_labels(kind: str) -> dict[str, str]:
    """{input name: label} of every input of a row of `kind`."""
    form_class = ROW_FORMS[kind]
    return {name: str(form_class.base_fields[name].label or name)
            for name in form_class.base_fields}


def save_row(postmortem_id, kind: str, row_id, posted: Mapping, base_version_raw, editor: str,
             user) -> AutosaveResult:
    """Autosave the posted inputs of row `row_id` of `kind`, versioned as "kind:row_id".

    Inputs left out keep their stored values. Outcomes: SAVED, REORDERED (a timeline row
    whose new time moved it), UNCHANGED, INVALID, CONFLICT, STALE_BASE, BAD_BASE,
    NOTHING_POSTED, ROW_GONE (`mine` keeps the typed text), FINAL, RESENT_AFTER_FINAL.
    Raises UnknownRowKind, Postmortem.DoesNotExist.
    """
    if kind not in services.ROW_KINDS:
        raise UnknownRowKind(f"No such row kind: {kind}")
    row_kind = services.ROW_KINDS[kind]
    field_key = row_kind.field_key
    all_labels = row_labels(kind)
    mine = {name: posted.get(name, "") for name in all_labels if name in posted}
    labels = {name: all_labels[name] for name in mine}
    with transaction.atomic():
        pm = _lock(postmortem_id)
        about = {"labels": labels, "row_kind": row_kind}
        row = row_kind.model.objects.filter(pk=row_id, postmortem=pm).first()
        form = None
        if row is not None and mine:
            stored = {name: getattr(row, name) for name in mine}
            form = forms.modelform_factory(row_kind.model, form=ROW_FORMS[kind],
                                           fields=list(mine))(posted, instance=row)
        if pm.is_final:
            resent = form is not None and _resent(form, stored)
            return AutosaveResult(Outcome.RESENT_AFTER_FINAL if resent else Outcome.FINAL,
                                  pm, field_key, **about)
        base_version, message = _base_version(base_version_raw)
        if message:
            return AutosaveResult(Outcome.BAD_BASE, pm, field_key, message=message, **about)
        if not mine:
            return AutosaveResult(Outcome.NOTHING_POSTED, pm, field_key, **about,
                                  message=f"Nothing to save: post one of {', '.join(all_labels)}.")
        if row is None:
            return AutosaveResult(Outcome.ROW_GONE, pm, field_key, mine=mine, **about)
        if not form.is_valid():
            errors = tuple(f"{form.fields[name].label}: {e}"
                           for name, errs in form.errors.items() for e in errs)
            return AutosaveResult(Outcome.INVALID, pm, field_key, errors=errors, mine=mine,
                                  **about)
        order = row_kind.model.objects.filter(postmortem=pm).values_list("pk", flat=True)
        order_before = list(order) if row_kind.ordered_by_time else None
        result = _versioned_write(pm, field_key, f"{kind}:{row.pk}", mine, base_version,
                                  editor, user, form.save, **about)
        if (result.outcome is Outcome.SAVED and order_before is not None
                and list(order.all()) != order_before):
            return AutosaveResult(Outcome.REORDERED, pm, field_key, saved=result.saved,
                                  mine=mine, **about)
        return result
