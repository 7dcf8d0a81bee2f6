"""The claim state machine's one mechanism: check a transition against the table, change
the status, and record the event in the same transaction.

Services in `claims.services` (partner actions), `claims.pipeline` (validation, opt-out,
timer, subscription checks) and `claims.review` (reviewers) all go through here; nothing
else assigns `claim.status`.
"""

from django.db import transaction

from .models import TRANSITIONS, Claim, ClaimEvent


class ClaimError(Exception):
    """A domain error: the action does not apply to the claim as it is now."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidTransition(ClaimError):
    pass


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def lock_claim(claim_id) -> Claim:
    """Re-read the claim under a row lock; callers must be inside a transaction."""
    return Claim.objects.select_for_update().get(pk=claim_id)


def record_event(claim: Claim, *, action: str, actor=None, from_status="", to_status="", reason="", data=None):
    return ClaimEvent.objects.create(
        claim=claim,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=str(reason or ""),
        data=data or {},
    )


def transition(claim: Claim, to_status: str, *, action: str, actor=None, reason="", data=None, fields=()):
    """Move a locked claim to `to_status`, saving `fields` too, and log it.

    Raises InvalidTransition (and changes nothing) when the table does not allow it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic()")
    from_status = claim.status
    if not can_transition(from_status, to_status):
        raise InvalidTransition(f"A claim cannot go from {from_status} to {to_status}.")
    claim.status = to_status
    claim.save(update_fields=["status", "updated_at", *fields])
    return record_event(
        claim, action=action, actor=actor, from_status=from_status, to_status=to_status, reason=reason, data=data
    )
