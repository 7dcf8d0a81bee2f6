"""The customer notice (PRODUCT.md section 5, step 2): its outbox rows, the signed opt-out
link, what it says and how it is sent. Sending the customer contact's notice starts the
opt-out window; the opt-out itself is `pipeline.claim_opt_out`'s."""

import datetime
import logging
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from cpor import outbox, tasking
from cpor.periodic import each_on_its_own

from . import deadlines
from .events import EventAction
from .lifecycle import lock_claim, record_event
from .models import REVIEW_STATUSES, Claim, ClaimItem, CustomerEmail

logger = logging.getLogger(__name__)

OPT_OUT_SALT = "cpor.claims.opt-out"
SEND_CUSTOMER_EMAILS_TASK = "claims.send_customer_emails"
SEND_CUSTOMER_EMAILS_OF_MANY_TASK = "claims.send_customer_emails_of_many"
# Claims whose notices one task sends, when many were validated together: a few hundred
# emails, well within the task's time limit.
CLAIMS_PER_EMAIL_TASK = 100


def queue_customer_notices(claim: Claim) -> None:
    """One outbox row per distinct recipient, in the transaction that puts the claim under
    review: the customer contact, the technical contact (Dynamics 365) and each of the
    tenant's own notification addresses from the directory. An address that is also a
    contact's is written once, with the contact's role."""
    queue_customer_notices_of_many([claim])


def queue_customer_notices_of_many(claims: list[Claim]) -> None:
    """`queue_customer_notices` for claims put under review together: one INSERT for all their
    rows, and their emails sent by the task that validated them (a few) and by tasks of
    `CLAIMS_PER_EMAIL_TASK` claims (the rest), rather than a task a claim."""
    rows = [row for claim in claims for row in _customer_notice_rows(claim)]
    # One statement; a row that exists already (the claim validated before) is kept as it is.
    CustomerEmail.objects.bulk_create(rows, ignore_conflicts=True)
    claim_ids = [claim.pk for claim in claims]
    # Sent by the worker task that validated the claims, when it ends; queued from anywhere else.
    transaction.on_commit(
        lambda: tasking.followup_each(
            claim_ids, run_here=lambda claim_id: customer_emails_send(claim_id=claim_id), queue=_enqueue_customer_emails
        )
    )


def _customer_notice_rows(claim: Claim) -> list[CustomerEmail]:
    recipients = [(claim.customer_contact_email, CustomerEmail.Role.CUSTOMER)]
    if claim.needs_technical_contact and claim.technical_contact_email:
        recipients.append((claim.technical_contact_email, CustomerEmail.Role.TECHNICAL))
    recipients += [(address, CustomerEmail.Role.DIRECTORY) for address in claim.tenant.notification_emails or ()]
    rows: dict[str, CustomerEmail] = {}
    for address, role in recipients:
        address = address.strip().lower()
        if address and address not in rows:
            rows[address] = CustomerEmail(
                claim=claim, recipient=address, purpose=CustomerEmail.Purpose.OPT_OUT_NOTICE, role=role
            )
    return list(rows.values())


def _enqueue_customer_emails(claim_ids: list[int]) -> None:
    # By name: the tasks module calls this one, so importing it back would make a cycle. One
    # claim keeps its own task (a retry is about that claim only); claims validated together
    # go `CLAIMS_PER_EMAIL_TASK` a task.
    for start in range(0, len(claim_ids), CLAIMS_PER_EMAIL_TASK):
        chunk = claim_ids[start : start + CLAIMS_PER_EMAIL_TASK]
        try:
            if len(chunk) == 1:
                current_app.send_task(SEND_CUSTOMER_EMAILS_TASK, args=(chunk[0],))
            else:
                current_app.send_task(SEND_CUSTOMER_EMAILS_OF_MANY_TASK, args=(chunk,))
        except Exception:  # the broker being down must not lose the email: the periodic job retries
            logger.exception(
                "Could not enqueue the customer emails of claims %s; the periodic job will send them.", chunk
            )


def customer_emails_send_of_many(*, claim_ids: list[int]) -> int:
    """`customer_emails_send` for each claim; a claim whose emails fail leaves the others
    going, and the first failure is raised at the end for the task to retry (a retry sends
    only what is still unsent)."""
    failure, sent = None, 0
    for claim_id in claim_ids:
        try:
            sent += customer_emails_send(claim_id=claim_id)
        except Exception as error:
            logger.warning("Customer emails of claim %s failed; they will be tried again.", claim_id, exc_info=True)
            failure = failure or error
    if failure is not None:
        raise failure
    return sent


def opt_out_token(claim: Claim) -> str:
    """Signed and unguessable; it names the claim and the claim's secret nonce."""
    return signing.dumps({"claim": claim.pk, "nonce": claim.opt_out_nonce.hex}, salt=OPT_OUT_SALT, compress=True)


def opt_out_url(claim: Claim) -> str:
    return settings.SITE_URL + reverse("optout", args=[opt_out_token(claim)])


