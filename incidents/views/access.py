"""Who can read a postmortem: the restriction form's POST (docs/rules.md#private-postmortems)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.models import Group
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents import visibility


class AccessForm(forms.Form):
    """The groups to restrict a postmortem to, among the groups the editor is a member of."""

    groups = forms.ModelMultipleChoiceField(queryset=Group.objects.none(), required=False,
                                            label="Groups")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = visibility.choosable_groups(user)


@require_POST
def access_set(request, pk):
    """Restrict the postmortem to the checked groups (none: everyone reads it), then back
    to its page; a refusal is a message naming the field. Editors only (RoleMiddleware);
    a non-member gets 404 before this runs (VisibilityMiddleware)."""
    pm = get_object_or_404(visibility.visible_postmortems(request.user), pk=pk)
    form = AccessForm(request.POST, user=request.user)
    if not form.is_valid():
        for error in form.errors.get("groups", []):
            messages.error(request, f"Groups: {error} Choose only groups you are a member of.")
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#access")
    try:
        change = visibility.set_access(pm, form.cleaned_data["groups"], request.user)
    except visibility.AccessError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#access")
    if change is None:
        messages.info(request, "Who can read this postmortem is unchanged.")
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#access")
    names = ", ".join(group.name for group in visibility.current_groups(pm))
    messages.success(request, f"Restricted to {names}." if names
                     else "Every signed-in person can read this postmortem.")
    if not visibility.can_see(request.user, pm):
        return redirect("incidents:postmortem_list")
    return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#access")
