"""Limits on signing in (django-axes, configured by cpor/throttle.py) and on password reset
requests (cpor.services.password_reset_request). Axes counts in the database, so every test
starts from no failures: its rows go with the test's transaction."""

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cpor import tasks, throttle
from cpor.models import PasswordResetRequest, Role
from cpor.tests.factories import PASSWORD, UserFactory, partner_user

pytestmark = pytest.mark.django_db

WAIT_EN = "Too many failed sign-in attempts for this account or from your address. Wait 15 minutes, then try again."
WAIT_FR = (
    "Trop de tentatives de connexion échouées pour ce compte ou depuis votre adresse. "
    "Attendez 15 minutes, puis réessayez."
)


def sign_in(client, email, password, address="198.51.100.7", url=None, **extra):
    return client.post(url or reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Sign-in --------------------------------------------------------------------------


def test_after_the_failure_limit_even_the_right_password_is_refused(client, incentives_admin, settings):
    """The issue's case: 25 wrong passwords in a row, then the right one."""
    for _ in range(25):
        sign_in(client, incentives_admin.email, "wrong-password")
    response = sign_in(client, incentives_admin.email, PASSWORD)
    assert response.status_code == 429
    assert WAIT_EN in response.content.decode()
    assert response["Retry-After"] == str(settings.AXES_COOLOFF_MINUTES * 60)
    assert not signed_in(client)


def test_an_account_is_locked_whatever_the_address_and_the_case_of_the_email(client, incentives_admin, settings):
    email = incentives_admin.email
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, email.upper() if attempt % 2 else email, "wrong-password", address=f"203.0.113.{attempt}")
    response = sign_in(client, email, PASSWORD, address="192.0.2.200")
    assert response.status_code == 429 and not signed_in(client)


def test_an_address_is_locked_whatever_the_accounts_it_tries(client, partner, settings):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{attempt}@example.com", "wrong-password", address="198.51.100.9")
    locked = sign_in(client, user.email, PASSWORD, address="198.51.100.9")
    assert locked.status_code == 429 and not signed_in(client)
    elsewhere = sign_in(client, user.email, PASSWORD, address="198.51.100.10")
    assert elsewhere.status_code == 302 and signed_in(client)


def test_below_the_limit_a_wrong_password_gets_the_usual_message(client, incentives_admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, incentives_admin.email, "wrong-password")
        assert response.status_code == 200
        assert "The email address or password is incorrect." in response.content.decode()
    assert sign_in(client, incentives_admin.email, PASSWORD).status_code == 302


def test_the_lockout_page_says_how_long_to_wait_in_french(client, incentives_admin, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, incentives_admin.email, "wrong-password")
    assert response.status_code == 429
    page = response.content.decode()
    assert WAIT_FR in page and "Connexion suspendue" in page


def test_sign_in_works_again_once_the_cool_off_has_passed(client, incentives_admin, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, incentives_admin.email, "wrong-password")
        clock.shift(60 * (settings.AXES_COOLOFF_MINUTES - 1))
        assert sign_in(client, incentives_admin.email, PASSWORD).status_code == 429
        clock.shift(60 * settings.AXES_COOLOFF_MINUTES + 1)
        assert sign_in(client, incentives_admin.email, PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_admin_sign_in_is_throttled_too(client, settings):
    reviewer = UserFactory(is_staff=True, is_superuser=True, email="reviewer@cpor.example")
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, reviewer.email, "wrong-password", url=admin_login)
    response = sign_in(client, reviewer.email, PASSWORD, url=admin_login)
    assert response.status_code == 429 and WAIT_EN in response.content.decode()
    assert not signed_in(client)
    # The same account is locked on the site's own sign-in page as well.
    assert sign_in(client, reviewer.email, PASSWORD).status_code == 429


def test_without_a_configured_proxy_header_a_forwarded_address_is_ignored(settings):
    settings.CLIENT_IP_HEADER = ""
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.8.7")
    assert throttle.client_ip(request) == "198.51.100.7"


