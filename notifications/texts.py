"""What a notification says about a claim event, in the active language.

Computed when shown (the page, the email), never stored, so that each reader gets it in
their own language. Only the event's action, statuses and the claim's own fields are used:
event data is never shown as such, since it may name another partner's claim.
"""

from dataclasses import dataclass

from django.db.models import F, Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from claims.events import EventAction
from claims.models import ClaimEvent, ClaimStatus, RejectionReason
from claims.presentation import STATUS_MEANINGS, format_moment
from claims.validation import Problem

# Item events written by validation when another partner holds or claims an item, and by the
# reviewers' arbitration (claims.review).
ITEM_ACTIONS = (
    EventAction.COMPETING_CLAIM,
    EventAction.ITEM_REJECTED,
    EventAction.ITEM_ENDED,
    EventAction.ARBITRATION_WON,
)
# Events that change no status but that the partner must hear of: a reminder that an answer
# to a reviewer's request is due (claims.followup).
REMINDER_ACTIONS = (EventAction.RESPONSE_REMINDER,)

# The statuses the partner contact is told about (PRODUCT.md section 6).
NOTIFIED_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.VALIDATION_FAILED,
    ClaimStatus.UNDER_REVIEW,
    ClaimStatus.ACTION_REQUIRED,
    ClaimStatus.APPROVED,
    ClaimStatus.REJECTED,
    ClaimStatus.OPTED_OUT,
    ClaimStatus.ENDED,
    ClaimStatus.DISPUTED,
)


@dataclass(frozen=True)
class EventText:
    title: str
    lines: tuple[str, ...]


def is_notified(event: ClaimEvent) -> bool:
    """Whether the partner is told about this event. Reviewers' internal notes never are."""
    if (event.data or {}).get("internal"):
        return False
    if event.action in ITEM_ACTIONS or event.action in REMINDER_ACTIONS:
        return True
    return event.to_status in NOTIFIED_STATUSES and event.to_status != event.from_status


def notified_events():
    """The events the partner is told about, as a query: the rule of `is_notified`, next to it."""
    status_change = Q(to_status__in=NOTIFIED_STATUSES) & ~Q(from_status=F("to_status"))
    # Written as "no such key, or false" rather than exclude(internal=True): in SQL a missing
    # key compares as NULL, and NOT NULL would drop every ordinary event.
    not_internal = Q(data__internal__isnull=True) | Q(data__internal=False)
    actions = Q(action__in=(*ITEM_ACTIONS, *REMINDER_ACTIONS))
    return ClaimEvent.objects.filter(status_change | actions).filter(not_internal)


def _item_label(event: ClaimEvent) -> str:
    # Only an item of this very claim is named; anything else in the data stays unsaid.
    item_id = (event.data or {}).get("item")
    if isinstance(item_id, int):
        for item in event.claim.items.all():
            if item.pk == item_id:
                return f"{item.label} ({item.program})" if item.program else item.label
    return _("an item of this claim")


def _deadline(moment, claim) -> str:
    return format_moment(moment, time_zone=claim.tenant.time_zone if claim.tenant_id else None) if moment else ""


def describe(event: ClaimEvent) -> EventText:
    """The title and sentences that tell the partner what happened."""
    claim = event.claim
    action = event.action
    if action == EventAction.COMPETING_CLAIM:
        return EventText(
            _("Competing claim"),
            (
                _(
                    "Another partner holds or claims %(item)s. It goes to arbitration: reviewers compare both "
                    "partners' proof of execution, and the review may take longer than five business days."
                )
                % {"item": _item_label(event)},
            ),
        )
    if action == EventAction.ITEM_REJECTED:
        lines = [_("%(item)s was not approved for your organisation.") % {"item": _item_label(event)}]
        reason = (event.data or {}).get("rejection_reason")
        if reason in RejectionReason.values:
            lines.append(_("Reason: %(reason)s.") % {"reason": RejectionReason(reason).label})
        return EventText(_("Item rejected"), tuple(lines))
    if action == EventAction.ITEM_ENDED:
        return EventText(
            _("Item ended"),
            (_("Your association with %(item)s has ended.") % {"item": _item_label(event)},),
        )
    if action == EventAction.ARBITRATION_WON:
        return EventText(
            _("Chosen in arbitration"),
            (
                _(
                    "The reviewers chose your organisation for %(item)s. It will be approved when the customer's "
                    "opt-out window closes."
                )
                % {"item": _item_label(event)},
            ),
        )
    if action == EventAction.RESPONSE_REMINDER:
        return EventText(
            _("Answer due soon"),
            (
                _(
                    "A reviewer is waiting for your answer. Answer in the claim's comments or add proof of execution "
                    "by %(deadline)s, or the undecided items will be rejected (No response)."
                )
                % {"deadline": _deadline(parse_datetime((event.data or {}).get("response_due_at") or ""), claim)},
            ),
        )
    status = event.to_status
    title = str(ClaimStatus(status).label) if status in ClaimStatus.values else action
    # What the status means, as the claim page says it: one text, translated once.
    lines = [str(STATUS_MEANINGS[status])] if status in STATUS_MEANINGS else []
    if status == ClaimStatus.VALIDATION_FAILED:
        lines += [Problem.from_dict(problem).message for problem in claim.validation_errors or []]
    if status == ClaimStatus.REJECTED and claim.rejection_reason:
        lines = [_("The claim was rejected: %(reason)s.") % {"reason": claim.get_rejection_reason_display()}]
    if status == ClaimStatus.UNDER_REVIEW and event.from_status == ClaimStatus.ACTION_REQUIRED:
        lines = [_("Your answer was received: the claim is back under review.")]
    if status == ClaimStatus.ACTION_REQUIRED and claim.response_due_at:
        lines.append(_("Answer by %(deadline)s.") % {"deadline": _deadline(claim.response_due_at, claim)})
    if status == ClaimStatus.UNDER_REVIEW and event.from_status == ClaimStatus.DISPUTED:
        lines = [_("The reviewers overturned the rejection after your dispute: the claim is back under review.")]
    if action == EventAction.DISPUTE_UPHELD:
        lines = [_("The reviewers upheld the rejection after your dispute. The decision is final.")]
    if status == ClaimStatus.ENDED and event.action == EventAction.DISASSOCIATED:
        lines = [_("Your organisation disassociated this customer. Its usage data is no longer shown.")]
    return EventText(title, tuple(lines))
