"""The reviewers' work on claims (PRODUCT.md section 5, steps 5 and 7).

Reviewers are vendor staff in the "Reviewers" group (`cpor.access.is_reviewer`); they work
in the Django admin (`claims.admin`), which calls these services and reads through the
selectors at the bottom of this module.

During review a reviewer may add comments visible to the partner, keep internal notes,
request information (the claim is Partner action required until the partner answers with
a comment or more PoE, see `claims.services`), reject with a reason, and arbitrate
competing claims item by item. Approval itself is the approval timer's job once the opt-out
window has closed: reviewers never approve a claim before that.

Every service: check the user is a reviewer (403 otherwise), open a transaction, lock the
claim(s) with `lifecycle.lock_claim` in primary-key order, check the state and raise
`ClaimError` (changing nothing) when the action does not apply, change the items, move the
claim through `lifecycle.transition` / `lifecycle.settle`, and record the events.

Internal notes are written as `Comment(is_internal=True)` and their event carries
`data={"internal": True}`: the partner's comments thread and History must hide both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpor import access
from tenants.models import LegacyAssociation

from . import lifecycle
from .lifecycle import ClaimError
from .models import Claim, ClaimItem, ClaimStatus, Comment, ItemOutcome, ProofOfExecution, RejectionReason

# The statuses in which a claim is on the reviewers' desk.
REVIEW_STATUSES = (ClaimStatus.UNDER_REVIEW, ClaimStatus.ACTION_REQUIRED)

# Reasons a reviewer picks when rejecting a claim; losing arbitration is set by `item_decide`.
REVIEWER_REJECTION_REASONS = tuple(
    (value, label) for value, label in RejectionReason.choices if value != RejectionReason.LOST_ARBITRATION
)

UNDECIDED = (ItemOutcome.PENDING, ItemOutcome.CONTESTED)

# The action recorded when the items' outcomes move a claim to a new status.
SETTLE_ACTIONS = {
    ClaimStatus.APPROVED: "approved",
    ClaimStatus.REJECTED: "rejected",
    ClaimStatus.ENDED: "ended",
}

# Event actions written here (the History labels live in `claims.presentation`).
REVIEWER_COMMENT = "reviewer_comment"
INFORMATION_REQUESTED = "information_requested"
ITEM_APPROVED = "item_approved"
ARBITRATION_WON = "arbitration_won"
ITEM_REJECTED = "item_rejected"
ITEM_ENDED = "item_ended"
ITEMS_REJECTED = "items_rejected"


# --- Guards --------------------------------------------------------------------------------


def _require_reviewer(user) -> None:
    if not access.is_reviewer(user):
        raise PermissionDenied


def _lock(claim_id) -> Claim:
    """The claim under a row lock. Drafts are the partner's own until submitted: reviewers
    never see them, so a draft is answered like a missing claim."""
    try:
        claim = lifecycle.lock_claim(claim_id)
    except Claim.DoesNotExist as missing:
        raise Http404 from missing
    if claim.status == ClaimStatus.DRAFT:
        raise Http404
    return claim


def _lock_in_order(claim_ids: Iterable[int]) -> dict[int, Claim]:
    """Lock several claims, always in primary-key order, so that two reviewers deciding
    overlapping items wait for each other instead of deadlocking."""
    return {claim_id: _lock(claim_id) for claim_id in sorted(set(claim_ids))}


def _text(text: str) -> str:
    return (text or "").strip()


def _in_partner_language(claim: Claim):
    """Messages written to a partner on their claim read in the language of whoever filed it."""
    user = claim.created_by
    return translation.override(user.language if user is not None else settings.LANGUAGE_CODE)


def _tell_partner(claim: Claim, reviewer, body: str) -> Comment:
    return Comment.objects.create(claim=claim, author=reviewer, body=body, is_internal=False)


def _with_note(message: str, note: str) -> str:
    return f"{message}\n\n{note}" if note else message


def _settle(claim: Claim, *, reviewer, reason: str = "", rejection_reason: str = "", data=None):
    """Move a locked claim to the status its items now summarise (Approved, Rejected or
    Ended), stamping when it was decided and, when rejected, why."""
    target = lifecycle.status_from_items(claim)
    if target == claim.status:
        return None
    fields = []
    if target in (ClaimStatus.APPROVED, ClaimStatus.REJECTED):
        claim.decided_at = timezone.now()
        fields.append("decided_at")
    if target == ClaimStatus.REJECTED and rejection_reason and not claim.rejection_reason:
        claim.rejection_reason = rejection_reason
        fields.append("rejection_reason")
    return lifecycle.settle(
        claim, action=SETTLE_ACTIONS[target], actor=reviewer, reason=reason, data=data, fields=fields
    )


def opt_out_window_closed(claim: Claim, *, now=None) -> bool:
    """The customer can no longer opt out: the stored deadline has passed."""
    return claim.opt_out_deadline is not None and claim.opt_out_deadline < (now or timezone.now())


def _item_data(item: ClaimItem, **extra) -> dict:
    return {"item": item.pk, "label": item.label, "program": item.program, **extra}


def _item_name(item: ClaimItem) -> str:
    return f"{item.label} ({item.program})" if item.program else item.label


# --- Comments and internal notes ------------------------------------------------------------


def claim_comment_add_by_reviewer(*, reviewer, claim_id, body: str, internal: bool) -> Comment:
    """A reviewer's comment visible to the partner, or an internal note for reviewers only.

    Comments are where reviewers talk to the partner (the seed: "we'll contact you via CPOR
    association claim comments section"); internal notes are never shown to partners, and
    neither is their History event (`data["internal"]` is True).
    """
    _require_reviewer(reviewer)
    body = _text(body)
    if not body:
        raise ClaimError(_("Write the note first.") if internal else _("Write the comment first."))
    with transaction.atomic():
        claim = _lock(claim_id)
        comment = Comment.objects.create(claim=claim, author=reviewer, body=body, is_internal=internal)
        lifecycle.record_event(
            claim, action=REVIEWER_COMMENT, actor=reviewer, data={"comment": comment.pk, "internal": internal}
        )
    return comment


# --- Request information ----------------------------------------------------------------------


def claim_request_information(*, reviewer, claim_id, message: str) -> Claim:
    """Ask the partner for more: Under review → Partner action required, with the message as
    a comment the partner reads. The partner's answer (a comment or more PoE) puts the claim
    back under review."""
    _require_reviewer(reviewer)
    message = _text(message)
    if not message:
        raise ClaimError(_("Write what the partner should provide."))
    with transaction.atomic():
        claim = _lock(claim_id)
        if claim.status == ClaimStatus.ACTION_REQUIRED:
            raise ClaimError(_("The partner has not answered the previous request yet. Add a comment to ask for more."))
        if claim.status != ClaimStatus.UNDER_REVIEW:
            raise ClaimError(
                _("Information can be requested only while the claim is under review; it is %(status)s.")
                % {"status": claim.get_status_display()}
            )
        comment = _tell_partner(claim, reviewer, message)
        lifecycle.transition(
            claim,
            ClaimStatus.ACTION_REQUIRED,
            action=INFORMATION_REQUESTED,
            actor=reviewer,
            reason=message,
            data={"comment": comment.pk},
        )
    return claim


# --- Rejection --------------------------------------------------------------------------------


def claim_reject(*, reviewer, claim_id, reason: str, note: str = "") -> Claim:
    """Reject a claim under review with a reason (insufficient PoE, customer declined,
    partner request, missing products, no response, other; "other" needs a note).

    Every undecided item (pending or contested) is rejected and the claim becomes Rejected,
    with the reason on the claim and in the event. The note, if any, is posted to the
    partner as a comment so that they read why. If an item was already approved in
    arbitration it stays approved, and the claim becomes Approved for it: its status always
    summarises its items.
    """
    _require_reviewer(reviewer)
    note = _text(note)
    if reason not in dict(REVIEWER_REJECTION_REASONS):
        raise ClaimError(_("Choose a rejection reason."))
    if reason == RejectionReason.OTHER and not note:
        raise ClaimError(_("Explain the reason: a note is required when the reason is Other."))
    with transaction.atomic():
        claim = _lock(claim_id)
        if claim.status not in REVIEW_STATUSES:
            raise ClaimError(
                _("Only a claim under review or waiting for the partner can be rejected; it is %(status)s.")
                % {"status": claim.get_status_display()}
            )
        now = timezone.now()
        undecided = list(
            claim.items.filter(outcome__in=UNDECIDED).select_related("product", "subscription", "workload")
        )
        for item in undecided:
            item.outcome = ItemOutcome.REJECTED
            item.decided_at = now
            item.save(update_fields=["outcome", "decided_at"])
        label = str(RejectionReason(reason).label)
        event_reason = f"{label}: {note}" if note else label
        data = {"rejection_reason": reason, "note": note, "items": [_item_name(item) for item in undecided]}
        if note:
            with _in_partner_language(claim):
                _tell_partner(
                    claim,
                    reviewer,
                    _("The claim was rejected (%(reason)s): %(note)s")
                    % {"reason": RejectionReason(reason).label, "note": note},
                )
        if claim.items.filter(outcome=ItemOutcome.APPROVED).exists():
            lifecycle.record_event(claim, action=ITEMS_REJECTED, actor=reviewer, reason=event_reason, data=data)
            _settle(claim, reviewer=reviewer)
        else:
            claim.rejection_reason = reason
            claim.decided_at = now
            lifecycle.transition(
                claim,
                ClaimStatus.REJECTED,
                action="rejected",
                actor=reviewer,
                reason=event_reason,
                data=data,
                fields=["rejection_reason", "decided_at"],
            )
    return claim


# --- Arbitration of competing claims -------------------------------------------------------------


def _rivals(item: ClaimItem) -> QuerySet[ClaimItem]:
    """The other claims' items on the same thing for the same programme that still count:
    the holder (approved, whatever its claim's status, since the database allows one) and
    the open contenders of claims under review. Claims not yet validated are left to the
    pipeline, which will find them competing."""
    return (
        ClaimItem.objects.filter(item_key=item.item_key, program=item.program)
        .exclude(pk=item.pk)
        .filter(
            Q(outcome=ItemOutcome.APPROVED) | Q(outcome__in=UNDECIDED, claim__status__in=REVIEW_STATUSES),
        )
        .select_related("product", "subscription", "workload")
        .order_by("pk")
    )


def _legacy_holders(item: ClaimItem, tenant_id) -> QuerySet[LegacyAssociation]:
    """Associations from before the claim model still standing on the same subscription
    (Dynamics 365, Power BI) or the same tenant's workload (Microsoft 365)."""
    legacy = LegacyAssociation.objects.filter(ended_at__isnull=True)
    if item.subscription_id:
        return legacy.filter(subscription_id=item.subscription_id)
    return legacy.filter(tenant_id=tenant_id, workload_id=item.workload_id)


def item_decide(*, reviewer, item_id, approve: bool, note: str = "") -> ClaimItem:
    """Decide a contested item (PRODUCT.md section 5 step 7, seed 003 "Competing claims").

    Each workload (Microsoft 365) or subscription (Business Applications) belongs to at most
    one partner per programme. Approving this partner's item: any other partner holding it
    loses it (that association ends, also a legacy one), every other open claim on it is
    rejected (another partner was chosen), each told in their claim's comments; then the
    winner's item is approved if its opt-out window has closed, otherwise it waits (pending)
    for the approval timer. Rejecting: only this item is rejected.

    The holder is ended before the winner is approved, so the database's one-holder
    constraint holds at every statement. Every claim touched then takes the status its items
    summarise.
    """
    _require_reviewer(reviewer)
    note = _text(note)
    with transaction.atomic():
        item = ClaimItem.objects.filter(pk=item_id).exclude(claim__status=ClaimStatus.DRAFT).first()
        if item is None:
            raise Http404
        claim_ids = {item.claim_id}
        if approve:
            claim_ids |= set(_rivals(item).values_list("claim_id", flat=True))
        claims = _lock_in_order(claim_ids)
        # Re-read everything under the locks: another reviewer may have decided first.
        item = ClaimItem.objects.select_related("product", "subscription", "workload").get(pk=item_id)
        claim = claims[item.claim_id]
        if item.outcome != ItemOutcome.CONTESTED or claim.status not in REVIEW_STATUSES:
            raise ClaimError(
                _("%(item)s on claim #%(claim)s is no longer waiting for arbitration (it is %(outcome)s).")
                % {"item": _item_name(item), "claim": claim.pk, "outcome": item.get_outcome_display()}
            )
        if approve:
            _approve_contested(item, claim, claims, reviewer=reviewer, note=note)
        else:
            _reject_contested(item, claim, reviewer=reviewer, note=note)
    return item


def _approve_contested(item: ClaimItem, claim: Claim, claims: dict[int, Claim], *, reviewer, note: str) -> None:
    rivals = list(_rivals(item))
    if {rival.claim_id for rival in rivals} - claims.keys():
        # A competing claim reached review between the first read and the locks.
        raise ClaimError(_("Another claim on this item has just reached review. Open the comparison again."))
    now = timezone.now()
    # 1. The previous holder's association ends, before anyone else is approved.
    for rival in rivals:
        if rival.outcome != ItemOutcome.APPROVED:
            continue
        rival_claim = claims[rival.claim_id]
        rival.outcome = ItemOutcome.ENDED
        rival.save(update_fields=["outcome"])
        lifecycle.record_event(
            rival_claim,
            action=ITEM_ENDED,
            actor=reviewer,
            data=_item_data(rival, arbitration=True, winner_claim=claim.pk),
        )
        with _in_partner_language(rival_claim):
            _tell_partner(
                rival_claim,
                reviewer,
                _(
                    "After reviewing a competing claim, the reviewers approved another partner for %(item)s. Your "
                    "association with this item has ended."
                )
                % {"item": _item_name(rival)},
            )

    # 2. Every other open claim on the item loses it.
    for rival in rivals:
        if rival.outcome not in UNDECIDED:
            continue
        rival_claim = claims[rival.claim_id]
        rival.outcome = ItemOutcome.REJECTED
        rival.decided_at = now
        rival.save(update_fields=["outcome", "decided_at"])
        lifecycle.record_event(
            rival_claim,
            action=ITEM_REJECTED,
            actor=reviewer,
            data=_item_data(rival, rejection_reason=RejectionReason.LOST_ARBITRATION, winner_claim=claim.pk),
        )
        with _in_partner_language(rival_claim):
            _tell_partner(
                rival_claim,
                reviewer,
                _(
                    "Another partner also claimed %(item)s. After comparing both partners' proof of execution, "
                    "the reviewers chose the other partner: this item is rejected."
                )
                % {"item": _item_name(rival)},
            )

    # 3. So does a legacy association of another partner.
    legacy = _legacy_holders(item, claim.tenant_id).exclude(partner_id=claim.partner_id)
    legacy_ended = list(legacy.values_list("pk", flat=True))
    legacy.update(ended_at=now)

    # 4. The winner: approved now if the customer can no longer opt out, else at the deadline.
    window_closed = opt_out_window_closed(claim, now=now)
    data = _item_data(
        item,
        ended_items=[rival.pk for rival in rivals if rival.outcome == ItemOutcome.ENDED],
        rejected_items=[rival.pk for rival in rivals if rival.outcome == ItemOutcome.REJECTED],
        legacy_ended=legacy_ended,
    )
    if window_closed:
        item.outcome = ItemOutcome.APPROVED
        item.decided_at = now
        item.save(update_fields=["outcome", "decided_at"])
        lifecycle.record_event(claim, action=ITEM_APPROVED, actor=reviewer, reason=note, data=data)
        with _in_partner_language(claim):
            message = _("After comparing the competing claims, the reviewers approved %(item)s for your organisation.")
            _tell_partner(claim, reviewer, _with_note(message % {"item": _item_name(item)}, note))
    else:
        item.outcome = ItemOutcome.PENDING
        item.save(update_fields=["outcome"])
        lifecycle.record_event(claim, action=ARBITRATION_WON, actor=reviewer, reason=note, data=data)
        with _in_partner_language(claim):
            message = _(
                "After comparing the competing claims, the reviewers chose your organisation for %(item)s. It will "
                "be approved when the customer's opt-out window closes."
            )
            _tell_partner(claim, reviewer, _with_note(message % {"item": _item_name(item)}, note))

    # Partners read their own History: the reasons never name the other partner.
    for claim_id in sorted(claims):
        if claim_id == claim.pk:
            reason = _("Arbitration of %(item)s: this claim was chosen.")
        else:
            reason = _("Arbitration of %(item)s: another partner was chosen.")
        _settle(
            claims[claim_id],
            reviewer=reviewer,
            reason=reason % {"item": _item_name(item)},
            rejection_reason=RejectionReason.LOST_ARBITRATION,
        )


def _reject_contested(item: ClaimItem, claim: Claim, *, reviewer, note: str) -> None:
    item.outcome = ItemOutcome.REJECTED
    item.decided_at = timezone.now()
    item.save(update_fields=["outcome", "decided_at"])
    # "Another partner was chosen" only if another partner still holds or seeks the item.
    rival_stands = (
        _rivals(item).exclude(claim__partner_id=claim.partner_id).exists()
        or _legacy_holders(item, claim.tenant_id).exclude(partner_id=claim.partner_id).exists()
    )
    rejection_reason = RejectionReason.LOST_ARBITRATION if rival_stands else RejectionReason.OTHER
    lifecycle.record_event(
        claim,
        action=ITEM_REJECTED,
        actor=reviewer,
        reason=note,
        data=_item_data(item, rejection_reason=rejection_reason),
    )
    with _in_partner_language(claim):
        message = _(
            "After comparing the competing claims, the reviewers did not approve %(item)s for your organisation."
        )
        _tell_partner(claim, reviewer, _with_note(message % {"item": _item_name(item)}, note))
    _settle(claim, reviewer=reviewer, reason=note, rejection_reason=rejection_reason)


# --- Reads for reviewers ------------------------------------------------------------------------


def claims_for_review(*, reviewer) -> QuerySet[Claim]:
    """Every submitted claim, with what the reviewers' list shows in one query: partner, MPN
    ID and tenant, whether review is overdue ("due within five business days of submission;
    later is shown as overdue") and whether any item is contested. Drafts are the partner's
    own and stay out."""
    _require_reviewer(reviewer)
    contested = ClaimItem.objects.filter(claim=OuterRef("pk"), outcome=ItemOutcome.CONTESTED)
    return (
        Claim.objects.exclude(status=ClaimStatus.DRAFT)
        .select_related("partner", "mpn", "tenant")
        .annotate(
            has_contested=Exists(contested),
            is_overdue=Case(
                When(status__in=REVIEW_STATUSES, review_due_at__lt=timezone.now(), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
    )


def is_review_overdue(claim: Claim) -> bool:
    return bool(
        claim.status in REVIEW_STATUSES and claim.review_due_at is not None and claim.review_due_at < timezone.now()
    )


def proof_for_review(*, reviewer, proof_id) -> ProofOfExecution:
    _require_reviewer(reviewer)
    proof = ProofOfExecution.objects.filter(pk=proof_id).exclude(claim__status=ClaimStatus.DRAFT).first()
    if proof is None:
        raise Http404
    return proof


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


def arbitration_for(*, reviewer, item_id) -> Arbitration:
    """The side-by-side comparison for the item's (thing, programme), in a fixed number of
    queries whatever the number of claims."""
    _require_reviewer(reviewer)
    item = (
        ClaimItem.objects.select_related("claim", "product", "subscription", "workload")
        .filter(pk=item_id)
        .exclude(claim__status=ClaimStatus.DRAFT)
        .first()
    )
    if item is None:
        raise Http404
    claim_items = list(
        ClaimItem.objects.filter(item_key=item.item_key, program=item.program)
        .exclude(claim__status=ClaimStatus.DRAFT)
        .select_related("claim__partner", "claim__mpn", "claim__tenant", "product", "subscription", "workload")
        .prefetch_related(
            Prefetch("claim__proofs", queryset=ProofOfExecution.objects.order_by("uploaded_at", "id")),
            Prefetch("claim__comments", queryset=Comment.objects.select_related("author").order_by("created_at", "id")),
        )
        .order_by("claim__submitted_at", "pk")
    )
    legacy = list(_legacy_holders(item, item.claim.tenant_id).select_related("partner", "mpn"))
    return Arbitration(item=item, claim_items=claim_items, legacy=legacy)
