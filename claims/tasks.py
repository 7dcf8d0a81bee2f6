"""Celery tasks: thin, take IDs, call a service. (Filled in by the pipeline work.)"""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="claims.validate_claim", acks_late=True)
def validate_claim(claim_id: int) -> None:
    from . import pipeline

    pipeline.claim_validate(claim_id=claim_id)


def enqueue_validation(claim_id: int) -> None:
    """The single entry point from submission to the pipeline; call it after commit.

    If the broker is unreachable the submission still stands: the periodic job picks up
    every claim left in Submitted.
    """
    try:
        validate_claim.delay(claim_id)
    except Exception:  # the broker being down must never undo a submission
        logger.exception("Could not enqueue validation of claim %s; the periodic job will pick it up.", claim_id)
