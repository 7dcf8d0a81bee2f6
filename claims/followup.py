"""After the decision (PRODUCT.md section 5, issue 9): the periodic jobs that follow a
claim's deadlines, and the customer's email when a partner disassociates.

- Reminders of a reviewer's request for information, 7 and 2 business days before the
  answer is due, each sent once per claim and deadline (`ClaimReminder`'s unique key).
- The "No response" rejection once the answer is overdue: the undecided items are rejected
  as a reviewer's rejection would (`review._reject_undecided`).
- The disassociation notice to the customer's contacts, one outbox row per recipient and
  purpose (`CustomerEmail.Purpose.DISASSOCIATION`), sent after commit and retried by a job.

Every job compares stored deadlines with `now` and is idempotent: a second pass changes
nothing.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpor import outbox
from cpor.periodic import each_on_its_own

from . import deadlines, review
from .events import EventAction
from .lifecycle import lock_claim, record_event
from .models import Claim, ClaimReminder, ClaimStatus, CustomerEmail, RejectionReason, ReminderKind

logger = logging.getLogger(__name__)

DISASSOCIATION = CustomerEmail.Purpose.DISASSOCIATION
REMINDER_KINDS = {7: ReminderKind.RESPONSE_7, 2: ReminderKind.RESPONSE_2}


# --- Answer deadline --------------------------------------------------------------------------


def _waiting_for_answer(**deadline) -> list[int]:
    """The claims waiting for the partner's answer to an information request, by `deadline`
    (a lookup on `response_due_at`), in ID order."""
    waiting = Claim.objects.filter(status=ClaimStatus.ACTION_REQUIRED, **deadline)
    return list(waiting.order_by("pk").values_list("pk", flat=True))


def _lock_waiting_for_answer(claim_id: int) -> Claim | None:
    """The claim, locked, while it waits for the partner's answer by a deadline; else None."""
    claim = lock_claim(claim_id)
    return claim if claim.status == ClaimStatus.ACTION_REQUIRED and claim.response_due_at is not None else None


def _due_reminders(claim: Claim, now: datetime.datetime) -> list[int]:
    """The reminders (in business days before the deadline) whose moment has come, latest first."""
    zone = review.claim_time_zone(claim)
    return [
        days
        for days in sorted(deadlines.RESPONSE_REMINDER_DAYS)
        if now
        >= deadlines.reminder_moment(claim.response_due_at, partner=claim.partner, days_before=days, time_zone=zone)
    ]


def claim_remind_response(*, claim_id: int, now: datetime.datetime | None = None) -> int | None:
    """Remind the partner that an answer is due; returns the reminder sent (days before), if any.

    When several are due at once (the job did not run for a while) only the nearest is
    sent, and the earlier ones are recorded as covered by it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        claim = _lock_waiting_for_answer(claim_id)
        if claim is None or now > claim.response_due_at:
            return None
        due = _due_reminders(claim, now)
        if not due:
            return None
        sent = None
        for days in due:
            try:
                with transaction.atomic():
                    ClaimReminder.objects.create(claim=claim, kind=REMINDER_KINDS[days], due_at=claim.response_due_at)
            except IntegrityError:
                continue  # already sent (or covered) for this deadline
            if sent is None:
                sent = days
        if sent is not None:
            record_event(
                claim,
                action=EventAction.RESPONSE_REMINDER,
                data={"days": sent, "response_due_at": claim.response_due_at.isoformat()},
            )
    return sent


def response_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """The reminders' pass: claims waiting for the partner whose answer is not yet overdue."""
    now = now or timezone.now()
    return each_on_its_own(
        _waiting_for_answer(response_due_at__gte=now),
        lambda claim_id: claim_remind_response(claim_id=claim_id, now=now) is not None,
        failure="Periodic job response_reminders: claim %s failed; will retry.",
        log=logger,
    )


