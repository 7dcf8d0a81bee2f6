"""Webhooks: the Global admin's endpoints, the outbox written with each claim event, and its
delivery (PRODUCT.md has no section on it; issue 11 section 2 is the rule).

- Every claim event the partner may see in History (never a reviewer's internal note) is
  POSTed as JSON to each active endpoint of the claim's partner that subscribes to it.
- The outbox row is written in the event's own transaction; the delivery is queued after
  commit, and the periodic job picks up whatever is due (a broker that was down, a retry).
- One attempt: claim the row and commit, POST outside any transaction, then record the
  response code or error. Failures are retried with exponential backoff up to
  `MAX_ATTEMPTS`, then the message is Failed; the partner may redeliver it, which makes it
  pending again with a fresh set of attempts. Every attempt is kept in the log.
"""

from __future__ import annotations

import datetime
import json
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.events import EventAction
from claims.lifecycle import ClaimError
from claims.models import Claim, ClaimEvent
from cpor import access

from . import delivery
from .models import MESSAGE_TRANSITIONS, MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 6 * 3600
# A worker holds a message this long for one attempt (the POST takes at most 8 s).
CLAIM_SECONDS = 60
MAX_ENDPOINTS_PER_PARTNER = 10

# What an endpoint may subscribe to: every action recorded on claims, by its History label.
EVENT_TYPES: dict[str, object] = dict(EventAction.choices)
# What a new endpoint subscribes to unless the admin chooses otherwise: the status changes
# and item decisions the partner is notified of.
DEFAULT_EVENT_TYPES = (
    EventAction.SUBMITTED,
    EventAction.VALIDATED,
    EventAction.VALIDATION_FAILED,
    EventAction.COMPETING_CLAIM,
    EventAction.INFORMATION_REQUESTED,
    EventAction.PARTNER_RESPONDED,
    EventAction.OPTED_OUT,
    EventAction.APPROVED,
    EventAction.ITEM_APPROVED,
    EventAction.ITEM_REJECTED,
    EventAction.ITEM_ENDED,
    EventAction.ARBITRATION_WON,
    EventAction.REJECTED,
    EventAction.ENDED,
    # After the decision (issue 9).
    EventAction.DISPUTED,
    EventAction.DISPUTE_UPHELD,
    EventAction.DISPUTE_OVERTURNED,
    EventAction.DISASSOCIATED,
    EventAction.RESPONSE_REMINDER,
)


class WebhookError(ClaimError):
    """A domain error on webhooks: said to the user, nothing changed."""


# --- Guards ----------------------------------------------------------------------------


def _admin_partner(user):
    """Only a Global admin manages the partner's webhooks (403 for any other role)."""
    return access.partner_acting_in_role(user, access.MANAGE_USERS)


def _lock_own_endpoint(partner, endpoint_id) -> WebhookEndpoint:
    return access.lock_or_404(WebhookEndpoint.objects, pk=endpoint_id, partner=partner)


def _checked_events(events) -> list[str]:
    chosen = [event for event in dict.fromkeys(events or ()) if event in EVENT_TYPES]
    if not chosen or len(chosen) != len(set(events or ())):
        raise WebhookError(_("Choose at least one event from the list."))
    return chosen


def _checked_url(url: str) -> str:
    try:
        return delivery.check_url(url)
    except delivery.EndpointRefused as refused:
        raise WebhookError(refused.message) from refused


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


# --- Endpoints -------------------------------------------------------------------------


