"""Celery tasks of the partner side (account emails): thin, call a service."""

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


@shared_task(name="cpor.invitation_email_send", acks_late=True)
def invitation_email_send(user_id: int, invited_by_id: int) -> bool:
    return services.invitation_email_send(user_id=user_id, invited_by_id=invited_by_id)


def enqueue_invitation_email(user_id: int, invited_by_id: int) -> None:
    """Call it after commit. If the broker is unreachable the user still exists and the
    Global admin can send the invitation again from the Users page."""
    try:
        invitation_email_send.delay(user_id, invited_by_id)
    except Exception:  # the broker being down must not turn the answer into an error page
        logger.exception("Could not enqueue the invitation email of user %s.", user_id)
