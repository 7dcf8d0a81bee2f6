"""Comments on a claim (the partner's, in the claim page and the wizard) and the reviewers' forms in the admin."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .. import review
from ..models import RejectionReason
from .common import server_validated_helper


class CommentForm(forms.Form):
    # Comments are optional ("if you like"): no required mark, but saving an empty one is refused.
    body = forms.CharField(
        label=_("Comment"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = server_validated_helper()
        self.helper.form_id = "comment-form"
        self.helper.form_tag = False

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Write a comment first."))
        return body


MESSAGE_MAX_LENGTH = 5000


# The reviewers' forms in the admin (it lays them out itself; they only validate). Their fields
# are named as the arguments of the service in `claims.review` each one posts to.


def _message_field(label, *, rows: int, cols: int = 80, required: bool = True, help_text="") -> forms.CharField:
    """A text a reviewer writes (a comment, a rationale, a note): a text box of `rows` lines."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows, "cols": cols}),
        help_text=help_text,
    )


class ReviewerCommentForm(forms.Form):
    body = _message_field(_("Message"), rows=4)


class RequestInformationForm(forms.Form):
    message = _message_field(
        _("What the partner should provide"),
        rows=4,
        help_text=_("Posted as a comment the partner reads; the claim becomes Partner action required."),
    )


class RejectForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=review.REVIEWER_REJECTION_REASONS)
    note = _message_field(
        _("Note to the partner"),
        rows=3,
        required=False,
        help_text=_("Required when the reason is Other. Posted as a comment the partner reads."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == RejectionReason.OTHER and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Explain the reason: a note is required when the reason is Other."))
        return cleaned


class DisputeAnswerForm(forms.Form):
    """Uphold or overturn a disputed rejection; the partner reads the rationale."""

    note = _message_field(
        _("Rationale for the partner"),
        rows=3,
        help_text=_("Uphold: the rejection becomes final. Overturn: the rejected items go back to review."),
    )


class TakeForm(forms.Form):
    """Take a claim; taking it from another reviewer needs the box "take over" ticked (its
    value is "yes"; anything else, or nothing, takes only an unassigned claim)."""

    take_over = forms.CharField(required=False, strip=False)

    def clean_take_over(self) -> bool:
        return self.cleaned_data["take_over"] == "yes"


class DecideForm(forms.Form):
    """One decision on the competing-claims page: approve a claim on the item (a contender or
    the current holder) or a legacy holder, with a rationale; or reject a contender."""

    APPROVE, REJECT = "approve", "reject"

    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    legacy = forms.IntegerField(required=False, widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[(APPROVE, _("Approve this partner")), (REJECT, _("Reject this claim"))])
    note = _message_field(
        _("Rationale (required to approve; every partner on this item reads it in their claim's comments)"),
        rows=2,
        cols=40,
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("item") is None) == (cleaned.get("legacy") is None):
            raise forms.ValidationError(_("Choose one claim or association to decide."))
        if cleaned.get("legacy") is not None and cleaned.get("decision") == self.REJECT:
            raise forms.ValidationError(_("An association from before the claim model can only be approved here."))
        if cleaned.get("decision") == self.APPROVE and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Write the rationale for the decision: every partner on this item reads it."))
        return cleaned
