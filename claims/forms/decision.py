"""The partner's forms after the decision: dispute a rejection, disassociate a customer.
They validate only; `claims.services` checks and changes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .uploads import MultipleFileField

REASON_MAX_LENGTH = 5000


class DisputeForm(forms.Form):
    justification = forms.CharField(
        label=_("Why the rejection should be reconsidered"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Explain why the rejection should be reconsidered.")},
    )
    files = MultipleFileField(label=_("New proof of execution (optional)"), required=False)

    def clean_justification(self):
        text = self.cleaned_data["justification"].strip()
        if not text:
            raise forms.ValidationError(_("Explain why the rejection should be reconsidered."))
        return text


class DisassociateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the disassociation"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for the disassociation.")},
    )

    def clean_reason(self):
        text = self.cleaned_data["reason"].strip()
        if not text:
            raise forms.ValidationError(_("Give the reason for the disassociation."))
        return text
