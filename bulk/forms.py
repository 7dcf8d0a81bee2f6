"""The bulk upload forms: they validate and lay out; the services check the content."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _


class BulkUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with the template's header row; at most 1,000 claims."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": _("Choose a CSV file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": ""}
        self.helper.form_id = "bulk-upload"
        self.helper.add_input(Submit("upload", _("Upload and check")))


class PoeZipForm(forms.Form):
    file = forms.FileField(
        label=_("Zip file"),
        help_text=_("Each file is named after the claim's reference, such as REF-001.pdf."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
        error_messages={"required": _("Choose a zip file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": ""}
        self.helper.form_id = "poe-zip"
        self.helper.add_input(Submit("attach", _("Attach files")))
