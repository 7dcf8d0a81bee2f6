"""The reviewers' work on claims (PRODUCT.md section 5, steps 5 and 7).

Reviewers are vendor staff in the "Reviewers" group (`cpor.access.is_reviewer`); they work
in the Django admin (`claims.admin`), which calls these services and reads through
`claims.selectors.review`.

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

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenants.models import LegacyAssociation

from . import deadlines, lifecycle, validation
from .events import EventAction
from .lifecycle import ClaimError
from .models import REVIEW_STATUSES, Claim, ClaimItem, ClaimStatus, Comment, ItemOutcome, RejectionReason
from .selectors import review as reads

# Reasons a reviewer picks when rejecting a claim; losing arbitration is set by `item_decide`.
REVIEWER_REJECTION_REASONS = tuple(
    (value, label) for value, label in RejectionReason.choices if value != RejectionReason.LOST_ARBITRATION
)

# The action recorded when the items' outcomes move a claim to a new status.
SETTLE_ACTIONS = {
    ClaimStatus.APPROVED: EventAction.APPROVED,
    ClaimStatus.REJECTED: EventAction.REJECTED,
    ClaimStatus.ENDED: EventAction.ENDED,
}


# --- Guards --------------------------------------------------------------------------------


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
    """Lock several claims, always in primary-key order (as the pipeline's validation does),
    so that two reviewers deciding overlapping items wait for each other instead of
    deadlocking."""
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
    reads.require_reviewer(reviewer)
    body = _text(body)
    if not body:
        raise ClaimError(_("Write the note first.") if internal else _("Write the comment first."))
    with transaction.atomic():
        claim = _lock(claim_id)
        comment = Comment.objects.create(claim=claim, author=reviewer, body=body, is_internal=internal)
        lifecycle.record_event(
            claim,
            action=EventAction.REVIEWER_COMMENT,
            actor=reviewer,
            data={"comment": comment.pk, "internal": internal},
        )
    return comment


# --- The reviewers' desk: taking and releasing a claim ---------------------------------------------
#
# Who works on a claim is the reviewers' own business: the events carry `internal: True`, so
# that the partner's History, notifications and webhooks leave them out like internal notes,
# and partners never read a reviewer's name.


def _reviewer_name(user) -> str:
    if user is None:
        return _("a former reviewer")
    return user.get_full_name() or user.email


def claim_take(*, reviewer, claim_id, take_over: bool = False) -> Claim:
    """Take a claim on the desk (under review or waiting for the partner): it is assigned to
    the reviewer. A claim another reviewer holds is refused, unless the reviewer explicitly
    takes it over (`take_over`, a confirmed choice on the claim's page), which is recorded
    with whom it was taken from. Taking a claim one already holds is refused too: nothing is
    done twice. Two reviewers taking the same claim at once: the row lock lets exactly one win.
    """
    reads.require_reviewer(reviewer)
    with transaction.atomic():
        claim = _lock(claim_id)
        if claim.assigned_to_id == reviewer.pk:
            raise ClaimError(_("You have already taken this claim."))
        if claim.status not in REVIEW_STATUSES:
            raise ClaimError(
                _("Only a claim under review or waiting for the partner can be taken; it is %(status)s.")
                % {"status": claim.get_status_display()}
            )
        holder = claim.assigned_to
        if claim.assigned_to_id is not None and not take_over:
            raise ClaimError(
                _("%(reviewer)s has already taken this claim. Take it over only if you agreed with them.")
                % {"reviewer": _reviewer_name(holder)}
            )
        claim.assigned_to = reviewer
        claim.assigned_at = timezone.now()
        claim.save(update_fields=["assigned_to", "assigned_at", "updated_at"])
        data = {"internal": True, "assigned_to": reviewer.pk}
        if holder is not None:
            data["taken_from"] = holder.pk
        lifecycle.record_event(
            claim,
            action=EventAction.CLAIM_TAKEN_OVER if holder is not None else EventAction.CLAIM_TAKEN,
            actor=reviewer,
            reason=_("Taken over from %(reviewer)s") % {"reviewer": _reviewer_name(holder)} if holder else "",
            data=data,
        )
    return claim


def claim_release(*, reviewer, claim_id) -> Claim:
    """Give a claim one holds back to the desk (unassigned). Releasing a claim one does not
    hold is refused and changes nothing."""
    reads.require_reviewer(reviewer)
    with transaction.atomic():
        claim = _lock(claim_id)
        if claim.assigned_to_id != reviewer.pk:
            if claim.assigned_to_id is None:
                raise ClaimError(_("Nobody has taken this claim: there is nothing to release."))
            raise ClaimError(
                _("%(reviewer)s holds this claim, not you: only they can release it.")
                % {"reviewer": _reviewer_name(claim.assigned_to)}
            )
        claim.assigned_to = None
        claim.assigned_at = None
        claim.save(update_fields=["assigned_to", "assigned_at", "updated_at"])
        lifecycle.record_event(
            claim,
            action=EventAction.CLAIM_RELEASED,
            actor=reviewer,
            data={"internal": True, "released_by": reviewer.pk},
        )
    return claim


# --- Request information ----------------------------------------------------------------------


def claim_request_information(*, reviewer, claim_id, message: str) -> Claim:
    """Ask the partner for more: Under review → Partner action required, with the message as
    a comment the partner reads. The partner's answer (a comment or more PoE) puts the claim
    back under review."""
    reads.require_reviewer(reviewer)
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
        claim.response_due_at = response_deadline(claim, timezone.now())
        lifecycle.transition(
            claim,
            ClaimStatus.ACTION_REQUIRED,
            action=EventAction.INFORMATION_REQUESTED,
            actor=reviewer,
            reason=message,
            data={"comment": comment.pk},
            fields=["response_due_at"],
        )
    return claim


def claim_time_zone(claim: Claim) -> str:
    """The zone a claim's dates close in: its customer's, as the opt-out deadline."""
    return claim.tenant.time_zone if claim.tenant_id else settings.TIME_ZONE


def response_deadline(claim: Claim, start: datetime.datetime) -> datetime.datetime:
    """The partner answers within 14 business days of the partner's country."""
    return deadlines.partner_deadline(
        start, partner=claim.partner, days=deadlines.RESPONSE_BUSINESS_DAYS, time_zone=claim_time_zone(claim)
    )


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
    reads.require_reviewer(reviewer)
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
        _reject_undecided(claim, actor=reviewer, reason=reason, note=note)
    return claim


def _reject_undecided(claim: Claim, *, actor, reason: str, note: str = "", now=None) -> None:
    """Reject a locked claim's undecided items for `reason`: the claim becomes Rejected, or
    Approved if an item was already approved in arbitration."""
    now = now or timezone.now()
    undecided = list(
        claim.items.filter(outcome__in=reads.UNDECIDED).select_related("product", "subscription", "workload")
    )
    lifecycle.item_move(undecided, ItemOutcome.REJECTED, now=now)
    label = str(RejectionReason(reason).label)
    event_reason = f"{label}: {note}" if note else label
    data = {"rejection_reason": reason, "note": note, "items": [_item_name(item) for item in undecided]}
    if note:
        with _in_partner_language(claim):
            _tell_partner(
                claim,
                actor,
                _("The claim was rejected (%(reason)s): %(note)s")
                % {"reason": RejectionReason(reason).label, "note": note},
            )
    claim.response_due_at = None
    if claim.items.filter(outcome=ItemOutcome.APPROVED).exists():
        lifecycle.record_event(claim, action=EventAction.ITEMS_REJECTED, actor=actor, reason=event_reason, data=data)
        claim.save(update_fields=["response_due_at", "updated_at"])
        _settle(claim, reviewer=actor)
    else:
        claim.rejection_reason = reason
        claim.decided_at = now
        lifecycle.transition(
            claim,
            ClaimStatus.REJECTED,
            action=EventAction.REJECTED,
            actor=actor,
            reason=event_reason,
            data=data,
            fields=["rejection_reason", "decided_at", "response_due_at"],
        )


# --- Disputes (the partner's, answered by reviewers) -----------------------------------------


def _lock_disputed(claim_id) -> Claim:
    claim = _lock(claim_id)
    if claim.status != ClaimStatus.DISPUTED:
        raise ClaimError(
            _("Only a disputed claim can be upheld or overturned; it is %(status)s.")
            % {"status": claim.get_status_display()}
        )
    return claim


def _status_after_upheld_dispute(claim: Claim) -> str:
    outcomes = set(claim.items.values_list("outcome", flat=True))
    if ItemOutcome.APPROVED in outcomes:
        return ClaimStatus.APPROVED  # an item lost in arbitration: the claim keeps the others
    if ItemOutcome.ENDED in outcomes:
        return ClaimStatus.ENDED
    return ClaimStatus.REJECTED


def dispute_uphold(*, reviewer, claim_id, note: str) -> Claim:
    """The rejection stands and becomes final, no further dispute: Disputed → Rejected, or
    back to Approved (Ended) when the dispute was about an item lost in arbitration."""
    reads.require_reviewer(reviewer)
    note = _require_rationale(note)
    with transaction.atomic():
        claim = _lock_disputed(claim_id)
        claim.dispute_final = True
        claim.dispute_answer_due_at = None
        with _in_partner_language(claim):
            _tell_partner(
                claim, reviewer, _with_note(_("The reviewers upheld the rejection after your dispute."), note)
            )
        lifecycle.transition(
            claim,
            _status_after_upheld_dispute(claim),
            action=EventAction.DISPUTE_UPHELD,
            actor=reviewer,
            reason=note,
            fields=["dispute_final", "dispute_answer_due_at"],
        )
    return claim


def dispute_overturn(*, reviewer, claim_id, note: str) -> Claim:
    """The rejection is overturned: Disputed → Under review, and the rejected items go back
    to review, to be approved by the usual rules: pending (the approval timer approves them
    once the opt-out window has closed), or contested when another partner holds or claims
    the item meanwhile (arbitration)."""
    reads.require_reviewer(reviewer)
    note = _require_rationale(note)
    from . import pipeline  # the pipeline's contest rule, shared with validation

    with transaction.atomic():
        # This claim and every open claim on its items, in primary-key order (as validation).
        locked = lifecycle.lock_claims_in_order({claim_id, *pipeline._rival_claim_ids(claim_id)})
        if claim_id not in locked:
            raise Http404
        claim = _lock_disputed(claim_id)
        locked[claim.pk] = claim
        now = timezone.now()
        reopened = claim.items.filter(outcome=ItemOutcome.REJECTED)
        if claim.items.filter(outcome__in=(ItemOutcome.APPROVED, ItemOutcome.ENDED)).exists():
            # The dispute was about items lost in arbitration: only those go back.
            from .services import items_lost_in_arbitration

            reopened = items_lost_in_arbitration(claim)
        rejected = list(reopened.select_related("product", "subscription", "workload"))
        lifecycle.item_move(rejected, ItemOutcome.PENDING, now=now)
        claim.rejection_reason = ""
        claim.decided_at = None
        claim.dispute_answer_due_at = None
        with _in_partner_language(claim):
            _tell_partner(
                claim,
                reviewer,
                _with_note(
                    _("The reviewers overturned the rejection after your dispute: the claim is back under review."),
                    note,
                ),
            )
        lifecycle.transition(
            claim,
            ClaimStatus.UNDER_REVIEW,
            action=EventAction.DISPUTE_OVERTURNED,
            actor=reviewer,
            reason=note,
            data={"items": [item.pk for item in rejected]},
            fields=["rejection_reason", "decided_at", "dispute_answer_due_at"],
        )
        contested = [
            item
            for item in rejected
            if validation.claim_competes(
                claim, item_key=item.item_key, program=item.program, subscription=item.subscription
            )
        ]
        if contested:
            pipeline._contest(claim, contested, locked)
    return claim


# --- Arbitration of competing claims -------------------------------------------------------------


def _is_contender(item: ClaimItem, claim: Claim) -> bool:
    """A contested item of a claim on the reviewers' desk: what arbitration decides."""
    return item.outcome == ItemOutcome.CONTESTED and claim.status in REVIEW_STATUSES


def _not_in_arbitration(item: ClaimItem, claim: Claim) -> ClaimError:
    return ClaimError(
        _("%(item)s on claim #%(claim)s is no longer waiting for arbitration (it is %(outcome)s).")
        % {"item": _item_name(item), "claim": claim.pk, "outcome": item.get_outcome_display()}
    )


def _require_rationale(rationale: str) -> str:
    rationale = _text(rationale)
    if not rationale:
        raise ClaimError(_("Write the rationale for the decision: every partner on this item reads it."))
    return rationale


def item_decide(*, reviewer, item_id, approve: bool, note: str = "") -> ClaimItem:
    """Decide one claim on a contested item (PRODUCT.md section 5 step 7, seed 003
    "Competing claims").

    Each workload (Microsoft 365) or subscription (Business Applications) belongs to at most
    one partner per programme. The reviewer may approve any claim on the item: a contender
    or the current holder, with a required rationale (see `_award`). Rejecting rejects only
    this contender's item; the note is then optional.
    """
    reads.require_reviewer(reviewer)
    note = _require_rationale(note) if approve else _text(note)
    with transaction.atomic():
        item = reads.claim_item_for_review(item_id)
        claim_ids = {item.claim_id}
        if approve:
            claim_ids |= set(reads.claim_item_rivals(item).values_list("claim_id", flat=True))
        claims = _lock_in_order(claim_ids)
        # Re-read everything under the locks: another reviewer may have decided first.
        item = ClaimItem.objects.select_related("claim", "product", "subscription", "workload").get(pk=item_id)
        claim = claims[item.claim_id]
        if approve:
            is_holder = item.outcome == ItemOutcome.APPROVED
            if not (_is_contender(item, claim) or (is_holder and reads.item_has_contenders(item))):
                raise _not_in_arbitration(item, claim)
            _award(item, claims, winner=item, reviewer=reviewer, rationale=note)
        else:
            if not _is_contender(item, claim):
                raise _not_in_arbitration(item, claim)
            _reject_contested(item, claim, reviewer=reviewer, note=note)
    return item


def legacy_holder_approve(*, reviewer, item_id, legacy_id, rationale: str) -> LegacyAssociation:
    """Keep the item with the partner whose association from before the claim model holds it:
    every claim contesting it loses (see `_award`); the association stands."""
    reads.require_reviewer(reviewer)
    rationale = _require_rationale(rationale)
    with transaction.atomic():
        item = reads.claim_item_for_review(item_id)
        claims = _lock_in_order({item.claim_id, *reads.claim_item_rivals(item).values_list("claim_id", flat=True)})
        item = ClaimItem.objects.select_related("claim", "product", "subscription", "workload").get(pk=item_id)
        legacy = (
            reads.legacy_holders(item, item.claim.tenant_id)
            .select_for_update(of=("self",))
            .filter(pk=legacy_id)
            .first()
        )
        if legacy is None:
            raise Http404
        if not reads.item_has_contenders(item):
            raise _not_in_arbitration(item, claims[item.claim_id])
        _award(item, claims, winner=legacy, reviewer=reviewer, rationale=rationale)
    return legacy


def _award(item: ClaimItem, claims: dict[int, Claim], *, winner, reviewer, rationale: str) -> None:
    """Give `item`'s thing and programme to `winner` (one of its claim items, or a legacy
    association), every partner told in their claim's comments with the rationale.

    Every other holder's association ends (a claim's approved item, another partner's
    legacy association); every other open claim on it is rejected (another partner was
    chosen). A winning contender is approved if its own opt-out window has closed,
    otherwise it waits (pending) for the approval timer. The holder is ended before the
    winner is approved, so the database's one-holder constraint holds at every statement.
    Every claim touched then takes the status its items summarise.

    The caller holds the locks of every claim in `claims`, taken in primary-key order.
    """
    winner_item = winner if isinstance(winner, ClaimItem) else None
    rivals = _locked_rivals(item, claims, winner_item=winner_item)
    now = timezone.now()
    winner_claim = claims[winner_item.claim_id] if winner_item else None
    won = {"winner_claim": winner_claim.pk} if winner_claim else {"winner_legacy": winner.pk}
    ended = [rival for rival in rivals if rival.outcome == ItemOutcome.APPROVED]
    rejected = [rival for rival in rivals if rival.outcome in reads.UNDECIDED]

    _end_holders(ended, claims, reviewer=reviewer, rationale=rationale, won=won, now=now)
    _reject_as_lost(rejected, claims, reviewer=reviewer, rationale=rationale, won=won, now=now)
    legacy_ended = _end_legacy_holders(item, winner=winner, winner_claim=winner_claim, now=now)
    if winner_claim:
        data = _item_data(
            winner_item,
            ended_items=[rival.pk for rival in ended],
            rejected_items=[rival.pk for rival in rejected],
            legacy_ended=legacy_ended,
        )
        _give_to_winner(winner_item, winner_claim, reviewer=reviewer, rationale=rationale, data=data, now=now)
    _settle_arbitrated(item, claims, winner_claim=winner_claim, reviewer=reviewer)


def _locked_rivals(item: ClaimItem, claims: dict[int, Claim], *, winner_item: ClaimItem | None) -> list[ClaimItem]:
    """The items that still count on `item`'s thing and programme, the winner's left out.
    Each belongs to a locked claim, or the decision is refused and nothing changes."""
    excluded = winner_item.pk if winner_item else None
    rivals = [rival for rival in reads.claim_items_standing(item) if rival.pk != excluded]
    if {rival.claim_id for rival in rivals} - claims.keys():
        # A competing claim reached review between the first read and the locks.
        raise ClaimError(_("Another claim on this item has just reached review. Open the comparison again."))
    return rivals


def _end_holders(ended: list[ClaimItem], claims: dict[int, Claim], *, reviewer, rationale: str, won: dict, now):
    """The previous holder's association ends, before anyone else is approved."""
    for rival in ended:
        rival_claim = claims[rival.claim_id]
        lifecycle.item_move([rival], ItemOutcome.ENDED, now=now)
        lifecycle.record_event(
            rival_claim, action=EventAction.ITEM_ENDED, actor=reviewer, data=_item_data(rival, arbitration=True, **won)
        )
        with _in_partner_language(rival_claim):
            message = _(
                "After reviewing a competing claim, the reviewers approved another partner for %(item)s. Your "
                "association with this item has ended."
            )
            _tell_partner(rival_claim, reviewer, _with_note(message % {"item": _item_name(rival)}, rationale))


def _reject_as_lost(rejected: list[ClaimItem], claims: dict[int, Claim], *, reviewer, rationale: str, won: dict, now):
    """Every other open claim on the item loses it: another partner was chosen."""
    for rival in rejected:
        rival_claim = claims[rival.claim_id]
        lifecycle.item_move([rival], ItemOutcome.REJECTED, now=now)
        lifecycle.record_event(
            rival_claim,
            action=EventAction.ITEM_REJECTED,
            actor=reviewer,
            data=_item_data(rival, rejection_reason=RejectionReason.LOST_ARBITRATION, **won),
        )
        with _in_partner_language(rival_claim):
            message = _(
                "Another partner also claimed %(item)s. After comparing both partners' proof of execution, "
                "the reviewers chose the other partner: this item is rejected."
            )
            _tell_partner(rival_claim, reviewer, _with_note(message % {"item": _item_name(rival)}, rationale))


def _end_legacy_holders(item: ClaimItem, *, winner, winner_claim: Claim | None, now) -> list[int]:
    """So does another partner's association from before the claim model; the winner's own
    stands. Returns the associations ended."""
    legacy = reads.legacy_holders(item, item.claim.tenant_id)
    legacy = legacy.exclude(partner_id=winner_claim.partner_id) if winner_claim else legacy.exclude(pk=winner.pk)
    legacy_ended = list(legacy.values_list("pk", flat=True))
    legacy.update(ended_at=now)
    return legacy_ended


def _give_to_winner(winner_item: ClaimItem, winner_claim: Claim, *, reviewer, rationale: str, data: dict, now):
    """The winner keeps what it holds; a contender is approved now if the customer can no
    longer opt out, else it waits (pending) for the approval timer at its deadline."""
    if winner_item.outcome == ItemOutcome.APPROVED:
        action = EventAction.ARBITRATION_WON
        message = gettext_noop(
            "After comparing the competing claims, the reviewers confirmed %(item)s for your organisation."
        )
    elif reads.opt_out_window_closed(winner_claim, now=now):
        lifecycle.item_move([winner_item], ItemOutcome.APPROVED, now=now)
        action = EventAction.ITEM_APPROVED
        message = gettext_noop(
            "After comparing the competing claims, the reviewers approved %(item)s for your organisation."
        )
    else:
        lifecycle.item_move([winner_item], ItemOutcome.PENDING, now=now)
        action = EventAction.ARBITRATION_WON
        message = gettext_noop(
            "After comparing the competing claims, the reviewers chose your organisation for %(item)s. It will "
            "be approved when the customer's opt-out window closes."
        )
    lifecycle.record_event(winner_claim, action=action, actor=reviewer, reason=rationale, data=data)
    with _in_partner_language(winner_claim):  # the message is translated in the partner's language
        _tell_partner(winner_claim, reviewer, _with_note(_(message) % {"item": _item_name(winner_item)}, rationale))


def _settle_arbitrated(item: ClaimItem, claims: dict[int, Claim], *, winner_claim: Claim | None, reviewer) -> None:
    """Every claim touched takes the status its items now summarise, in primary-key order.
    Partners read their own History: the reasons never name the other partner."""
    for claim_id in sorted(claims):
        if winner_claim and claim_id == winner_claim.pk:
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
    lifecycle.item_move([item], ItemOutcome.REJECTED)
    # "Another partner was chosen" only if another partner still holds or seeks the item.
    rejection_reason = (
        RejectionReason.LOST_ARBITRATION if reads.another_partner_stands_on(item, claim) else RejectionReason.OTHER
    )
    lifecycle.record_event(
        claim,
        action=EventAction.ITEM_REJECTED,
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
