"""Celery tasks for webhooks: thin, take IDs, call a service."""

import logging

from celery import shared_task
from django.db import transaction

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver_message", acks_late=True)
def deliver_message(message_id: int) -> bool:
    """One attempt at one message; retries are the periodic job's (backoff is stored on the row)."""
    return services.webhook_message_deliver(message_id=message_id) is not None


def enqueue_delivery(message_id: int) -> None:
    """Queue one delivery once the transaction that wrote the message commits. If the broker
    is unreachable the message stays pending and the periodic job sends it."""

    def _delay():
        try:
            deliver_message.delay(message_id)
        except Exception:  # the broker being down must never undo the claim change
            logger.exception("Could not enqueue webhook message %s; the periodic job will.", message_id)

    transaction.on_commit(_delay)
