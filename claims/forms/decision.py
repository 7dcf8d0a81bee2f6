"""The partner's forms after the decision: dispute a rejection, disassociate a customer.
They validate only; `claims.services` checks and changes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .uploads import MultipleFileField

REASON_MAX_LENGTH = 5000


def _explanation_field(label, required_message, *, rows: int) -> forms.CharField:
    """A required text the partner writes: spaces around it are dropped, so blank or only
    spaces is refused with `required_message`."""
    return forms.CharField(
        label=label,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": required_message},
    )


class DisputeForm(forms.Form):
    justification = _explanation_field(
        _("Why the rejection should be reconsidered"), _("Explain why the rejection should be reconsidered."), rows=4
    )
    files = MultipleFileField(label=_("New proof of execution (optional)"), required=False)

    def clean_files(self):
        # No new proof is no file at all, as `services.claim_dispute` takes it.
        return self.cleaned_data["files"] or []


class DisassociateForm(forms.Form):
    reason = _explanation_field(
        _("Reason for the disassociation"), _("Give the reason for the disassociation."), rows=3
    )
