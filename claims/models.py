"""Claims (customer associations), their items, proof of execution, comments and history.

Statuses change only through `claims.services` and `claims.pipeline`, which read the
transition table below; every change writes a `ClaimEvent` in the same transaction.
"""

import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from cpor.models import Program
from tenants.models import SolutionArea


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    VALIDATION_FAILED = "validation_failed", _("Validation failed")
    UNDER_REVIEW = "under_review", _("Under review")
    ACTION_REQUIRED = "action_required", _("Partner action required")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    OPTED_OUT = "opted_out", _("Opted out")
    ENDED = "ended", _("Ended")
    DISPUTED = "disputed", _("Disputed")


# The one table of allowed status changes, read by the services and by the tests.
TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SUBMITTED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.VALIDATION_FAILED, ClaimStatus.UNDER_REVIEW}),
    ClaimStatus.UNDER_REVIEW: frozenset(
        {ClaimStatus.ACTION_REQUIRED, ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.OPTED_OUT}
    ),
    ClaimStatus.ACTION_REQUIRED: frozenset(
        {ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.OPTED_OUT}
    ),
    # Ended: the subscriptions ended, or the partner disassociated the customer
    # (`disassociated_at` says which).
    # Disputed: an item of the approved claim was lost in arbitration and the partner disputes it.
    ClaimStatus.APPROVED: frozenset({ClaimStatus.ENDED, ClaimStatus.DISPUTED}),
    ClaimStatus.VALIDATION_FAILED: frozenset(),
    # A rejection can be disputed once (`disputed_at`); the reviewers uphold it (`dispute_final`:
    # back to what the items summarise, Rejected, or Approved / Ended for an item lost in
    # arbitration) or overturn it (the items go back to review).
    ClaimStatus.REJECTED: frozenset({ClaimStatus.DISPUTED}),
    ClaimStatus.DISPUTED: frozenset(
        {ClaimStatus.UNDER_REVIEW, ClaimStatus.REJECTED, ClaimStatus.APPROVED, ClaimStatus.ENDED}
    ),
    ClaimStatus.OPTED_OUT: frozenset(),
    ClaimStatus.ENDED: frozenset(),
}

# Claims in these statuses still hold or seek their items.
OPEN_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.UNDER_REVIEW,
    ClaimStatus.ACTION_REQUIRED,
    ClaimStatus.APPROVED,
)

# Claims on the reviewers' desk: a reviewer may approve, reject or ask the partner for more.
REVIEW_STATUSES = (ClaimStatus.UNDER_REVIEW, ClaimStatus.ACTION_REQUIRED)


class ClaimQuerySet(models.QuerySet):
    def seen_by_reviewers(self):
        """Reviewers never see drafts: a claim reaches them when the partner submits it."""
        return self.exclude(status=ClaimStatus.DRAFT)

    def on_reviewers_desk(self):
        return self.filter(status__in=REVIEW_STATUSES)


class OfClaimQuerySet(models.QuerySet):
    """The same two rules for what belongs to a claim (its items, proof, history, comments, notices)."""

    def seen_by_reviewers(self):
        return self.exclude(claim__status=ClaimStatus.DRAFT)

    def on_reviewers_desk(self):
        return self.filter(claim__status__in=REVIEW_STATUSES)


# How long after a rejection the partner may dispute it (calendar days).
DISPUTE_WINDOW = datetime.timedelta(days=30)


class Activity(models.TextChoices):
    USAGE = "usage", _("Usage")
    PRESALES = "presales", _("Pre-sales")
    USAGE_PRESALES = "usage_presales", _("Usage and Pre-sales")
    REVENUE = "revenue", _("Revenue association")


# Which activities each solution area offers, and the programme(s) each one claims.
# Revenue association pays no incentive: its items carry no programme ("").
ACTIVITY_PROGRAMS: dict[tuple[str, str], tuple[str, ...]] = {
    (SolutionArea.BUSINESS_APPLICATIONS, Activity.PRESALES): (Program.OSA_SELL,),
    (SolutionArea.BUSINESS_APPLICATIONS, Activity.USAGE): (Program.OSU_BIZAPPS,),
    (SolutionArea.BUSINESS_APPLICATIONS, Activity.USAGE_PRESALES): (Program.OSU_BIZAPPS, Program.OSA_SELL),
    (SolutionArea.BUSINESS_APPLICATIONS, Activity.REVENUE): ("",),
    (SolutionArea.MICROSOFT_365, Activity.USAGE): (Program.OSU_M365,),
}


