"""The runbook edit form: frontmatter fields as plain text inputs, the body as Markdown."""
import posixpath

from django import forms
from django.contrib.auth import get_user_model

from runbooks.frontmatter import ID_RE
from runbooks.models import Perspective, Runbook


def _no_nul(value: str, label: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError(f"{label} contains a NUL character.")
    return value


class RunbookForm(forms.Form):
    """Edits a runbook. tags and depends_on are comma-separated; key_files one per line.

    cleaned_data holds lists for tags/depends_on/key_files, ready for
    runbooks.services.edit_runbook.
    """

    title = forms.CharField(max_length=200)
    perspective = forms.ChoiceField(choices=Perspective.choices)
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. deployment, ci-cd")
    depends_on = forms.CharField(required=False, label="Depends on",
                                 help_text="Runbook ids, comma-separated, e.g. ops-01, arch-01")
    key_files = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text="One repository path per line.")
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 18}),
                           help_text="Markdown. '- [ ] item' lines form the runnable checklist.")
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"),
                                   required=False, help_text="Reminded when the runbook is stale.")
    review_interval_days = forms.IntegerField(min_value=1, max_value=3650,
                                              label="Review every (days)")

    @classmethod
    def for_runbook(cls, runbook: Runbook, data=None):
        initial = {"title": runbook.title, "perspective": runbook.perspective,
                   "tags": ", ".join(runbook.tags), "depends_on": ", ".join(runbook.depends_on),
                   "key_files": "\n".join(runbook.key_files), "body": runbook.body,
                   "owner": runbook.owner, "review_interval_days": runbook.review_interval_days}
        return cls(data=data, initial=initial)

    def clean_title(self):
        return _no_nul(self.cleaned_data["title"].strip(), "Title")

    def clean_tags(self):
        text = _no_nul(self.cleaned_data["tags"], "Tags")
        return [tag.strip() for tag in text.split(",") if tag.strip()]

    def clean_depends_on(self):
        text = _no_nul(self.cleaned_data["depends_on"], "Depends on")
        ids = [item.strip() for item in text.split(",") if item.strip()]
        bad = [item for item in ids if not ID_RE.match(item)]
        if bad:
            raise forms.ValidationError(f"{bad[0]!r} is not a runbook id (letters, digits, - _ .).")
        return ids

    def clean_key_files(self):
        text = _no_nul(self.cleaned_data["key_files"], "Key files")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean_body(self):
        """The body as a file holds it: LF line ends and a final newline."""
        body = _no_nul(self.cleaned_data["body"].replace("\r\n", "\n"), "Body")
        return body if not body or body.endswith("\n") else body + "\n"


class NewRunbookForm(RunbookForm):
    """A new runbook: its id and its path under the docs root come first and never change."""

    key = forms.CharField(label="Id", max_length=60, help_text="e.g. ops-06")
    path = forms.CharField(max_length=300, help_text="Where export writes it, e.g. "
                           "ops/06-incident-response.md")
    field_order = ["key", "path"]

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not ID_RE.match(key):
            raise forms.ValidationError(f"{key!r} is not an id (letters, digits, - _ .).")
        if Runbook.objects.filter(key=key).exists():
            raise forms.ValidationError(f"Runbook {key} already exists.")
        return key

    def clean_path(self):
        path = _no_nul(self.cleaned_data["path"].strip(), "Path")
        normal = posixpath.normpath(path)
        if (not path.endswith(".md") or path.startswith("/") or normal != path
                or normal.startswith("..") or posixpath.basename(path) == "INDEX.md"):
            raise forms.ValidationError("Give a relative path ending in .md, such as "
                                        "ops/06-incident-response.md (not INDEX.md, no '..').")
        if Runbook.objects.filter(path=path).exists():
            raise forms.ValidationError(f"Runbook {Runbook.objects.get(path=path).key} is "
                                        f"already at {path}.")
        return path