def test_behind_the_proxy_the_address_it_appended_is_the_clients(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.CLIENT_IP_PROXY_COUNT = 1
    # The client wrote "10.9.8.7" itself; the proxy appended the address it saw.
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.8.7, 203.0.113.50")
    assert throttle.client_ip(request) == "203.0.113.50"
    settings.CLIENT_IP_PROXY_COUNT = 2
    request = RequestFactory().post("/", HTTP_X_FORWARDED_FOR="10.9.8.7, 203.0.113.50, 192.0.2.1")
    assert throttle.client_ip(request) == "203.0.113.50"


def test_a_spoofed_forwarded_header_does_not_escape_the_address_limit(client, partner, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(
            client,
            f"guess{attempt}@example.com",
            "wrong-password",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}, 203.0.113.50",
        )
    response = sign_in(client, user.email, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99, 203.0.113.50")
    assert response.status_code == 429


# --- Password reset ---------------------------------------------------------------------

RESET_WAIT_EN = "Too many password reset requests for this email address or from your address. Wait 60 minutes"
RESET_WAIT_FR = (
    "Trop de demandes de réinitialisation du mot de passe pour cette adresse e-mail ou depuis votre adresse. "
    "Attendez 60 minutes"
)


def ask_reset(client, email, capture, address="198.51.100.7", **extra):
    """Ask on the page; returns the answer and the jobs it queued once committed."""
    with capture(execute=False) as callbacks:
        response = client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address, **extra)
    return response, callbacks


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address(
    client, incentives_admin, django_capture_on_commit_callbacks
):
    answers = []
    for email in (incentives_admin.email, "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            response, jobs = ask_reset(client, email, django_capture_on_commit_callbacks)
        answers.append((response.status_code, response.url, len(jobs), len(queries)))
    assert answers[0] == answers[1] == (302, reverse("password_reset_done"), 1, answers[0][3])
    # The request itself sends nothing: the worker does.
    assert mail.outbox == []


def test_the_worker_emails_a_reset_link_to_an_active_account_only(partner):
    active = partner_user(partner, Role.INCENTIVES_ADMIN, email="active@fabrikam.example")
    partner_user(partner, Role.INCENTIVES_ADMIN, email="gone@fabrikam.example", is_active=False)
    assert tasks.password_reset_email_send("Active@Fabrikam.example") == 1
    assert tasks.password_reset_email_send("gone@fabrikam.example") == 0
    assert tasks.password_reset_email_send("nobody@example.com") == 0
    [message] = mail.outbox
    assert message.to == [active.email] and "/accounts/reset/" in message.body


def test_password_reset_is_limited_per_email_address_whatever_the_account(
    client, incentives_admin, settings, django_capture_on_commit_callbacks
):
    for email in (incentives_admin.email, "nobody@example.com"):
        for attempt in range(settings.PASSWORD_RESET_LIMIT_PER_EMAIL):
            response, jobs = ask_reset(client, email, django_capture_on_commit_callbacks, address=f"192.0.2.{attempt}")
            assert response.status_code == 302 and len(jobs) == 1
        refused, jobs = ask_reset(client, email.upper(), django_capture_on_commit_callbacks, address="192.0.2.99")
        assert refused.status_code == 429 and jobs == []
        assert RESET_WAIT_EN in refused.content.decode()
    assert PasswordResetRequest.objects.count() == 2 * settings.PASSWORD_RESET_LIMIT_PER_EMAIL


def test_password_reset_is_limited_per_client_address_in_french_too(
    client, settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 4
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    for attempt in range(4):
        response, _ = ask_reset(client, f"person{attempt}@example.com", django_capture_on_commit_callbacks)
        assert response.status_code == 302
    refused, jobs = ask_reset(client, "another@example.com", django_capture_on_commit_callbacks)
    assert refused.status_code == 429 and jobs == []
    assert RESET_WAIT_FR in refused.content.decode()
    other_address, jobs = ask_reset(
        client, "another@example.com", django_capture_on_commit_callbacks, address="192.0.2.1"
    )
    assert other_address.status_code == 302 and len(jobs) == 1


def test_password_reset_may_be_asked_again_once_the_window_has_passed(
    client, settings, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(settings.PASSWORD_RESET_LIMIT_PER_EMAIL):
            ask_reset(client, "someone@example.com", django_capture_on_commit_callbacks)
        clock.shift(60 * 30)
        refused, _ = ask_reset(client, "someone@example.com", django_capture_on_commit_callbacks)
        assert refused.status_code == 429 and "Wait 30 minutes" in refused.content.decode()
        clock.shift(60 * 31)
        response, jobs = ask_reset(client, "someone@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and len(jobs) == 1
    # Requests older than the window are forgotten.
    assert PasswordResetRequest.objects.count() == 1


def test_a_reset_request_keeps_no_readable_email_address(client, django_capture_on_commit_callbacks):
    ask_reset(client, "private.person@example.com", django_capture_on_commit_callbacks)
    [row] = PasswordResetRequest.objects.all()
    assert "private" not in row.email_digest and len(row.email_digest) == 64
