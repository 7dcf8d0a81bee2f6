"""A claim event delivered by a real Celery worker to a real local receiver, once committed."""

import json

import pytest
from django.db import transaction

from claims import lifecycle
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory
from claims.tests.test_worker import wait_for, worker  # noqa: F401 - the real worker fixture
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user
from webhooks import delivery, services
from webhooks.models import MessageStatus, WebhookMessage

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def local_receivers_allowed(monkeypatch):
    # Read by the worker process's settings (it runs the base settings, DEBUG off).
    monkeypatch.setenv("CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST", "true")


def test_a_real_worker_posts_the_event_signed_once_the_change_commits(local_receivers_allowed, worker, receiver):  # noqa: F811
    partner = PartnerFactory()
    admin = partner_user(partner, Role.GLOBAL_ADMIN)
    endpoint, secret = services.webhook_endpoint_create(user=admin, url=receiver.url, events=["submitted"])
    claim = ClaimFactory(mpn=MpnIdFactory(partner=partner))
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")

    [request] = wait_for(lambda: receiver.requests, what="the worker to deliver the event")
    assert delivery.verify(secret, request.headers["X-CPOR-Signature"], request.body)
    assert json.loads(request.body)["claim"]["id"] == claim.pk

    def delivered():
        message = WebhookMessage.objects.get(endpoint=endpoint)
        return message if message.status == MessageStatus.DELIVERED else None

    message = wait_for(delivered, what="the delivery to be recorded")
    assert list(message.attempt_log.values_list("status_code", flat=True)) == [200]
