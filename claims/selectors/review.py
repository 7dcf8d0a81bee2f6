"""Reads for the reviewers (vendor staff in the Django admin): their list of claims, the
arbitration queue and comparison, and the competing items and legacy holders that the
review services in `claims.review` act on. Nothing here changes anything.

Drafts are the partner's own until submitted: reviewers never see them, and a draft is
answered like a missing claim (404).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Count, Exists, F, Min, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from cpor import access
from tenants.models import LegacyAssociation

from ..models import REVIEW_STATUSES, Claim, ClaimItem, ClaimStatus, Comment, ItemOutcome, ProofOfExecution

# The outcomes arbitration has not decided yet.
UNDECIDED = (ItemOutcome.PENDING, ItemOutcome.CONTESTED)

# A claim is validated seconds after it is submitted: one still Submitted after this long was
# missed by the worker (the broker was down) and by the periodic job's passes, or fails on
# every pass (the log names it); the reviewers look at it.
STUCK_IN_SUBMITTED_AFTER = datetime.timedelta(minutes=5)


def require_reviewer(user) -> None:
    """Only reviewers read or act on claims as reviewers (403 for anyone else)."""
    if not access.is_reviewer(user):
        raise PermissionDenied


# --- The reviewers' list ----------------------------------------------------------------------


def claims_for_review(*, reviewer) -> QuerySet[Claim]:
    """Every submitted claim, with what the reviewers' list shows in one query: partner, MPN
    ID and tenant, whether review is overdue ("due within five business days of submission;
    later is shown as overdue") and whether any item is contested. Drafts are the partner's
    own and stay out."""
    require_reviewer(reviewer)
    contested = ClaimItem.objects.filter(claim=OuterRef("pk"), outcome=ItemOutcome.CONTESTED)
    return (
        Claim.objects.seen_by_reviewers()
        .select_related("partner", "mpn", "tenant", "assigned_to")
        .annotate(
            has_contested=Exists(contested),
            is_overdue=Case(
                When(status__in=REVIEW_STATUSES, review_due_at__lt=timezone.now(), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
    )


def stuck_in_submitted(now: datetime.datetime | None = None) -> Q:
    """The claims left Submitted for longer than `STUCK_IN_SUBMITTED_AFTER`, as a condition."""
    since = (now or timezone.now()) - STUCK_IN_SUBMITTED_AFTER
    return Q(status=ClaimStatus.SUBMITTED, submitted_at__lt=since)


def is_stuck_in_submitted(claim: Claim, now: datetime.datetime | None = None) -> bool:
    since = (now or timezone.now()) - STUCK_IN_SUBMITTED_AFTER
    return bool(claim.status == ClaimStatus.SUBMITTED and claim.submitted_at and claim.submitted_at < since)


def is_review_overdue(claim: Claim) -> bool:
    return bool(
        claim.status in REVIEW_STATUSES and claim.review_due_at is not None and claim.review_due_at < timezone.now()
    )


def opt_out_window_closed(claim: Claim, *, now=None) -> bool:
    """The customer can no longer opt out: the stored deadline has passed."""
    return claim.opt_out_deadline is not None and claim.opt_out_deadline < (now or timezone.now())


def claim_item_for_review(item_id) -> ClaimItem:
    """An item of a submitted claim; a draft's item is answered like a missing one (404)."""
    item = ClaimItem.objects.seen_by_reviewers().filter(pk=item_id).first()
    if item is None:
        raise Http404
    return item


def proof_for_review(*, reviewer, proof_id) -> ProofOfExecution:
    require_reviewer(reviewer)
    proof = ProofOfExecution.objects.seen_by_reviewers().filter(pk=proof_id).first()
    if proof is None:
        raise Http404
    return proof


# --- Who stands on an item: holders and contenders ------------------------------------------------


def claim_items_standing(item: ClaimItem) -> QuerySet[ClaimItem]:
    """The items on the same thing for the same programme that still count, `item` included:
    the holder (approved, whatever its claim's status, since the database allows one) and
    the open contenders of claims under review. Claims not yet validated are left to the
    pipeline, which will find them competing."""
    return (
        ClaimItem.objects.filter(item_key=item.item_key, program=item.program)
        .filter(
            Q(outcome=ItemOutcome.APPROVED) | Q(outcome__in=UNDECIDED, claim__status__in=REVIEW_STATUSES),
        )
        .select_related("product", "subscription", "workload")
        .order_by("pk")
    )


def claim_item_rivals(item: ClaimItem) -> QuerySet[ClaimItem]:
    """The other claims' items that still count on `item`'s thing and programme."""
    return claim_items_standing(item).exclude(pk=item.pk)


def legacy_holders(item: ClaimItem, tenant_id) -> QuerySet[LegacyAssociation]:
    """Associations from before the claim model still standing on the same subscription
    (Dynamics 365, Power BI) or the same tenant's workload (Microsoft 365)."""
    legacy = LegacyAssociation.objects.filter(ended_at__isnull=True)
    if item.subscription_id:
        return legacy.filter(subscription_id=item.subscription_id)
    return legacy.filter(tenant_id=tenant_id, workload_id=item.workload_id)


def item_has_contenders(item: ClaimItem) -> bool:
    """Someone on this item and programme is waiting for arbitration."""
    return claim_item_rivals(item).on_reviewers_desk().filter(outcome=ItemOutcome.CONTESTED).exists() or (
        item.outcome == ItemOutcome.CONTESTED and item.claim.status in REVIEW_STATUSES
    )


def another_partner_stands_on(item: ClaimItem, claim: Claim) -> bool:
    """Another partner than `claim`'s still holds or seeks `item`'s thing and programme,
    through a claim or an association from before the claim model."""
    return (
        claim_item_rivals(item).exclude(claim__partner_id=claim.partner_id).exists()
        or legacy_holders(item, claim.tenant_id).exclude(partner_id=claim.partner_id).exists()
    )


# --- Arbitration: the queue and the comparison ------------------------------------------------


@dataclass(frozen=True)
class Arbitration:
    """Everything a reviewer compares for one item and programme: every submitted claim on
    it (the current holder, the contenders and those already decided) and any legacy
    association still holding it."""

    item: ClaimItem
    claim_items: list[ClaimItem]
    legacy: list[LegacyAssociation]

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def program(self) -> str:
        return self.item.program

    @property
    def holders(self) -> list[ClaimItem]:
        return [entry for entry in self.claim_items if entry.outcome == ItemOutcome.APPROVED]

    @property
    def contenders(self) -> list[ClaimItem]:
        return [entry for entry in self.claim_items if entry.outcome in UNDECIDED]

    @property
    def decided(self) -> list[ClaimItem]:
        return [entry for entry in self.claim_items if entry.outcome in (ItemOutcome.REJECTED, ItemOutcome.ENDED)]

    @property
    def decidable_ids(self) -> set[int]:
        return {entry.pk for entry in self.contenders if self.is_decidable(entry)}

    @staticmethod
    def is_decidable(entry: ClaimItem) -> bool:
        return entry.outcome == ItemOutcome.CONTESTED and entry.claim.status in REVIEW_STATUSES

    @property
    def in_arbitration(self) -> bool:
        """Some claim on the item is waiting for a reviewer's decision."""
        return bool(self.decidable_ids)

    def can_approve(self, entry: ClaimItem) -> bool:
        """Which claims the reviewer may approve: any contender, and the current holder, while
        the item is in arbitration (a legacy holder too: see `review.legacy_holder_approve`)."""
        return self.in_arbitration and (self.is_decidable(entry) or entry.outcome == ItemOutcome.APPROVED)


@dataclass(frozen=True)
class QueuedArbitration:
    """One item and programme waiting for arbitration: `item` is its oldest contested item
    (the comparison page to open)."""

    item: ClaimItem
    contenders: int
    waiting_since: datetime.datetime | None


def arbitration_queue(*, reviewer) -> list[QueuedArbitration]:
    """Every item and programme in arbitration (a contested item on a claim under review or
    waiting for the partner), oldest first: by when its earliest contender was submitted.
    Two queries whatever the length of the queue."""
    require_reviewer(reviewer)
    groups = list(
        ClaimItem.objects.on_reviewers_desk()
        .filter(outcome=ItemOutcome.CONTESTED)
        .values("item_key", "program")
        .annotate(waiting_since=Min("claim__submitted_at"), contenders=Count("pk"), first_item=Min("pk"))
        .order_by(F("waiting_since").asc(nulls_last=True), "first_item")
    )
    items = ClaimItem.objects.select_related("claim__tenant", "product", "subscription", "workload").in_bulk(
        [group["first_item"] for group in groups]
    )
    return [
        QueuedArbitration(
            item=items[group["first_item"]], contenders=group["contenders"], waiting_since=group["waiting_since"]
        )
        for group in groups
    ]


def arbitration_for(*, reviewer, item_id) -> Arbitration:
    """The side-by-side comparison for the item's (thing, programme), in a fixed number of
    queries whatever the number of claims."""
    require_reviewer(reviewer)
    item = (
        ClaimItem.objects.select_related("claim", "product", "subscription", "workload")
        .seen_by_reviewers()
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404
    claim_items = list(
        ClaimItem.objects.seen_by_reviewers()
        .filter(item_key=item.item_key, program=item.program)
        .select_related("claim__partner", "claim__mpn", "claim__tenant", "product", "subscription", "workload")
        .prefetch_related(
            # Newest first: arbitration weighs the newest proof of execution (section 5, step 9).
            Prefetch("claim__proofs", queryset=ProofOfExecution.objects.order_by("-uploaded_at", "-id")),
            Prefetch("claim__comments", queryset=Comment.objects.select_related("author").order_by("created_at", "id")),
        )
        .order_by("claim__submitted_at", "pk")
    )
    legacy = list(legacy_holders(item, item.claim.tenant_id).select_related("partner", "mpn"))
    return Arbitration(item=item, claim_items=claim_items, legacy=legacy)