def webhook_endpoint_create(*, user, url: str, events, description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret, which the page shows once."""
    partner = _admin_partner(user)
    url = _checked_url(url)
    events = _checked_events(events)
    with transaction.atomic():
        # The partner row serialises concurrent creations, so the cap holds.
        type(partner).objects.select_for_update().filter(pk=partner.pk).first()
        if WebhookEndpoint.objects.filter(partner=partner).count() >= MAX_ENDPOINTS_PER_PARTNER:
            raise WebhookError(
                _("Your organisation can register at most %(count)d endpoints.") % {"count": MAX_ENDPOINTS_PER_PARTNER}
            )
        secret = new_secret()
        endpoint = WebhookEndpoint.objects.create(
            partner=partner,
            url=url,
            events=events,
            description=description.strip(),
            secret=secret,
            created_by=user,
        )
    return endpoint, secret


def webhook_endpoint_update(*, user, endpoint_id, url: str, events, description: str, is_active: bool):
    """Change an endpoint's address, events, description, or pause it (a paused endpoint
    gets no new messages; what is already in its outbox is still delivered)."""
    partner = _admin_partner(user)
    url = _checked_url(url)
    events = _checked_events(events)
    with transaction.atomic():
        endpoint = _lock_own_endpoint(partner, endpoint_id)
        endpoint.url, endpoint.events = url, events
        endpoint.description, endpoint.is_active = description.strip(), bool(is_active)
        endpoint.save(update_fields=["url", "events", "description", "is_active"])
    return endpoint


def webhook_endpoint_rotate_secret(*, user, endpoint_id) -> str:
    """A new signing secret, shown once; deliveries from now on are signed with it."""
    partner = _admin_partner(user)
    with transaction.atomic():
        endpoint = _lock_own_endpoint(partner, endpoint_id)
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret"])
    return endpoint.secret


def webhook_endpoint_delete(*, user, endpoint_id) -> None:
    """Remove an endpoint with its outbox and log."""
    partner = _admin_partner(user)
    with transaction.atomic():
        _lock_own_endpoint(partner, endpoint_id).delete()


# --- The outbox ---------------------------------------------------------------------------


def is_partner_visible(event: ClaimEvent) -> bool:
    """What History shows the partner: every event but those of reviewers' internal notes."""
    return not (event.data or {}).get("internal")


def event_payload(event: ClaimEvent, *, event_id) -> dict:
    """The JSON body. Only the claim's own fields and the event as History shows it: event
    data is never sent as such, since it may name another partner's claim."""
    claim = event.claim
    item = None
    item_id = (event.data or {}).get("item")
    if isinstance(item_id, int):
        own = claim.items.select_related("product", "subscription", "workload").filter(pk=item_id).first()
        if own is not None:
            item = {"label": own.label, "programme": own.program, "outcome": own.outcome}
    return {
        "id": str(event_id),
        "type": f"claim.{event.action}",
        "created_at": event.created_at.isoformat(),
        "claim": {
            "id": claim.pk,
            "name": claim.name,
            "status": claim.status,
            "mpn_id": claim.mpn.mpn_id,
            "domain": claim.domain,
            "tenant_id": str(claim.tenant_guid),
            "solution_area": claim.solution_area,
            "activity": claim.activity,
            "opt_out_deadline": claim.opt_out_deadline.isoformat() if claim.opt_out_deadline else None,
            "rejection_reason": claim.rejection_reason or None,
            "url": f"{settings.SITE_URL}{reverse('claims:detail', args=[claim.pk])}",
        },
        "event": {
            "action": event.action,
            "from_status": event.from_status or None,
            "to_status": event.to_status or None,
            "reason": event.reason or None,
            "item": item,
        },
    }


def webhook_messages_record(*, event: ClaimEvent) -> int:
    """Write the outbox rows for one claim event (inside its transaction) and queue their
    delivery after commit. Recording the same event twice writes nothing twice."""
    return webhook_messages_record_many(events=[event])


def webhook_messages_record_many(*, events) -> int:
    """`webhook_messages_record` for events written together (the approval timer's sets):
    the endpoints of all their partners are read in one query."""
    events = [event for event in events if is_partner_visible(event)]
    if not events:
        return 0
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    partner_ids = {event.claim.partner_id for event in events}
    for endpoint in WebhookEndpoint.objects.filter(partner_id__in=partner_ids, is_active=True).order_by("pk"):
        endpoints.setdefault(endpoint.partner_id, []).append(endpoint)
    # The claims as they are now, whole, for the bodies (a writer of many events may have
    # read only a few of their fields).
    claims = Claim.objects.select_related("mpn").in_bulk(
        {event.claim_id for event in events if event.claim.partner_id in endpoints}
    )
    created = []
    for event in events:
        if event.claim_id in claims:
            event.claim = claims[event.claim_id]
        for endpoint in endpoints.get(event.claim.partner_id, ()):
            if event.action not in endpoint.events:
                continue
            message = WebhookMessage(endpoint=endpoint, claim_event=event, event_type=f"claim.{event.action}")
            message.claim_id_sent = event.claim_id
            message.body = json.dumps(event_payload(event, event_id=message.event_id), separators=(",", ":"))
            message.next_attempt_at = timezone.now()
            try:
                with transaction.atomic():
                    message.save()
            except IntegrityError:
                continue
            created.append(message.pk)
    if created:
        from .tasks import enqueue_delivery

        for message_id in created:
            enqueue_delivery(message_id)
    return len(created)


