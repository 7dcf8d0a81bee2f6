"""Celery tasks for partner notifications: thin, take IDs, call a service."""

import logging

from celery import shared_task
from django.db import transaction

from cpor import tasking

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    name="notifications.notify_event",
    # A few emails of at most EMAIL_TIMEOUT each; past the soft limit the periodic job catches up.
    soft_time_limit=120,
    time_limit=150,
    acks_late=True,
    autoretry_for=services.TRANSIENT_EMAIL_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def notify_event(event_id: int) -> int:
    """Notifications and emails for one claim event; a retry sends only what is still unsent."""
    return services.event_emails_send(event_id=event_id)


def enqueue_event_notification(event_id: int) -> None:
    """The entry point from the claim lifecycle, for every event; it decides nothing itself.

    Queued once the transaction that wrote the event has committed (at once outside one);
    an event recorded by a worker task is handled by that task when it ends, not by another
    task (`cpor.tasking`). If the broker is unreachable the event still stands: the periodic
    job's `services.notify_pending_events` catches up.
    """

    def _delay():
        try:
            notify_event.delay(event_id)
        except Exception:  # the broker being down must never undo the change that was notified
            logger.exception("Could not enqueue the notification of claim event %s; the periodic job will.", event_id)

    transaction.on_commit(
        lambda: tasking.followup(run_here=lambda: services.event_emails_send(event_id=event_id), queue=_delay)
    )
