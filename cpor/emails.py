"""Account emails (invitation, password reset): text and HTML parts, in the recipient's
language, with links that start with SITE_URL."""

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "emails/accounts"


def absolute_url(path: str) -> str:
    """A link for an email: emails are read outside any request, so the host comes from SITE_URL."""
    return f"{settings.SITE_URL}{path}"


def token_url(url_name: str, user) -> str:
    """A one-time link built with Django's password-reset tokens: it stops working once the
    password changes (or the user signs in), and after PASSWORD_RESET_TIMEOUT."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(reverse(url_name, kwargs={"uidb64": uidb64, "token": token}))


def render_account_email(*, user, template: str, context: dict) -> EmailMultiAlternatives:
    """Render emails/accounts/<template>_subject.txt, <template>.txt and <template>.html in
    the user's language."""
    with translation.override(user.language):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"{TEMPLATE_DIR}/{template}_subject.txt", context)
        text = render_to_string(f"{TEMPLATE_DIR}/{template}.txt", context)
        html = render_to_string(f"{TEMPLATE_DIR}/{template}.html", context)
    # A subject must fit on one line.
    subject = " ".join(subject.split())
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    return message


def send_account_email(*, user, template: str, context: dict) -> bool:
    """Send it; a mail server that fails is logged, not raised: the change that caused the
    email is already committed, and the sender can ask for it again (resend, reset)."""
    try:
        render_account_email(user=user, template=template, context=context).send()
    except Exception:
        logger.exception("Could not send the %s email to user %s", template, user.pk)
        return False
    return True