class RejectionReason(models.TextChoices):
    INSUFFICIENT_POE = "insufficient_poe", _("Insufficient proof of execution")
    CUSTOMER_DECLINED = "customer_declined", _("Customer declined")
    PARTNER_REQUEST = "partner_request", _("Partner request")
    MISSING_PRODUCTS = "missing_products", _("Missing products")
    NO_RESPONSE = "no_response", _("No response")
    LOST_ARBITRATION = "lost_arbitration", _("Another partner was chosen for this item")
    OTHER = "other", _("Other")


class Claim(models.Model):
    """One partner's claim, through one MPN ID, on one tenant, in one solution area."""

    partner = models.ForeignKey("cpor.Partner", on_delete=models.PROTECT, related_name="claims")
    mpn = models.ForeignKey("cpor.MpnId", on_delete=models.PROTECT, related_name="claims", verbose_name=_("MPN ID"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    # What the partner typed, kept as typed (normalised); `tenant` is the directory match.
    domain = models.CharField(_("domain name"), max_length=253)
    tenant_guid = models.UUIDField(_("Directory ID / Tenant ID"))
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="claims")
    # The tenant's name, copied by the database (claims migration 0012's triggers, on every
    # write of `tenant` and every rename of a tenant) so that a partner's claims sort by
    # customer through their own index: never written by the application.
    tenant_name = models.CharField(_("customer"), max_length=200, null=True, editable=False)
    solution_area = models.CharField(_("solution area"), max_length=32, choices=SolutionArea.choices)
    activity = models.CharField(_("activity"), max_length=20, choices=Activity.choices)

    # Revenue association only.
    solution_seller_name = models.CharField(_("Dynamics solution seller name"), max_length=200, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    isv_solution_name = models.CharField(_("name of ISV product/solution"), max_length=200, blank=True)

    customer_contact_name = models.CharField(_("customer contact name"), max_length=200, blank=True)
    customer_contact_title = models.CharField(_("customer contact title"), max_length=200, blank=True)
    customer_contact_email = models.EmailField(_("customer contact email"), blank=True)
    technical_contact_name = models.CharField(_("technical contact name"), max_length=200, blank=True)
    technical_contact_title = models.CharField(_("technical contact title"), max_length=200, blank=True)
    technical_contact_email = models.EmailField(_("technical contact email"), blank=True)
    partner_contact_name = models.CharField(_("your contact name"), max_length=200, blank=True)
    partner_contact_email = models.EmailField(_("your contact email"), blank=True)

    status = models.CharField(_("status"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    validation_errors = models.JSONField(_("validation errors"), default=list, blank=True)
    rejection_reason = models.CharField(
        _("rejection reason"), max_length=32, choices=RejectionReason.choices, blank=True
    )

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    notified_at = models.DateTimeField(_("customer notified"), null=True, blank=True)
    opt_out_deadline = models.DateTimeField(_("opt-out deadline"), null=True, blank=True)
    review_due_at = models.DateTimeField(_("review due"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # Partner action required: the answer is due by then (14 business days, partner's country).
    response_due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    # Disputing a rejection: once, within DISPUTE_WINDOW of `decided_at`.
    disputed_at = models.DateTimeField(_("disputed"), null=True, blank=True)
    dispute_answer_due_at = models.DateTimeField(_("dispute answer due"), null=True, blank=True)
    dispute_final = models.BooleanField(_("rejection upheld after dispute"), default=False)
    # The partner ended an approved association itself.
    disassociated_at = models.DateTimeField(_("disassociated"), null=True, blank=True)
    disassociated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    disassociation_reason = models.TextField(_("disassociation reason"), blank=True)
    # The opt-out link's secret; the link itself is signed, this makes it revocable.
    opt_out_nonce = models.UUIDField(default=uuid.uuid4, editable=False)
    # The reviewer who took the claim off the desk; changed only by `review.claim_take` and
    # `review.claim_release`. Partners never see it.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["partner", "-created_at", "-id"], name="claim_partner_recent"),
            models.Index(fields=["partner", "status"], name="claim_partner_status"),
            models.Index(fields=["status", "opt_out_deadline"], name="claim_status_deadline"),
            # Sorting a partner's claims by name or customer, the reviewers' list (newest first,
            # every partner) and their search by tenant ID walk these (bench/bench_throughput.py).
            models.Index(fields=["partner", "name", "id"], name="claim_partner_name"),
            models.Index(fields=["partner", "tenant", "id"], name="claim_partner_tenant"),
            # By customer: the list's sort, and the Usage page's customer order (read alone).
            models.Index(fields=["partner", "tenant_name", "tenant", "id"], name="claim_partner_customer"),
            models.Index(fields=["-created_at", "-id"], name="claim_recent"),
            models.Index(fields=["tenant_guid"], name="claim_tenant_guid"),
            # The reviewers' queue, due soonest first (admin ordering); their own claims, or
            # nobody's, by review due date.
            models.Index(
                models.F("review_due_at").asc(nulls_last=True), models.F("id").desc(), name="claim_review_due"
            ),
            models.Index(fields=["assigned_to", "review_due_at"], name="claim_assigned_due"),
            # Part of a name or domain (`icontains`, which PostgreSQL runs as UPPER(...) LIKE):
            # pg_trgm indexes on the same expressions. The migration creates them on PostgreSQL only.
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="claim_name_trgm"),
            GinIndex(OpClass(Upper("domain"), name="gin_trgm_ops"), name="claim_domain_trgm"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ClaimStatus.values), name="claim_status_valid"),
            models.CheckConstraint(condition=models.Q(activity__in=Activity.values), name="claim_activity_valid"),
            models.CheckConstraint(
                condition=models.Q(solution_area__in=SolutionArea.values), name="claim_solution_area_valid"
            ),
            # A taken claim says since when (a deleted reviewer leaves the moment behind).
            models.CheckConstraint(
                condition=models.Q(assigned_to__isnull=True) | models.Q(assigned_at__isnull=False),
                name="claim_assignment_dated",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.name}"

    @property
    def programs(self) -> tuple[str, ...]:
        return ACTIVITY_PROGRAMS[(self.solution_area, self.activity)]

    @property
    def is_editable(self) -> bool:
        return self.status == ClaimStatus.DRAFT

    @property
    def dispute_due_at(self):
        """A rejection can be disputed until 30 days after it was decided."""
        return self.decided_at + DISPUTE_WINDOW if self.decided_at else None

    @property
    def needs_technical_contact(self) -> bool:
        return self.solution_area == SolutionArea.BUSINESS_APPLICATIONS


class ItemOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONTESTED = "contested", _("Contested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ENDED = "ended", _("Ended")


# The one table of allowed outcome changes, read by `lifecycle.item_move` and by the tests.
# Contested -> pending: the arbitration winner waits for its own opt-out window to close.
# An approved item is never contested again: it stays with its holder until a reviewer
# decides, and then it ends.
ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    ItemOutcome.PENDING: frozenset({ItemOutcome.CONTESTED, ItemOutcome.APPROVED, ItemOutcome.REJECTED}),
    ItemOutcome.CONTESTED: frozenset({ItemOutcome.PENDING, ItemOutcome.APPROVED, ItemOutcome.REJECTED}),
    ItemOutcome.APPROVED: frozenset({ItemOutcome.ENDED}),
    # Rejected -> pending or contested: a dispute overturned sends the items back to review.
    ItemOutcome.REJECTED: frozenset({ItemOutcome.PENDING, ItemOutcome.CONTESTED}),
    ItemOutcome.ENDED: frozenset(),
}

# Outcomes that are a decision: reaching one stamps the item's `decided_at`.
DECIDED_OUTCOMES = frozenset({ItemOutcome.APPROVED, ItemOutcome.REJECTED, ItemOutcome.ENDED})


class ClaimItem(models.Model):
    """The unit of exclusivity: a subscription (Business Applications) or a tenant's workload
    (Microsoft 365), claimed for one programme.

    `item_key` names the thing claimed independently of the claim ("sub:<guid>" or
    "wl:<tenant guid>:<workload id>"), so that the database can hold at most one approved
    holder per item and programme.
    """

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="items")
    # The claim's partner, copied by the database when the item is written (claims migration
    # 0012's triggers; a claim's partner never changes) so that a partner's approved items are
    # one index range: never written by the application.
    partner = models.ForeignKey(
        "cpor.Partner", on_delete=models.PROTECT, null=True, editable=False, db_index=False, related_name="+"
    )
    program = models.CharField(_("programme"), max_length=16, blank=True)
    product = models.ForeignKey("tenants.Product", on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        "tenants.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="claim_items"
    )
    workload = models.ForeignKey(
        "tenants.Workload", on_delete=models.PROTECT, null=True, blank=True, related_name="claim_items"
    )
    item_key = models.CharField(max_length=120)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ItemOutcome.choices, default=ItemOutcome.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = OfClaimQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "item_key", "program"], name="claim_item_once_per_claim"),
            models.UniqueConstraint(
                fields=["item_key", "program"],
                condition=models.Q(outcome="approved") & ~models.Q(program=""),
                name="one_holder_per_item_and_program",
            ),
            models.CheckConstraint(condition=models.Q(outcome__in=ItemOutcome.values), name="claim_item_outcome_valid"),
            models.CheckConstraint(
                condition=models.Q(subscription__isnull=False, workload__isnull=True)
                | models.Q(subscription__isnull=True, workload__isnull=False),
                name="claim_item_subscription_xor_workload",
            ),
        ]
        indexes = [
            models.Index(fields=["item_key", "program", "outcome"], name="claim_item_holder"),
            # The reviewers' list flags claims with contested items, a handful among a million.
            models.Index(fields=["claim"], condition=models.Q(outcome="contested"), name="claim_item_contested"),
            # The subscription checks read only approved items, every minute.
            models.Index(
                fields=["subscription"],
                condition=models.Q(outcome="approved", subscription__isnull=False),
                name="claim_item_approved_sub",
            ),
            models.Index(
                fields=["workload"],
                condition=models.Q(outcome="approved", workload__isnull=False),
                name="claim_item_approved_workload",
            ),
            # The Usage page reads a partner's approved items (claims/usage.py).
            models.Index(
                fields=["partner", "claim", "id"],
                condition=models.Q(outcome="approved"),
                name="claim_item_approved_partner",
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        if self.workload_id:
            return self.workload.name
        return f"{self.product.name} ({self.subscription.subscription_id})"

    @staticmethod
    def key_for_subscription(subscription) -> str:
        return f"sub:{subscription.subscription_id}"

    @staticmethod
    def key_for_workload(tenant, workload) -> str:
        return f"wl:{tenant.tenant_id}:{workload.pk}"


class ClaimEvent(models.Model):
    """Append-only history: who did what to a claim, when, from which status to which, and why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = OfClaimQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.claim_id} {self.action} {self.from_status}→{self.to_status}"

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else _("System")


class Comment(models.Model):
    """A message on a claim. Internal notes are for reviewers only and never shown to partners."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(_("comment"))
    is_internal = models.BooleanField(_("internal note"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OfClaimQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]


def poe_upload_to(instance, filename):
    # Generated names only: the partner's file name is kept in `original_name`, never on disk.
    return f"poe/{uuid.uuid4().hex}"


class ProofOfExecution(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="proofs")
    file = models.FileField(upload_to=poe_upload_to)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = OfClaimQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("proof of execution")
        verbose_name_plural = _("proofs of execution")

    def __str__(self):
        return self.original_name


class CustomerNoticeRole(models.TextChoices):
    CUSTOMER = "customer", _("Customer contact")
    TECHNICAL = "technical", _("Technical contact")
    DIRECTORY = "directory", _("Customer's notification address")


class CustomerEmailPurpose(models.TextChoices):
    OPT_OUT_NOTICE = "opt_out_notice", _("Opt-out notice")
    DISASSOCIATION = "disassociation", _("Disassociation notice")


class CustomerEmail(models.Model):
    """The outbox of customer notices: exactly one email per recipient per claim.

    The rows are written in the transaction that puts the claim under review: the customer
    contact, the technical contact (Dynamics 365) and the tenant's own notification
    addresses from the directory. A task sends what is unsent and marks it, so a retried or
    repeated task never sends twice; the customer contact's notice, once sent, starts the
    opt-out window.
    """

    Role = CustomerNoticeRole

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="customer_emails")
    recipient = models.EmailField(_("recipient"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    Purpose = CustomerEmailPurpose
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=CustomerEmailPurpose.choices, default=CustomerEmailPurpose.OPT_OUT_NOTICE
    )
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # The outbox policy's (cpor/outbox.py): when the next attempt is due, and the lease of
    # the worker sending it now.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = OfClaimQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("customer notice")
        verbose_name_plural = _("customer notices")
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "recipient", "purpose"], name="one_customer_email_per_recipient_and_purpose"
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=CustomerEmailPurpose.values), name="customer_email_purpose_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=CustomerNoticeRole.values), name="customer_email_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["sent_at"], name="customer_email_unsent")]

    def __str__(self):
        return f"{self.recipient} ({self.claim_id})"


class ReminderKind(models.TextChoices):
    RESPONSE_7 = "response_7", _("Answer due in 7 business days")
    RESPONSE_2 = "response_2", _("Answer due in 2 business days")


class ClaimReminder(models.Model):
    """A reminder sent to the partner, at most once per claim, kind and deadline: the periodic
    job inserts this row first, so a second pass (or a second worker) sends nothing."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=16, choices=ReminderKind.choices)
    due_at = models.DateTimeField(_("deadline reminded of"))
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "kind", "due_at"], name="one_reminder_per_claim_kind_deadline"),
            models.CheckConstraint(condition=models.Q(kind__in=ReminderKind.values), name="claim_reminder_kind_valid"),
        ]
