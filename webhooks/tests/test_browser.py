"""Webhooks in a real Chromium: register an endpoint, see its secret once, receive an event."""

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from claims import lifecycle
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory
from claims.tests.test_browser import sign_in
from cpor.tests.factories import MpnIdFactory
from webhooks import delivery, services
from webhooks.models import WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_global_admin_registers_an_endpoint_sees_the_secret_once_and_the_delivery(
    page: Page, live_server, global_admin, partner, receiver
):
    sign_in(page, live_server, global_admin)
    page.goto(live_server.url + "/incentives/")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    page.get_by_test_id("add-endpoint").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_test_id("secret-value").input_value()
    assert secret == WebhookEndpoint.objects.get().secret

    claim = ClaimFactory(mpn=MpnIdFactory(partner=partner))
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")
    services.webhook_messages_deliver_due()
    assert delivery.verify(secret, receiver.requests[0].headers["X-CPOR-Signature"], receiver.requests[0].body)

    page.reload()
    expect(page.get_by_test_id("secret")).to_have_count(0)
    expect(page.get_by_test_id("deliveries")).to_contain_text("claim.submitted")
    expect(page.get_by_test_id("deliveries")).to_contain_text("HTTP 200")
