"""The shapes of what the API answers and accepts, for the OpenAPI document.

Answers are built from the same selectors and presentation helpers as the site's pages
(api.payloads) and pass through these serializers, so the document and the data agree.
The request shapes only describe the input: it is validated by the site's own forms
(claims.forms), so that the messages are the site's, in the key owner's language.
"""

from rest_framework import serializers

from claims.models import Activity, ClaimStatus, ItemOutcome, RejectionReason
from tenants.models import SolutionArea

# --- Answers ----------------------------------------------------------------------------


class StatusSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ClaimStatus.choices)
    label = serializers.CharField()
    meaning = serializers.CharField()
    next_step = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField(help_text="The subscription (product and ID) or the workload claimed.")
    program = serializers.CharField(help_text="OSA-Sell, OSU-M365, OSU-BizApps, or empty for Revenue association.")
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices)
    outcome_label = serializers.CharField()
    outcome_meaning = serializers.CharField()
    product = serializers.CharField(allow_null=True)
    subscription_id = serializers.UUIDField(allow_null=True)
    workload = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    subject = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ProofSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(help_text="A colleague's email, 'Reviewer' for vendor staff.")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    label = serializers.CharField()
    actor = serializers.CharField()
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField(allow_blank=True)
    details = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class ContactsSerializer(serializers.Serializer):
    customer_contact_name = serializers.CharField(allow_blank=True)
    customer_contact_title = serializers.CharField(allow_blank=True)
    customer_contact_email = serializers.CharField(allow_blank=True)
    technical_contact_name = serializers.CharField(allow_blank=True)
    technical_contact_title = serializers.CharField(allow_blank=True)
    technical_contact_email = serializers.CharField(allow_blank=True)
    partner_contact_name = serializers.CharField(allow_blank=True)
    partner_contact_email = serializers.CharField(allow_blank=True)


class ClaimSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ClaimStatus.choices)
    status_label = serializers.CharField()
    mpn_id = serializers.CharField()
    customer = serializers.CharField(allow_null=True, help_text="The customer tenant's name in the directory.")
    domain = serializers.CharField()
    tenant_id = serializers.UUIDField()
    solution_area = serializers.ChoiceField(choices=SolutionArea.choices)
    activity = serializers.ChoiceField(choices=Activity.choices)
    items = ItemSerializer(many=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    opt_out_deadline = serializers.DateTimeField(allow_null=True)


class ClaimDetailSerializer(ClaimSummarySerializer):
    solution_seller_name = serializers.CharField(allow_blank=True)
    customer_name = serializers.CharField(allow_blank=True)
    isv_solution_name = serializers.CharField(allow_blank=True)
    contacts = ContactsSerializer()
    status_text = StatusSerializer()
    rejection_reason = serializers.ChoiceField(choices=RejectionReason.choices, allow_blank=True)
    validation_errors = ProblemSerializer(many=True)
    notified_at = serializers.DateTimeField(allow_null=True, help_text="When the customer was emailed.")
    opt_out_deadline_local = serializers.CharField(
        allow_blank=True, help_text="The opt-out deadline in the customer's time zone, while it is open."
    )
    review_due_at = serializers.DateTimeField(allow_null=True)
    review_overdue = serializers.BooleanField()
    decided_at = serializers.DateTimeField(allow_null=True)
    missing_for_submission = serializers.ListField(
        child=serializers.CharField(), help_text="What a draft still lacks before it can be submitted."
    )
    competing = serializers.ListField(
        child=serializers.CharField(), help_text="A draft's items another partner holds or claims (arbitration)."
    )
    proofs = ProofSerializer(many=True)
    comments = CommentSerializer(many=True)
    history = EventSerializer(many=True)
    warnings = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Said once, after setting items."
    )


class ItemOptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The product (Business Applications) or workload (Microsoft 365) ID.")
    name = serializers.CharField()
    needs_subscription_id = serializers.BooleanField(
        help_text="The tenant holds several subscriptions to this product: name the one you claim."
    )
    problems = serializers.ListField(child=serializers.CharField())
    competing = serializers.BooleanField(help_text="Another partner holds or claims it: arbitration.")
    already_yours = serializers.BooleanField(help_text="Your organisation already holds or claims it.")


class MpnIdSerializer(serializers.Serializer):
    mpn_id = serializers.CharField()
    location = serializers.CharField()
    programs = serializers.ListField(child=serializers.CharField())


class UsageRowSerializer(serializers.Serializer):
    customer_tenant_id = serializers.UUIDField()
    customer_name = serializers.CharField()
    workload_name = serializers.CharField()
    monthly_active_users = serializers.IntegerField(allow_null=True)
    paid_available_units = serializers.IntegerField(allow_null=True)
    claim_id = serializers.IntegerField()
    mpn_id = serializers.CharField()
    date_associated = serializers.DateTimeField(allow_null=True)
    attribution_type = serializers.CharField()
    month = serializers.DateField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """400: each field's messages; `non_field_errors` for the request as a whole."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


# --- Requests (described here, validated by the site's forms) ------------------------------


class DraftCreateRequest(serializers.Serializer):
    mpn = serializers.CharField(help_text="One of your organisation's MPN IDs, e.g. 1234567.")
    domain = serializers.CharField(help_text="A verified domain of the customer, e.g. contoso.onmicrosoft.com.")
    tenant_id = serializers.CharField(help_text="The Directory ID / Tenant ID (a GUID).")
    solution_area = serializers.ChoiceField(choices=SolutionArea.choices)
    activity = serializers.ChoiceField(choices=Activity.choices)
    name = serializers.CharField(help_text="A name you choose for this claim.")
    solution_seller_name = serializers.CharField(required=False, help_text="Revenue association only.")
    customer_name = serializers.CharField(required=False, help_text="Revenue association only.")
    isv_solution_name = serializers.CharField(required=False, help_text="Revenue association only.")


class ItemsRequest(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.IntegerField(), help_text="Product or workload IDs, from the claim's item-options."
    )
    subscription_ids = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="For a product whose needs_subscription_id is true: {product ID: subscription ID}.",
    )
    tenant_id = serializers.CharField(
        required=False,
        help_text="The tenant the choice was made for; refused if the draft's tenant has changed since.",
    )


class ContactsRequest(serializers.Serializer):
    customer_contact_name = serializers.CharField()
    customer_contact_title = serializers.CharField()
    customer_contact_email = serializers.EmailField()
    technical_contact_name = serializers.CharField(required=False, help_text="Business Applications (Dynamics 365).")
    technical_contact_title = serializers.CharField(required=False, help_text="Business Applications (Dynamics 365).")
    technical_contact_email = serializers.EmailField(required=False, help_text="Business Applications (Dynamics 365).")
    partner_contact_name = serializers.CharField()
    partner_contact_email = serializers.EmailField()


class ProofUploadRequest(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), help_text="One or more files (multipart).")


class CommentRequest(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class DisputeRequest(serializers.Serializer):
    justification = serializers.CharField(max_length=5000)


class DisassociateRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
