"""Telling partners about their claims (PRODUCT.md section 6).

For every claim event the partner is told about (`texts.is_notified`), each active user of
the claim's partner gets an on-site notification, and the claim's partner contact and its
creator get one email each, in their language. Everything is keyed on the event, so that
handling an event again (a task retried, the periodic catch-up) creates and sends nothing
twice.
"""

import logging
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from claims.models import ClaimEvent
from cpor import outbox
from cpor.models import User

from . import texts
from .models import CatchUpMark, Notification, PartnerEmail

logger = logging.getLogger(__name__)

# Transient failures of the mail server: worth trying again later.
TRANSIENT_EMAIL_ERRORS = (SMTPException, OSError)
# How far back the periodic job looks for events and emails it must still handle. How often
# an address is tried is the outbox policy's (settings.OUTBOX_MAX_ATTEMPTS).
CATCH_UP_WINDOW = timedelta(days=7)
# A claim event is committed within seconds of being written (a task's time limit is
# minutes): once this old, every event before it is visible, and the catch-up mark may
# pass it.
CATCH_UP_SETTLE = timedelta(minutes=10)


def _recipients(claim) -> dict[str, str]:
    """{address: language} for the partner contact and the claim's creator, one entry per
    address. Each reads in their own user's language; an address that is no user's reads in
    the creator's language."""
    creator = claim.created_by
    fallback = creator.language if creator is not None else settings.LANGUAGE_CODE
    addresses = [claim.partner_contact_email]
    if creator is not None and creator.is_active:
        addresses.append(creator.email)
    recipients: dict[str, str] = {}
    for address in addresses:
        address = (address or "").strip().lower()
        if not address or address in recipients:
            continue
        if creator is not None and creator.is_active and address == creator.email.strip().lower():
            recipients[address] = creator.language  # read with the event already
            continue
        user = User.objects.filter(email__iexact=address, is_active=True).only("language").first()
        recipients[address] = user.language if user is not None else fallback
    return recipients


def event_notify(*, event_id: int) -> list[int]:
    """Record the notifications and the emails owed for one claim event, and return the ids
    of its emails still to send. Safe to run any number of times."""
    with transaction.atomic():
        event = ClaimEvent.objects.select_related("claim", "claim__created_by").filter(pk=event_id).first()
        if event is None or not texts.is_notified(event):
            return []
        claim = event.claim
        users = User.objects.filter(is_active=True, membership__partner_id=claim.partner_id)
        user_ids = users.values_list("pk", flat=True)
        Notification.objects.bulk_create(
            [Notification(user_id=user_id, claim=claim, event=event) for user_id in user_ids],
            ignore_conflicts=True,
        )
        PartnerEmail.objects.bulk_create(
            [
                PartnerEmail(event=event, recipient=address, language=language)
                for address, language in _recipients(claim).items()
            ],
            ignore_conflicts=True,
        )
    return list(PartnerEmail.objects.filter(event=event, sent_at__isnull=True).values_list("pk", flat=True))


def claim_url(claim) -> str:
    return f"{settings.SITE_URL}{reverse('claims:detail', args=[claim.pk])}"


def render_partner_email(partner_email: PartnerEmail) -> EmailMultiAlternatives:
    """The email about one event, text and HTML, in the recipient's language."""
    event = partner_email.event
    claim = event.claim
    with translation.override(partner_email.language):
        context = {
            "claim": claim,
            "event": event,
            "text": texts.describe(event),
            "claim_url": claim_url(claim),
            "notifications_url": f"{settings.SITE_URL}{reverse('notifications:list')}",
        }
        subject = render_to_string("notifications/email/event_subject.txt", context)
        body = render_to_string("notifications/email/event.txt", context)
        html = render_to_string("notifications/email/event.html", context)
    message = EmailMultiAlternatives(
        " ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [partner_email.recipient]
    )
    message.attach_alternative(html, "text/html")
    return message


def partner_email_send(*, email_id: int) -> bool:
    """Send one partner email by the outbox policy (cpor/outbox.py); True if it was sent now.

    The row is claimed and committed, the email sent outside any transaction with a stable
    Message-ID, then the row marked sent; a failure is recorded on the row (attempts, last
    error, next attempt) and raised for the caller to retry, until the attempts run out.
    """

    def send(partner_email: PartnerEmail) -> None:
        message = render_partner_email(partner_email)
        message.extra_headers["Message-ID"] = outbox.message_id("partner-email", partner_email.pk)
        message.send()

    # What the email shows of the claim, read with the row.
    rows = PartnerEmail.objects.select_related("event__claim__partner", "event__claim__mpn", "event__claim__tenant")
    return outbox.outbox_send(PartnerEmail, email_id, send=send, rows=rows)


def event_emails_send(*, event_id: int) -> int:
    """Record what the event owes and send its unsent emails; raises the first transient
    failure (after trying every address) so that the task retries."""
    failure = None
    sent = 0
    for email_id in event_notify(event_id=event_id):
        try:
            sent += partner_email_send(email_id=email_id)
        except TRANSIENT_EMAIL_ERRORS as error:
            failure = failure or error
    if failure is not None:
        raise failure
    return sent


def emails_retry_unsent() -> int:
    """The periodic job's pass over partner emails not sent yet (the mail server was down
    for longer than the task's retries); returns how many went out."""
    since = timezone.now() - CATCH_UP_WINDOW
    pending = PartnerEmail.objects.filter(outbox.due(timezone.now()), created_at__gte=since).values_list(
        "pk", flat=True
    )
    sent = 0
    for email_id in list(pending):
        try:
            sent += partner_email_send(email_id=email_id)
        except TRANSIENT_EMAIL_ERRORS:
            logger.warning("Partner email %s could not be sent; it will be tried again.", email_id, exc_info=True)
    return sent


def notify_pending_events() -> int:
    """The periodic job's catch-up for events whose task never ran (the broker was down):
    recent notified events with neither a notification nor an email yet. Returns how many
    events were handled; their emails go out with `emails_retry_unsent`.

    Only the events after the catch-up mark are read, through the primary key: the mark
    moves past every event older than `CATCH_UP_SETTLE` once it is handled, so the scan
    never reads the whole event table. An event that fails keeps the mark before it, and is
    tried again on the next pass."""
    now = timezone.now()
    since = now - CATCH_UP_WINDOW
    mark = CatchUpMark.objects.get_or_create(pk=1)[0].last_event_id
    unseen = ClaimEvent.objects.filter(pk__gt=mark, created_at__gte=since)
    # Read before the pending events below, so that they cover every event it counts.
    settled = unseen.filter(created_at__lt=now - CATCH_UP_SETTLE).aggregate(last=Max("pk"))["last"]
    pending = (
        texts.notified_events()
        .filter(pk__gt=mark, created_at__gte=since)
        .filter(
            ~Exists(Notification.objects.filter(event=OuterRef("pk"))),
            ~Exists(PartnerEmail.objects.filter(event=OuterRef("pk"))),
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    handled = 0
    for event_id in list(pending):
        try:
            event_notify(event_id=event_id)
        except Exception:
            logger.exception("Periodic job partner_notifications: event %s failed; will retry.", event_id)
            if settled is not None and event_id <= settled:
                settled = event_id - 1
            continue
        handled += 1
    if settled is not None and settled > mark:
        CatchUpMark.objects.filter(pk=1, last_event_id__lt=settled).update(last_event_id=settled, updated_at=now)
    return handled


# --- The user's notifications -----------------------------------------------------------


def notification_mark_read(*, user, notification_id: int) -> None:
    Notification.objects.filter(pk=notification_id, user=user, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