def claim_reject_unanswered(*, claim_id: int, now: datetime.datetime | None = None) -> bool:
    """Once the answer is overdue, the claim's undecided items are rejected: "No response"."""
    now = now or timezone.now()
    with transaction.atomic():
        claim = _lock_waiting_for_answer(claim_id)
        if claim is None or now <= claim.response_due_at:
            return False
        review._reject_undecided(claim, actor=None, reason=RejectionReason.NO_RESPONSE, now=now)
    return True


def claims_reject_unanswered(*, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    return each_on_its_own(
        _waiting_for_answer(response_due_at__lt=now),
        lambda claim_id: claim_reject_unanswered(claim_id=claim_id, now=now),
        failure="Periodic job no_response: claim %s failed; will retry.",
        log=logger,
    )


# --- Disassociation notice to the customer ------------------------------------------------------


def queue_disassociation_emails(claim: Claim) -> None:
    """One outbox row per distinct recipient: the customer's contacts on the claim and the
    tenant's own notification addresses. Sent once the transaction commits."""
    recipients = [(claim.customer_contact_email, CustomerEmail.Role.CUSTOMER)]
    if claim.technical_contact_email:
        recipients.append((claim.technical_contact_email, CustomerEmail.Role.TECHNICAL))
    if claim.tenant_id:
        recipients += [(address, CustomerEmail.Role.DIRECTORY) for address in claim.tenant.notification_emails or ()]
    for address, role in recipients:
        address = (address or "").strip().lower()
        if address:
            CustomerEmail.objects.get_or_create(
                claim=claim,
                recipient=address,
                purpose=CustomerEmail.Purpose.DISASSOCIATION,
                defaults={"role": role},
            )
    claim_id = claim.pk
    transaction.on_commit(lambda: _send_quietly(claim_id))


def _send_quietly(claim_id: int) -> None:
    try:
        disassociation_emails_send(claim_id=claim_id)
    except Exception:  # kept on the row; the periodic job retries
        logger.exception("Disassociation email of claim %s could not be sent; will retry.", claim_id)


def disassociation_emails_send(*, claim_id: int) -> int:
    """Send the claim's disassociation notices that are due, by the outbox policy
    (cpor/outbox.py): claimed and committed, sent outside any transaction with a stable
    Message-ID, marked sent; a failure is kept on the row and raised once the others went."""
    sent = 0
    failure = None
    rows = CustomerEmail.objects.filter(outbox.due(timezone.now()), claim_id=claim_id, purpose=DISASSOCIATION)
    for row_id in list(rows.values_list("pk", flat=True)):
        claim = Claim.objects.select_related("partner", "mpn", "tenant").get(pk=claim_id)

        def send(row, claim=claim):
            _send_disassociation_notice(claim, row.recipient, message_id=outbox.message_id("disassociation", row.pk))

        try:
            sent += outbox.outbox_send(CustomerEmail, row_id, send=send)
        except Exception as error:  # recorded on the row by the outbox; the others still go
            failure = error
    if failure is not None:
        raise failure
    return sent


def _send_disassociation_notice(claim: Claim, recipient: str, *, message_id: str) -> None:
    tenant = claim.tenant
    language = (tenant.language if tenant else "") or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "claim": claim,
            "tenant": tenant,
            "partner": claim.partner,
            "mpn": claim.mpn,
            "items": sorted({item.label for item in claim.items.select_related("product", "subscription", "workload")}),
        }
        subject = _("%(partner)s is no longer your partner of record") % {"partner": claim.partner.name}
        body = render_to_string("claims/disassociation/email.txt", context)
    EmailMessage(subject=subject, body=body, to=[recipient], headers={"Message-ID": message_id}).send()


def disassociation_emails_retry() -> int:
    due = CustomerEmail.objects.filter(outbox.due(timezone.now()), purpose=DISASSOCIATION)
    return each_on_its_own(
        sorted(set(due.values_list("claim_id", flat=True))),
        lambda claim_id: disassociation_emails_send(claim_id=claim_id),
        failure="Disassociation email of claim %s could not be sent; will retry.",
        log=logger,
    )
