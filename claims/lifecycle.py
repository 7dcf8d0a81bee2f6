"""The claim state machine's one mechanism: check a transition against the table, change
the status, and record the event in the same transaction.

Services in `claims.services` (partner actions), `claims.pipeline` (validation, opt-out,
timer, subscription checks) and `claims.review` (reviewers) all go through here; nothing
else assigns `claim.status`, and nothing but `item_move` (or `items_move_from`, its form for
sets) changes an item's `outcome`.
"""

import datetime
import json
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .events import EventAction
from .models import (
    DECIDED_OUTCOMES,
    ITEM_TRANSITIONS,
    REVIEW_STATUSES,
    TRANSITIONS,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    ItemOutcome,
)
from .signals import claim_event_recorded, claim_events_recorded


class ClaimError(Exception):
    """A domain error: the action does not apply to the claim as it is now."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidTransition(ClaimError):
    pass


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def can_move(from_outcome: str, to_outcome: str) -> bool:
    return to_outcome in ITEM_TRANSITIONS.get(from_outcome, frozenset())


def lock_claim(claim_id) -> Claim:
    """Re-read the claim under a row lock; callers must be inside a transaction."""
    return Claim.objects.select_for_update().get(pk=claim_id)


def lock_claims_in_order(claim_ids: Iterable[int]) -> dict[int, Claim]:
    """Lock several claims one by one in primary-key order, so that two services touching
    overlapping claims (two validations of competing claims, two reviewers arbitrating)
    wait for each other instead of deadlocking. A claim that no longer exists is left out."""
    locked = {}
    for claim_id in sorted(set(claim_ids)):
        claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
        if claim is not None:
            locked[claim_id] = claim
    return locked


def record_event(claim: Claim, *, action: EventAction, actor=None, from_status="", to_status="", reason="", data=None):
    """Append to the claim's history, and announce it (`signals.claim_event_recorded`): the
    event is also the source of partner notifications, which their app queues once the
    transaction commits. The action is one `EventAction` names (ValueError otherwise), so
    that History, notifications and webhooks know every action recorded."""
    event = ClaimEvent.objects.create(
        claim=claim,
        actor=actor,
        action=EventAction(action),
        from_status=from_status,
        to_status=to_status,
        reason=str(reason or ""),
        data=data or {},
    )
    claim_event_recorded.send(sender=ClaimEvent, event=event)
    return event


def record_events(events: Iterable[ClaimEvent]) -> list[ClaimEvent]:
    """`record_event` for many events at once: one INSERT, then one announcement of them all
    (`signals.claim_events_recorded`), so that their receivers read what they need in bulk
    too. For the services that decide many claims in one transaction."""
    events = list(events)
    for event in events:
        event.action = EventAction(event.action)  # as `record_event`: only the actions History knows
    return _announced(ClaimEvent.objects.bulk_create(events))


def _announced(events: list[ClaimEvent]) -> list[ClaimEvent]:
    if events:
        claim_events_recorded.send(sender=ClaimEvent, events=events)
    return events


# The columns `record_event_rows` writes, in the order of its rows after the claim.
EVENT_ROW_FIELDS = ("action", "from_status", "to_status", "reason", "data")


def record_event_rows(rows: Sequence[tuple[Claim, str, str, str, str, dict]]) -> list[ClaimEvent]:
    """`record_events` for the services that decide thousands of claims a pass (the timer's
    and the subscription checks' sets), given rows (claim, action, from_status, to_status,
    reason, data) rather than events: on PostgreSQL one INSERT from arrays, the events
    built only once written (Django's model instances and `bulk_create`'s preparation of
    each field cost as much as the INSERT itself). The same rows, the same announcement."""
    rows = [(claim, EventAction(action), *rest) for claim, action, *rest in rows]  # as `record_event`
    if connection.vendor != "postgresql":
        fields = ("claim", *EVENT_ROW_FIELDS)
        return record_events(ClaimEvent(**dict(zip(fields, row, strict=True))) for row in rows)
    if not rows:
        return []
    now = timezone.now()
    # Names from the model, never from the rows: the rows are parameters.
    sql = "INSERT INTO {table} (claim_id, {columns}, created_at) SELECT row.*, %s FROM unnest({arrays}) AS row"
    sql = sql.format(
        table=ClaimEvent._meta.db_table,
        columns=", ".join(EVENT_ROW_FIELDS),
        arrays="%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[]",
    )
    sql += " RETURNING id"
    claims, *texts, data = zip(*rows, strict=True)  # one column a field: the arrays UNNEST reads
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                now,
                [claim.pk for claim in claims],
                *([str(value) for value in column] for column in texts),
                [json.dumps(value) for value in data],
            ],
        )
        ids = [event_id for (event_id,) in cursor.fetchall()]  # in the order of the rows, as bulk_create's
    names = ("id", "claim_id", "actor_id", *EVENT_ROW_FIELDS, "created_at")
    events = []
    for event_id, (claim, action, from_status, to_status, reason, data) in zip(ids, rows, strict=True):
        values = (event_id, claim.pk, None, action, from_status, to_status, reason, data, now)
        event = ClaimEvent.from_db(connection.alias, names, values)
        event._state.fields_cache["claim"] = claim  # as `ClaimEvent(claim=claim)`: receivers read it
        events.append(event)
    return _announced(events)


def _invalid_transition(from_status: str, to_status: str) -> InvalidTransition:
    return InvalidTransition(
        _("A claim cannot go from %(from)s to %(to)s.")
        % {"from": ClaimStatus(from_status).label, "to": ClaimStatus(to_status).label}
    )


def transition(claim: Claim, to_status: str, *, action: EventAction, actor=None, reason="", data=None, fields=()):
    """Move a locked claim to `to_status`, saving `fields` too, and log it.

    Raises InvalidTransition (and changes nothing) when the table does not allow it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic()")
    from_status = claim.status
    if not can_transition(from_status, to_status):
        raise _invalid_transition(from_status, to_status)
    claim.status = to_status
    claim.save(update_fields=["status", "updated_at", *fields])
    return record_event(
        claim, action=action, actor=actor, from_status=from_status, to_status=to_status, reason=reason, data=data
    )


