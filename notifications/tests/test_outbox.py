"""The outbox policy (cpor/outbox.py), on partner emails: claim and commit, send outside any
transaction with a stable Message-ID, mark sent; capped attempts with backoff; failed rows
shown and retried in the admin. The last test is issue 10's finding, with a real mail server
and PostgreSQL ending idle transactions."""

import datetime
import socketserver
import threading
import time
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from claims import lifecycle
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory
from claims.tests.test_review import make_reviewer
from cpor import outbox
from notifications import services
from notifications.models import PartnerEmail

FAILING_BACKEND = "notifications.tests.test_outbox.FailingSMTPBackend"


class FailingSMTPBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("421 Service not available")


def partner_email(partner, recipient="contact@partner.example") -> PartnerEmail:
    claim = ClaimFactory(mpn__partner=partner, partner_contact_email=recipient)
    with transaction.atomic():
        event = lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")
    return PartnerEmail.objects.create(event=event, recipient=recipient, language="en")


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND=FAILING_BACKEND, OUTBOX_BACKOFF_SECONDS=60)
def test_a_failed_email_waits_its_backoff_then_twice_as_long_after_the_next_failure(partner):
    email = partner_email(partner)

    with pytest.raises(SMTPException):
        services.partner_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.attempts == 1 and "421" in email.last_error and email.sent_at is None
    first_wait = email.next_attempt_at - timezone.now()
    assert datetime.timedelta(seconds=55) < first_wait <= datetime.timedelta(seconds=60)

    assert services.partner_email_send(email_id=email.pk) is False  # not due: nothing tried
    assert services.emails_retry_unsent() == 0
    email.refresh_from_db()
    assert email.attempts == 1

    PartnerEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    with pytest.raises(SMTPException):
        services.partner_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.attempts == 2
    assert datetime.timedelta(seconds=115) < email.next_attempt_at - timezone.now() <= datetime.timedelta(seconds=120)


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND=FAILING_BACKEND, OUTBOX_MAX_ATTEMPTS=3)
def test_after_the_capped_attempts_an_email_is_failed_shown_in_the_admin_and_a_retry_sends_it(partner, client):
    email = partner_email(partner)
    for _attempt in range(3):
        with pytest.raises(SMTPException):
            services.partner_email_send(email_id=email.pk)

    assert services.partner_email_send(email_id=email.pk) is False
    assert services.emails_retry_unsent() == 0
    email.refresh_from_db()
    assert email.attempts == 3 and email.sent_at is None
    assert list(PartnerEmail.objects.filter(outbox.failed())) == [email]

    client.force_login(make_reviewer())
    url = reverse("admin:notifications_partneremail_changelist")
    page = client.get(url, {"state": "failed"})
    assert list(page.context["cl"].result_list) == [email]
    assert "Failed" in page.content.decode()
    assert list(client.get(url, {"state": "waiting"}).context["cl"].result_list) == []

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        response = client.post(url, {"action": "outbox_retry", "_selected_action": [email.pk]})
        assert response.status_code == 302
        email.refresh_from_db()
        assert email.attempts == 0 and email.next_attempt_at is None
        assert services.emails_retry_unsent() == 1
    email.refresh_from_db()
    assert email.sent_at is not None and email.last_error == ""
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_row_claimed_by_one_worker_is_not_sent_by_another_until_its_lease_ends(partner):
    email = partner_email(partner)
    now = timezone.now()

    assert outbox.outbox_claim(PartnerEmail, email.pk, now=now) is True
    assert outbox.outbox_claim(PartnerEmail, email.pk, now=now) is False
    assert services.partner_email_send(email_id=email.pk) is False
    assert mail.outbox == []

    # The first worker died: once its lease is over, another takes the row.
    assert outbox.outbox_claim(PartnerEmail, email.pk, now=now + outbox.LEASE + datetime.timedelta(seconds=1))
    email.refresh_from_db()
    assert email.attempts == 2


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND=FAILING_BACKEND)
def test_every_attempt_of_an_email_carries_the_same_message_id(partner):
    email = partner_email(partner)
    with pytest.raises(SMTPException):
        services.partner_email_send(email_id=email.pk)

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        assert services.partner_email_send(email_id=email.pk) is True
    (message,) = mail.outbox
    assert message.message()["Message-ID"] == outbox.message_id("partner-email", email.pk)
    assert message.message()["Message-ID"] != outbox.message_id("partner-email", email.pk + 1)


# --- Issue 10: a slow mail server and a database that ends idle transactions ---------------


class SlowSMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP: it takes `delay` seconds to answer the end of a message, then
    accepts it (records its Message-ID) or refuses it for the time being."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        server = self.server
        self.reply("220 slow.example ESMTP")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 slow.example")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                self.reply("250 OK")
            elif command == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                headers = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    headers.append(data.decode(errors="replace"))
                time.sleep(server.delay)
                if server.refuse:
                    self.reply("451 Try again later")
                else:
                    ids = [h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("message-id:")]
                    server.received.extend(ids)
                    self.reply("250 Queued")
            elif command == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")


@pytest.fixture
def slow_mail_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SlowSMTPHandler)
    server.daemon_threads = True
    server.delay, server.refuse, server.received = 3, False, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ends idle transactions the way PostgreSQL does")
@pytest.mark.django_db(transaction=True)
def test_a_mail_server_slower_than_the_idle_transaction_timeout_sends_each_email_once_and_attempts_reach_the_cap(
    partner, slow_mail_server
):
    sent_once = partner_email(partner, "sent-once@partner.example")
    with connection.cursor() as cursor:
        cursor.execute("SET idle_in_transaction_session_timeout = '2s'")
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": slow_mail_server.server_address[1],
        "EMAIL_TIMEOUT": 10,
        "OUTBOX_MAX_ATTEMPTS": 2,
    }
    try:
        with override_settings(**smtp):
            # Every pass of the periodic job: the one email goes out on the first and never again.
            for _ in range(3):
                services.emails_retry_unsent()
            assert slow_mail_server.received == [outbox.message_id("partner-email", sent_once.pk)]
            sent_once.refresh_from_db()
            assert sent_once.sent_at is not None and sent_once.attempts == 1

            # A mail server that refuses after three seconds: each pass counts its attempt, up to the cap.
            slow_mail_server.refuse = True
            refused = partner_email(partner, "refused@partner.example")
            for expected in (1, 2, 2):
                services.emails_retry_unsent()
                refused.refresh_from_db()
                assert refused.attempts == expected
            assert refused.sent_at is None and "451" in refused.last_error
            assert list(PartnerEmail.objects.filter(outbox.failed())) == [refused]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = 0")
