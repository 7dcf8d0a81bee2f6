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


# The retries of `notify_event`, for the task that notifies several events at once.
RETRIED_AS_NOTIFY_EVENT = {
    "acks_late": True,
    "autoretry_for": services.TRANSIENT_EMAIL_ERRORS,
    "retry_backoff": True,
    "max_retries": 5,
}

# Events a task handles when many were written together (a set of the approval timer's, up
# to 2,000 claims and 4,000 events): few tasks, since queueing one costs milliseconds on a loaded machine, each
# well within its time limit (an event's notifications and emails take tens of milliseconds).
EVENTS_PER_TASK = 500


@shared_task(name="notifications.notify_events", soft_time_limit=600, time_limit=660, **RETRIED_AS_NOTIFY_EVENT)
def notify_events(event_ids: list[int]) -> int:
    """`notify_event` for events written together; a failing address fails the task only
    after every event was tried, and the retry sends only what is still unsent."""
    failure, sent = None, 0
    for event_id in event_ids:
        try:
            sent += services.event_emails_send(event_id=event_id)
        except services.TRANSIENT_EMAIL_ERRORS as error:
            failure = failure or error
    if failure is not None:
        raise failure
    return sent


def enqueue_events_notification(event_ids: list[int]) -> None:
    """`enqueue_event_notification` for events written together, `EVENTS_PER_TASK` a task:
    always queued, never run by the task that recorded them (`cpor.tasking`), since they
    are many (the approval timer's sets, run by the periodic job)."""

    def _delay():
        for start in range(0, len(event_ids), EVENTS_PER_TASK):
            chunk = event_ids[start : start + EVENTS_PER_TASK]
            try:
                notify_events.delay(chunk)
            except Exception:  # the broker being down must never undo the change that was notified
                logger.exception("Could not enqueue the notification of claim events %s; the periodic job will.", chunk)

    transaction.on_commit(_delay)