def transition_many(claims: Sequence[Claim], to_status: str, *, action: EventAction, reason="", changes=None):
    """`transition` for many locked claims moving to the same status with the same field
    `changes` (a dict): one UPDATE and one INSERT of their events, whatever their number.

    Raises InvalidTransition (and changes nothing) when the table does not allow it for any
    of them. Returns the events, in the order of `claims`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition_many() must run inside transaction.atomic()")
    claims = list(claims)
    for claim in claims:
        if not can_transition(claim.status, to_status):
            raise _invalid_transition(claim.status, to_status)
    values = {"status": to_status, "updated_at": timezone.now(), **(changes or {})}
    Claim.objects.filter(pk__in=[claim.pk for claim in claims]).update(**values)
    rows = [(claim, action, claim.status, to_status, str(reason or ""), {}) for claim in claims]
    for claim in claims:
        for field, value in values.items():
            setattr(claim, field, value)
    return record_event_rows(rows)


def items_move_from(item_ids: Sequence[int], from_outcome: str, to_outcome: str, *, now: datetime.datetime) -> None:
    """`item_move` for many items the caller read in `from_outcome` under their claims' row
    locks (the timer's and the subscription checks' sets): one UPDATE, no re-read, the
    outcome checked in its WHERE clause. A move the table forbids is a programming error
    (ValueError); an item no longer in `from_outcome` means someone moved it without its
    claim's lock (RuntimeError, and no item changes): the sets roll back and go one by one."""
    if not can_move(from_outcome, to_outcome):
        raise ValueError(f"Items cannot go from {from_outcome} to {to_outcome}.")
    decided_at = now if to_outcome in DECIDED_OUTCOMES else None
    expected = len(set(item_ids))
    with transaction.atomic():
        moved = ClaimItem.objects.filter(pk__in=item_ids, outcome=from_outcome).update(
            outcome=to_outcome, decided_at=decided_at
        )
        if moved != expected:
            raise RuntimeError(f"{expected - moved} of {expected} items were no longer {from_outcome}.")


def status_from_items(claim: Claim) -> str:
    """The status a claim's items summarise (PRODUCT.md section 5).

    While any item is pending or contested the claim keeps its review status; once every
    item is decided it is Approved if any item is approved, else Rejected; an Approved
    claim none of whose items is still approved has Ended.
    """
    outcomes = set(claim.items.values_list("outcome", flat=True))
    if claim.status == ClaimStatus.APPROVED:
        return ClaimStatus.APPROVED if ItemOutcome.APPROVED in outcomes else ClaimStatus.ENDED
    if claim.status not in REVIEW_STATUSES:
        return claim.status
    if outcomes & {ItemOutcome.PENDING, ItemOutcome.CONTESTED} or not outcomes:
        return claim.status
    return ClaimStatus.APPROVED if ItemOutcome.APPROVED in outcomes else ClaimStatus.REJECTED


def settle(claim: Claim, *, action: EventAction, actor=None, reason="", data=None, fields=()):
    """After item outcomes changed, move a locked claim to the status its items summarise.

    Returns the event written, or None when the status stays as it is.
    """
    target = status_from_items(claim)
    if target == claim.status:
        return None
    return transition(claim, target, action=action, actor=actor, reason=reason, data=data, fields=fields)


def item_move(items: Iterable[ClaimItem], to_outcome: str, *, now: datetime.datetime | None = None) -> list[ClaimItem]:
    """Move items to `to_outcome`, as the item transition table allows.

    The one place an item's outcome changes. The caller holds the row lock of the items'
    claims; the outcomes checked are the ones in the database now, not the caller's copies.
    If any item may not make the move, InvalidTransition is raised and no item changes.
    A decision (approved, rejected, ended) stamps `decided_at` with `now`; going back to
    pending or contested clears it. Returns the items, updated in memory too.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("item_move() must run inside transaction.atomic()")
    items = list(items)
    if not items:
        return items
    current = dict(ClaimItem.objects.filter(pk__in=[item.pk for item in items]).values_list("pk", "outcome"))
    for item in items:
        from_outcome = current.get(item.pk, item.outcome)
        if not can_move(from_outcome, to_outcome):
            raise InvalidTransition(
                _("%(item)s cannot go from %(from)s to %(to)s.")
                % {"item": item.label, "from": ItemOutcome(from_outcome).label, "to": ItemOutcome(to_outcome).label}
            )
    decided_at = (now or timezone.now()) if to_outcome in DECIDED_OUTCOMES else None
    ClaimItem.objects.filter(pk__in=[item.pk for item in items]).update(outcome=to_outcome, decided_at=decided_at)
    for item in items:
        item.outcome = to_outcome
        item.decided_at = decided_at
    return items