def opt_out_token_data(token: str) -> tuple[int, str] | None:
    """(claim id, nonce) of a link we signed, or None when it was tampered with or forged."""
    try:
        data = signing.loads(token, salt=OPT_OUT_SALT)
        claim_id, nonce = data["claim"], data["nonce"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    if not isinstance(claim_id, int) or not isinstance(nonce, str):
        return None
    return claim_id, nonce


def claim_for_opt_out_token(token: str) -> Claim | None:
    """The claim a link names, or None when the link was tampered with or forged. A read for
    the page only: `claim_opt_out` checks the token again under the claim's lock."""
    data = opt_out_token_data(token)
    if data is None:
        return None
    claim_id, nonce = data
    claim = (
        Claim.objects.select_related("partner", "mpn", "tenant")
        .prefetch_related("items__product", "items__workload", "items__subscription")
        .filter(pk=claim_id)
        .first()
    )
    return claim if claim is not None and constant_time_compare(claim.opt_out_nonce.hex, nonce) else None


def customer_notice_context(claim: Claim) -> dict:
    tenant = claim.tenant
    local_deadline = timezone.localtime(claim.opt_out_deadline, timezone=ZoneInfo(tenant.time_zone))
    return {
        "claim": claim,
        "tenant": tenant,
        "partner": claim.partner,
        "mpn": claim.mpn,
        "items": sorted({item.label for item in claim.items.all()}),
        "deadline": local_deadline,
        "time_zone": tenant.time_zone,
    }


def customer_emails_send(*, claim_id: int) -> int:
    """Send the claim's unsent customer notices; returns how many were sent.

    The customer contact's notice goes first, and the moment it is sent starts the opt-out
    window (section 5, step 2): the deadline is computed from that moment, shown in the
    notice, and stored on the claim in the transaction that marks the notice sent. The
    other notices show that deadline, so they wait for it. A claim no longer in review
    (rejected meanwhile) is not announced to the customer any more.

    Each row goes by the outbox policy (cpor/outbox.py): claimed and committed, sent outside
    any transaction with a stable Message-ID, then marked sent (with the opt-out window and the
    event, in one transaction). A failure is kept on the row (attempts, last error, next
    attempt: the reviewers see it) and re-raised for the task to retry, until the attempts run
    out and the notice shows as failed in the admin.
    """
    sent = 0
    # The opt-out notices only: a disassociation notice has its own sender (claims.followup).
    unsent = CustomerEmail.objects.filter(
        claim_id=claim_id, sent_at__isnull=True, purpose=CustomerEmail.Purpose.OPT_OUT_NOTICE
    )
    rows = sorted(unsent.values_list("pk", "role"), key=lambda row: (row[1] != CustomerEmail.Role.CUSTOMER, row[0]))
    if not rows:
        return 0
    items = ClaimItem.objects.select_related("product", "workload", "subscription")
    claim = (
        Claim.objects.select_related("partner", "mpn", "tenant")
        .prefetch_related(Prefetch("items", queryset=items))
        .get(pk=claim_id)
    )
    for index, (row_id, role) in enumerate(rows):
        if index:
            # What may have changed since the claim was read: a decision, the window started.
            claim.status, claim.notified_at, claim.opt_out_deadline = Claim.objects.values_list(
                "status", "notified_at", "opt_out_deadline"
            ).get(pk=claim_id)
        if claim.status not in REVIEW_STATUSES:
            break
        starts_window = claim.notified_at is None
        if starts_window and role != CustomerEmail.Role.CUSTOMER:
            continue  # waits for the customer contact's notice, which sets the deadline it shows
        now = timezone.now()
        if starts_window:
            # The deadline the notice shows, stored when the notice is marked sent.
            claim.notified_at = now
            claim.opt_out_deadline = deadlines.opt_out_deadline(now, tenant=claim.tenant)

        def send(row, claim=claim):
            _send_customer_notice(claim, row.recipient, message_id=outbox.message_id("customer-notice", row.pk))

        def when_sent(row, sent_at, claim=claim, starts_window=starts_window):
            data = {"role": row.role}
            if starts_window:
                claim = _opt_out_window_start(claim.pk, notified_at=claim.notified_at, deadline=claim.opt_out_deadline)
                data["opt_out_deadline"] = claim.opt_out_deadline.isoformat()
            record_event(claim, action=EventAction.CUSTOMER_NOTIFIED, data=data)

        sent += outbox.outbox_send(CustomerEmail, row_id, send=send, when_sent=when_sent, now=now)
    return sent


def _opt_out_window_start(claim_id: int, *, notified_at: datetime.datetime, deadline: datetime.datetime) -> Claim:
    """Store when the customer was notified and the deadline the notice showed, under the
    claim's lock; a claim already notified or decided meanwhile keeps what it has."""
    claim = lock_claim(claim_id)
    if claim.notified_at is None and claim.status in REVIEW_STATUSES:
        claim.notified_at = notified_at
        claim.opt_out_deadline = deadline
        claim.save(update_fields=["notified_at", "opt_out_deadline", "updated_at"])
    return claim


def _send_customer_notice(claim: Claim, recipient: str, *, message_id: str) -> None:
    with (
        translation.override(claim.tenant.language or settings.LANGUAGE_CODE),
        timezone.override(ZoneInfo(claim.tenant.time_zone)),
    ):
        context = {**customer_notice_context(claim), "opt_out_url": opt_out_url(claim)}
        subject = _("%(partner)s claims to be your partner of record") % {"partner": claim.partner.name}
        text = render_to_string("claims/optout/email_notice.txt", context)
        html = render_to_string("claims/optout/email_notice.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[recipient], headers={"Message-ID": message_id})
    message.attach_alternative(html, "text/html")
    message.send()


def customer_emails_retry() -> int:
    """Send every customer notice still unsent (the broker was down, SMTP failed) of the
    claims in review."""
    claim_ids = set(
        CustomerEmail.objects.on_reviewers_desk()
        .filter(outbox.due(timezone.now()), purpose=CustomerEmail.Purpose.OPT_OUT_NOTICE)
        .values_list("claim_id", flat=True)
    )
    return each_on_its_own(
        claim_ids,
        lambda claim_id: customer_emails_send(claim_id=claim_id),
        failure="Customer email of claim %s could not be sent; will retry.",
        log=logger,
    )
