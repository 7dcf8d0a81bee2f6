"""Proof of execution uploads: several files in one field."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .. import uploads
from .common import server_validated_helper


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": uploads.ACCEPT_ATTRIBUTE}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple) and data:  # an empty list is no file: "required"
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else single(data, initial)


class ProofUploadForm(forms.Form):
    """Step 6: proof of execution, such as a statement of work signed by the customer.
    Each file is judged by its content and size; the page says which file is refused and why."""

    files = MultipleFileField(
        label=_("Proof of execution (PoE)"),
        help_text=_("%(kinds)s files."),
        error_messages={"required": _("Choose or drop at least one file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings
        from django.template.defaultfilters import filesizeformat

        self.fields["files"].help_text = _("%(kinds)s files, up to %(limit)s each.") % {
            "kinds": uploads.accepted_kinds(),
            "limit": filesizeformat(settings.POE_MAX_BYTES),
        }
        self.helper = server_validated_helper()
        self.helper.form_id = "poe-upload"
        self.helper.form_tag = False

    def clean_files(self):
        files = self.cleaned_data["files"]
        errors = []
        for upload in files:
            try:
                uploads.check_poe(upload)
            except uploads.UploadRejected as rejected:
                errors.append(rejected.message)
        if errors:
            raise forms.ValidationError(errors)
        return files
