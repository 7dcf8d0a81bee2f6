"""The webhooks pages: every URL as anonymous (sign-in), wrong role (403), another partner's
endpoint (404) and the Global admin; the secret shown once; English and French."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from claims import lifecycle
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, partner_user
from webhooks import services
from webhooks.models import MessageStatus, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(global_admin, receiver):
    endpoint, _ = services.webhook_endpoint_create(user=global_admin, url=receiver.url, events=["submitted"])
    return endpoint


@pytest.fixture
def delivered(endpoint, partner):
    claim = ClaimFactory(mpn=MpnIdFactory(partner=partner))
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")
    services.webhook_messages_deliver_due()
    return WebhookMessage.objects.get()


def urls(endpoint, message):
    return [
        ("get", reverse("webhooks:list"), {}),
        ("get", reverse("webhooks:create"), {}),
        ("get", reverse("webhooks:detail", args=[endpoint.pk]), {}),
        ("get", reverse("webhooks:edit", args=[endpoint.pk]), {}),
        ("post", reverse("webhooks:rotate_secret", args=[endpoint.pk]), {}),
        ("post", reverse("webhooks:redeliver", args=[endpoint.pk, message.pk]), {}),
        ("post", reverse("webhooks:delete", args=[endpoint.pk]), {}),
    ]


def test_anonymous_is_sent_to_sign_in(client, endpoint, delivered):
    for method, url, data in urls(endpoint, delivered):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize("role", [Role.INCENTIVES_ADMIN, Role.BILLING_ADMIN, Role.INCENTIVES_USER])
def test_other_roles_are_refused_with_403(client, partner, role, endpoint, delivered):
    client.force_login(partner_user(partner, role))
    for method, url, data in urls(endpoint, delivered):
        assert getattr(client, method)(url, data).status_code == 403, url
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_partners_endpoint_answers_404_and_is_unchanged(client, other_partner, endpoint, delivered):
    client.force_login(partner_user(other_partner, Role.GLOBAL_ADMIN))
    secret = endpoint.secret
    for method, url, data in urls(endpoint, delivered)[2:]:
        assert getattr(client, method)(url, data).status_code == 404, url
    endpoint.refresh_from_db()
    assert endpoint.secret == secret
    assert client.get(reverse("webhooks:list")).content.decode().count(endpoint.url) == 0


def test_registering_an_endpoint_shows_its_secret_once(client, global_admin, receiver):
    client.force_login(global_admin)
    response = client.post(
        reverse("webhooks:create"), {"url": receiver.url, "events": ["submitted", "approved"], "is_active": "on"}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("webhooks:detail", args=[endpoint.pk])
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    assert endpoint.secret not in client.get(response["Location"]).content.decode()
    assert endpoint.events == ["submitted", "approved"]


def test_a_refused_address_is_explained_and_nothing_is_registered(client, global_admin):
    client.force_login(global_admin)
    response = client.post(reverse("webhooks:create"), {"url": "http://example.com/hook", "events": ["submitted"]})
    assert response.status_code == 200
    assert "The URL must start with https://." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_refused_address_is_explained_in_french(client, global_admin):
    global_admin.language = "fr"
    global_admin.save()
    client.force_login(global_admin)
    response = client.post(reverse("webhooks:create"), {"url": "http://example.com/hook", "events": ["submitted"]})
    page = response.content.decode()
    assert "L’URL doit commencer par https://." in page
    assert "Ajouter un point de terminaison" in page
    assert not WebhookEndpoint.objects.exists()


def test_no_event_chosen_is_explained(client, global_admin, receiver):
    client.force_login(global_admin)
    response = client.post(reverse("webhooks:create"), {"url": receiver.url})
    assert "Choose at least one event from the list." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_each_attempt_and_its_response_code(client, global_admin, endpoint, delivered):
    client.force_login(global_admin)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "claim.submitted" in page
    assert "HTTP 200" in page
    assert str(delivered.event_id) in page


def test_the_partner_can_send_a_delivered_event_again(client, global_admin, endpoint, delivered, receiver):
    client.force_login(global_admin)
    response = client.post(reverse("webhooks:redeliver", args=[endpoint.pk, delivered.pk]))
    assert response.status_code == 302
    delivered.refresh_from_db()
    assert delivered.status == MessageStatus.PENDING
    services.webhook_messages_deliver_due()
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["X-CPOR-Event-Id"] == receiver.requests[1].headers["X-CPOR-Event-Id"]


def test_a_message_of_another_endpoint_answers_404(client, global_admin, endpoint, delivered, receiver):
    other, _ = services.webhook_endpoint_create(user=global_admin, url=receiver.url, events=["approved"])
    client.force_login(global_admin)
    assert client.post(reverse("webhooks:redeliver", args=[other.pk, delivered.pk])).status_code == 404


def test_editing_pauses_and_deleting_removes(client, global_admin, endpoint):
    client.force_login(global_admin)
    client.post(reverse("webhooks:edit", args=[endpoint.pk]), {"url": endpoint.url, "events": ["approved"]})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and endpoint.events == ["approved"]
    client.post(reverse("webhooks:delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


def test_the_navigation_offers_webhooks_to_the_global_admin_only(client, global_admin, partner):
    client.force_login(global_admin)
    assert reverse("webhooks:list") in client.get(reverse("claims:list")).content.decode()
    client.force_login(partner_user(partner, Role.INCENTIVES_ADMIN))
    assert reverse("webhooks:list") not in client.get(reverse("claims:list")).content.decode()


def test_pages_are_in_french(client, global_admin, endpoint):
    global_admin.language = "fr"
    global_admin.save()
    client.force_login(global_admin)
    with translation.override("fr"):
        page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Livraisons" in page
