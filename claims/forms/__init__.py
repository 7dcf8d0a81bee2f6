"""The partner's forms: they validate and lay out, they never change anything.

The wizard's first three pages carry what earlier pages asked as hidden fields; every
page re-validates all of it, so a tampered hidden value is refused with a message and
nothing is created. The services check it all again before writing.

One module a concern: filters, wizard, uploads, review, usage; what they share in common."""

from .common import DOMAIN_RE, MpnChoiceField, back_button, hidden_errors_to_top, mpn_label, server_validated_helper
from .decision import DisassociateForm, DisputeForm
from .filters import ClaimFilterForm
from .review import (
    MESSAGE_MAX_LENGTH,
    CommentForm,
    DecideForm,
    DisputeAnswerForm,
    RejectForm,
    RequestInformationForm,
    ReviewerCommentForm,
    TakeForm,
)
from .uploads import MultipleFileField, MultipleFileInput, ProofUploadForm
from .usage import MonthField, TenantIdField, UsageFilterForm
from .wizard import (
    ActivityChoiceMixin,
    ActivityStepForm,
    AssociateStepForm,
    ContactsForm,
    CustomerFields,
    CustomerStepForm,
    DraftDetailsForm,
    ItemsForm,
    RevenueFieldsMixin,
    check_activity,
)

__all__ = [
    "DisassociateForm",
    "DisputeAnswerForm",
    "DisputeForm",
    "ActivityChoiceMixin",
    "ActivityStepForm",
    "AssociateStepForm",
    "ClaimFilterForm",
    "CommentForm",
    "ContactsForm",
    "CustomerFields",
    "CustomerStepForm",
    "DOMAIN_RE",
    "DecideForm",
    "DraftDetailsForm",
    "ItemsForm",
    "MESSAGE_MAX_LENGTH",
    "MonthField",
    "MpnChoiceField",
    "MultipleFileField",
    "MultipleFileInput",
    "ProofUploadForm",
    "RejectForm",
    "RequestInformationForm",
    "RevenueFieldsMixin",
    "ReviewerCommentForm",
    "TakeForm",
    "TenantIdField",
    "UsageFilterForm",
    "back_button",
    "check_activity",
    "hidden_errors_to_top",
    "mpn_label",
    "server_validated_helper",
]
