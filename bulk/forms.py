"""The bulk upload forms: they validate and lay out; the services check the content."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _


def _layout(form_id: str, submit_name: str, submit_label) -> FormHelper:
    """A one-file upload form's layout: its id and its submit button."""
    helper = FormHelper()
    helper.attrs = {"novalidate": ""}
    helper.form_id = form_id
    helper.add_input(Submit(submit_name, submit_label))
    return helper


class BulkUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with the template's header row; at most 1,000 claims."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": _("Choose a CSV file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _layout("bulk-upload", "upload", _("Upload and check"))


class PoeZipForm(forms.Form):
    file = forms.FileField(
        label=_("Zip file"),
        help_text=_("Each file is named after the claim's reference, such as REF-001.pdf."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
        error_messages={"required": _("Choose a zip file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _layout("poe-zip", "attach", _("Attach files"))
