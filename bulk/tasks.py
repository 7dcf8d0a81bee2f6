"""Celery tasks for bulk claims: thin, take IDs, call a service."""

import logging

from celery import shared_task
from django.db import transaction

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="bulk.process_upload", acks_late=True)
def process_upload(upload_id: int) -> int:
    """Split the upload into parts and queue each; the workers check them side by side."""
    parts = services.bulk_upload_parts(upload_id=upload_id)
    for part in range(parts):
        process_upload_part.delay(upload_id, part, parts)
    return parts


@shared_task(name="bulk.process_upload_part", acks_late=True)
def process_upload_part(upload_id: int, part: int, parts: int) -> int:
    return services.bulk_upload_process(upload_id=upload_id, part=part, parts=parts)


def enqueue_processing(upload_id: int) -> None:
    """Queue an upload once its row is committed. If the broker is unreachable the upload
    waits, and the periodic job runs it."""

    def _delay():
        try:
            process_upload.delay(upload_id)
        except Exception:  # the broker being down must never lose an upload
            logger.exception("Could not enqueue bulk upload %s; the periodic job will.", upload_id)

    transaction.on_commit(_delay)
