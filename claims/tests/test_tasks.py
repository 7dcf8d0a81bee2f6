"""The claims tasks, run as a worker runs them, on the real database and broker."""

import pytest
from django.core import mail
from django.db import transaction

from claims import lifecycle, tasks
from claims.events import EventAction
from claims.models import ClaimStatus, CustomerEmail
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_services import broker_queue, queued_tasks

# Committed for real: what the task does once its transaction has committed is the point.
pytestmark = pytest.mark.django_db(transaction=True)


def submitted_claim():
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim)
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action=EventAction.SUBMITTED)
    return claim


def test_the_validation_task_sends_the_customer_notices_and_the_partner_email_itself_and_queues_nothing():
    claim = submitted_claim()
    broker_queue().clear()  # the "submitted" notification, queued by the submission
    mail.outbox.clear()

    tasks.validate_claim(claim.pk)

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW and claim.notified_at is not None
    recipients = [message.to[0] for message in mail.outbox]
    notices = set(CustomerEmail.objects.filter(claim=claim).values_list("recipient", flat=True))
    assert notices == {claim.customer_contact_email, claim.technical_contact_email}
    assert not CustomerEmail.objects.filter(claim=claim, sent_at__isnull=True).exists()
    assert sorted(recipient for recipient in recipients if recipient in notices) == sorted(notices)
    assert claim.partner_contact_email in recipients  # the partner is told it is under review
    assert queued_tasks() == []


def test_the_validation_task_run_twice_sends_nothing_twice():
    claim = submitted_claim()
    mail.outbox.clear()

    tasks.validate_claim(claim.pk)
    sent = len(mail.outbox)
    tasks.validate_claim(claim.pk)

    assert sent >= 3 and len(mail.outbox) == sent
    assert claim.events.filter(action="validated").count() == 1
    queued_tasks()  # leaves the broker empty for the next test
