"""Celery tasks: thin, take IDs, re-read everything, call a service.

Each is idempotent (the services check the claim's status under a row lock), so a retry,
a redelivery after a worker died (acks_late) or a duplicate message is harmless.
"""

import logging
from smtplib import SMTPException

from celery import shared_task

from cpor import tasking

from . import notices, pipeline

logger = logging.getLogger(__name__)


# Time limits: validation reads the local directory only, in well under a second, and up to
# `pipeline.SETS_PER_TASK` sets of claims in seconds; the task then sends a few customer
# notices and partner emails (SMTP exchanges of at most EMAIL_TIMEOUT each), as an email pass
# does. Past the soft limit the task stops (a transaction still open rolls back) and the
# periodic jobs take the claims and their emails up.
@shared_task(name="claims.validate_claim", soft_time_limit=120, time_limit=150)
def validate_claim(claim_id: int) -> None:
    """Validate, then validate whatever else is still Submitted in sets (the tasks of those
    claims then find them validated and return at once). What the claim and the first set owe
    (customer notices, partner emails) is sent once committed, a few here and the rest in a
    few tasks (`cpor.tasking`); what further sets owe is queued as each commits, so that
    another worker process sends it while this one validates, and this task never sends more
    than `tasking.IN_PROCESS_MAX` follow-ups itself."""
    with tasking.followups_here():
        if pipeline.claim_validate(claim_id=claim_id) is None:
            return  # validated already, by a set most likely: one query, and that set's task drains the rest
        taken, _validated = pipeline.claims_validate_set()
    if taken == pipeline.SET_SIZE:  # more may be waiting
        pipeline.claims_validate_in_sets(sets=pipeline.SETS_PER_TASK - 1)


# A mail server that fails is tried again later, a few times, further and further apart.
RETRIED_AS_AN_EMAIL = {
    "autoretry_for": (SMTPException, ConnectionError, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="claims.send_customer_emails", soft_time_limit=120, time_limit=150, **RETRIED_AS_AN_EMAIL)
def send_customer_emails(claim_id: int) -> None:
    notices.customer_emails_send(claim_id=claim_id)


@shared_task(name="claims.send_customer_emails_of_many", soft_time_limit=300, time_limit=330, **RETRIED_AS_AN_EMAIL)
def send_customer_emails_of_many(claim_ids: list[int]) -> None:
    """`send_customer_emails` for claims validated together (`notices.CLAIMS_PER_EMAIL_TASK` of them)."""
    notices.customer_emails_send_of_many(claim_ids=claim_ids)


def enqueue_validation(claim_id: int) -> None:
    """The single entry point from submission to the pipeline; call it after commit.

    If the broker is unreachable the submission still stands: the periodic job picks up
    every claim left in Submitted.
    """
    try:
        validate_claim.delay(claim_id)
    except Exception:  # the broker being down must never undo a submission
        logger.exception("Could not enqueue validation of claim %s; the periodic job will pick it up.", claim_id)
