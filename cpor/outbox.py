"""One way to send an email written to an outbox row (customer notices, partner emails).

The policy, the same for every outbox:

1. *Claim* the row and commit: one UPDATE takes a lease (`claimed_until`) and counts the
   attempt, only if the row is unsent, due (`next_attempt_at`), not leased by another worker
   and not failed. Nothing is held while the mail server answers: a mail server taking
   seconds and a database that ends idle transactions cannot make a row go out twice or
   lose its attempt count.
2. *Send* outside any transaction, with a Message-ID derived from the row, the same on
   every attempt, so that a receiver can tell a repeat from a new email.
3. *Mark* the row sent (with what the sender wants done in the same transaction), or record
   the error and when to try again, with exponential backoff.

After `OUTBOX_MAX_ATTEMPTS` attempts an unsent row is failed: it is never tried again
until an operator retries it from the admin (`outbox_retry`).

An outbox model has the fields `sent_at`, `attempts`, `last_error`, `next_attempt_at` and
`claimed_until`.
"""

import datetime
from collections.abc import Callable

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# How long a claimed row is left to its worker before another may take it (a lost worker).
LEASE = datetime.timedelta(minutes=5)
BACKOFF_MAX = datetime.timedelta(hours=6)


def max_attempts() -> int:
    return settings.OUTBOX_MAX_ATTEMPTS


def backoff(attempts: int) -> datetime.timedelta:
    """The wait after the `attempts`-th failed attempt: the base (a minute), then twice as
    long each time, at most six hours."""
    base = datetime.timedelta(seconds=settings.OUTBOX_BACKOFF_SECONDS)
    return min(base * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def message_id(kind: str, row_id: int) -> str:
    """A Message-ID the same on every attempt of the row."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "cpor.invalid"
    return f"<cpor-{kind}-{row_id}@{domain}>"


def unsent() -> Q:
    return Q(sent_at__isnull=True)


def failed() -> Q:
    """Unsent rows that used every attempt."""
    return Q(sent_at__isnull=True, attempts__gte=max_attempts())


def due(now: datetime.datetime) -> Q:
    """Unsent rows that may be tried now: not failed, their backoff over, not leased."""
    return (
        Q(sent_at__isnull=True, attempts__lt=max_attempts())
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


def outbox_claim(model: type[models.Model], row_id: int, *, now: datetime.datetime) -> bool:
    """Take the row for one attempt and commit it (step 1); False if it is not ours to send."""
    with transaction.atomic():
        taken = model.objects.filter(due(now), pk=row_id).update(claimed_until=now + LEASE, attempts=F("attempts") + 1)
    return taken == 1


def outbox_send(
    model: type[models.Model],
    row_id: int,
    *,
    send: Callable[[models.Model], None],
    when_sent: Callable[[models.Model, datetime.datetime], None] | None = None,
    now: datetime.datetime | None = None,
    rows: models.QuerySet | None = None,
) -> bool:
    """Send one row by the outbox policy; True if it was sent now, False if it was not due or
    another worker has it. `send(row)` sends the email (outside any transaction), the row
    read through `rows` (with what the email shows) once claimed; `when_sent(row, sent_at)`
    runs in the transaction that marks the row sent, `sent_at` being `now`, the attempt's
    moment. A failure is recorded on the row and raised for the caller."""
    now = now or timezone.now()
    if not outbox_claim(model, row_id, now=now):
        return False
    row = (rows if rows is not None else model.objects).get(pk=row_id)
    try:
        send(row)
    except Exception as error:
        model.objects.filter(pk=row_id, sent_at__isnull=True).update(
            last_error=f"{type(error).__name__}: {error}"[:1000],
            claimed_until=None,
            next_attempt_at=timezone.now() + backoff(row.attempts),
        )
        raise
    with transaction.atomic():
        # Stamped with the attempt's moment: what the email said (a deadline counted from it) holds.
        model.objects.filter(pk=row_id).update(sent_at=now, last_error="", claimed_until=None, next_attempt_at=None)
        if when_sent is not None:
            when_sent(row, now)
    return True


def outbox_retry(queryset) -> int:
    """An operator's retry of failed (or waiting) rows: a fresh set of attempts, due now."""
    return queryset.filter(unsent()).update(attempts=0, next_attempt_at=None, claimed_until=None)


def outbox_state(row) -> str:
    """Waiting, Sent or Failed, as the admin shows it."""
    if row.sent_at is not None:
        return str(_("Sent"))
    if row.attempts >= max_attempts():
        return str(_("Failed"))
    return str(_("Waiting"))
