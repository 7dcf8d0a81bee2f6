"""Celery tasks of the partner side: thin, call a service."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="cpor.password_reset_email_send", acks_late=True)
def password_reset_email_send(email: str) -> int:
    """The address typed on the reset page, not a user ID: finding out whether it has an
    account is exactly what the web request must not do (see services.password_reset_request)."""
    return services.password_reset_emails_send(email=email)


def enqueue_password_reset_email(email: str) -> None:
    """Call it after commit. If the broker is unreachable the visitor is answered as usual and
    can ask again; the request is not failed for it."""
    try:
        password_reset_email_send.delay(email)
    except Exception:  # the broker being down must not turn the answer into an error page
        logger.exception("Could not enqueue a password reset email.")