# --- Delivery ---------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> int:
    """Exponential: 30 s after the first failure, then 1, 2, 4 min ..., at most 6 h."""
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def _move(message: WebhookMessage, to_status: str) -> None:
    if to_status not in MESSAGE_TRANSITIONS[message.status]:
        raise WebhookError(_("This delivery can't change from %(status)s.") % {"status": message.get_status_display()})
    message.status = to_status


def _claim_for_attempt(message_id, now) -> WebhookMessage | None:
    """Take the message for one attempt and commit, so that the POST runs outside any
    transaction and no other worker sends it meanwhile. None if it is not due."""
    with transaction.atomic():
        message = (
            WebhookMessage.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=message_id, status=MessageStatus.PENDING)
            .first()
        )
        if message is None or (message.next_attempt_at and message.next_attempt_at > now):
            return None
        if message.claimed_until and message.claimed_until > now:
            return None
        message.claimed_until = now + datetime.timedelta(seconds=CLAIM_SECONDS)
        message.attempts += 1
        message.save(update_fields=["claimed_until", "attempts"])
    return message


def webhook_message_deliver(*, message_id, now: datetime.datetime | None = None) -> WebhookAttempt | None:
    """One attempt at one due message: POST it signed, log the answer, and decide what next
    (delivered; retry later; or Failed after the last attempt). Running it twice at once, or
    for a message not due, does nothing."""
    now = now or timezone.now()
    message = _claim_for_attempt(message_id, now)
    if message is None:
        return None
    redelivery = message.attempts == 1 and message.attempt_log.exists()
    endpoint = message.endpoint
    timestamp = int(timezone.now().timestamp())
    outcome = delivery.post(
        endpoint.url,
        body=message.body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": delivery.USER_AGENT,
            delivery.SIGNATURE_HEADER: delivery.signature_header(endpoint.secret, timestamp, message.body),
            delivery.EVENT_ID_HEADER: str(message.event_id),
            delivery.EVENT_TYPE_HEADER: message.event_type,
        },
    )
    with transaction.atomic():
        message = WebhookMessage.objects.select_for_update().filter(pk=message.pk).first()
        if message is None:
            return None  # the endpoint was removed meanwhile, with its outbox
        attempt = WebhookAttempt.objects.create(
            message=message,
            attempted_at=timezone.now(),
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            redelivery=redelivery,
        )
        message.claimed_until = None
        fields = ["claimed_until", "status", "next_attempt_at", "delivered_at"]
        if attempt.succeeded:
            _move(message, MessageStatus.DELIVERED)
            message.delivered_at, message.next_attempt_at = timezone.now(), None
        elif message.attempts >= MAX_ATTEMPTS:
            _move(message, MessageStatus.FAILED)
            message.next_attempt_at = None
        else:
            message.next_attempt_at = now + datetime.timedelta(seconds=backoff_seconds(message.attempts))
        message.save(update_fields=fields)
    return attempt


def webhook_messages_deliver_due(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """The periodic job: one attempt at every pending message that is due (a retry whose
    time has come, or a message whose queued delivery never ran). Returns the attempts made."""
    now = now or timezone.now()
    due = list(
        WebhookMessage.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for message_id in due if webhook_message_deliver(message_id=message_id, now=now) is not None)


def webhook_message_redeliver(*, user, message_id) -> WebhookMessage:
    """The partner asks for a message again (their receiver lost it, or was down past the
    last retry): it is pending again, with a fresh set of attempts, and sent at once."""
    partner = _admin_partner(user)
    with transaction.atomic():
        message = access.lock_or_404(WebhookMessage.objects, pk=message_id, endpoint__partner=partner)
        if message.status == MessageStatus.PENDING:
            raise WebhookError(_("This delivery is already waiting to be sent."))
        _move(message, MessageStatus.PENDING)
        message.attempts = 0
        message.next_attempt_at = timezone.now()
        message.claimed_until = None
        message.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_until"])
        from .tasks import enqueue_delivery

        enqueue_delivery(message.pk)
    return message
