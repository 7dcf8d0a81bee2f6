"""webhooks.services and webhooks.delivery against a real HTTP receiver on 127.0.0.1."""

import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from claims import lifecycle
from claims.models import ClaimEvent, ClaimStatus
from claims.tests.factories import ClaimFactory
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, partner_user
from webhooks import delivery, services
from webhooks.models import MessageStatus, WebhookAttempt, WebhookMessage
from webhooks.services import WebhookError

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(partner):
    return ClaimFactory(mpn=MpnIdFactory(partner=partner))


def register(user, url, events=("submitted",)):
    endpoint, secret = services.webhook_endpoint_create(user=user, url=url, events=list(events))
    return endpoint, secret


def submit(claim):
    with transaction.atomic():
        return lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")


def test_a_claim_event_reaches_the_receiver_signed_with_the_endpoint_secret(global_admin, claim, receiver):
    endpoint, secret = register(global_admin, receiver.url)
    event = submit(claim)

    assert services.webhook_messages_deliver_due() == 1

    [request] = receiver.requests
    assert request.path == "/cpor/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert delivery.verify(secret, request.headers["X-CPOR-Signature"], request.body)
    assert not delivery.verify("whsec_wrong", request.headers["X-CPOR-Signature"], request.body)
    payload = json.loads(request.body)
    assert payload["type"] == "claim.submitted"
    assert payload["id"] == request.headers["X-CPOR-Event-Id"]
    assert payload["claim"]["id"] == claim.pk
    assert payload["claim"]["status"] == ClaimStatus.SUBMITTED
    assert payload["event"]["from_status"] == ClaimStatus.DRAFT
    message = WebhookMessage.objects.get(claim_event=event)
    assert message.status == MessageStatus.DELIVERED
    assert list(message.attempt_log.values_list("status_code", flat=True)) == [200]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = delivery.signature_header("s3cret", 1700000000, '{"a":1}')
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert delivery.verify("s3cret", header, '{"a":1}', now=1700000010)
    assert not delivery.verify("s3cret", header, '{"a":2}', now=1700000010)
    assert not delivery.verify("s3cret", header, '{"a":1}', now=1700009999)  # too old: a replay


def test_a_receiver_answering_500_then_200_gets_the_event_on_the_retry_after_the_backoff(global_admin, claim, receiver):
    receiver.answers = [500, 200]
    register(global_admin, receiver.url)
    submit(claim)
    start = timezone.now()

    assert services.webhook_messages_deliver_due(now=start) == 1
    message = WebhookMessage.objects.get()
    assert message.status == MessageStatus.PENDING
    assert message.next_attempt_at == start + datetime.timedelta(seconds=services.backoff_seconds(1))

    # Not due yet: nothing is sent.
    assert services.webhook_messages_deliver_due(now=start + datetime.timedelta(seconds=10)) == 0
    assert services.webhook_messages_deliver_due(now=start + datetime.timedelta(seconds=31)) == 1

    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert list(message.attempt_log.values_list("status_code", flat=True)) == [500, 200]
    # The same event id both times, so the receiver can tell a duplicate.
    assert len({request.headers["X-CPOR-Event-Id"] for request in receiver.requests}) == 1


def test_backoff_doubles_and_is_capped():
    assert [services.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.backoff_seconds(30) == services.BACKOFF_MAX_SECONDS


def test_after_the_last_attempt_the_message_is_failed_and_redelivery_sends_it_again(global_admin, claim, receiver):
    receiver.answers = [503]
    register(global_admin, receiver.url)
    submit(claim)
    moment = timezone.now()
    for _ in range(services.MAX_ATTEMPTS):
        assert services.webhook_messages_deliver_due(now=moment) == 1
        moment += datetime.timedelta(hours=7)
    message = WebhookMessage.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.attempt_log.count() == services.MAX_ATTEMPTS
    assert services.webhook_messages_deliver_due(now=moment) == 0

    receiver.answers = [204]
    services.webhook_message_redeliver(user=global_admin, message_id=message.pk)
    assert services.webhook_messages_deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    last = message.attempt_log.last()
    assert last.status_code == 204 and last.redelivery
    assert message.attempt_log.count() == services.MAX_ATTEMPTS + 1


def test_redelivering_a_pending_message_is_refused(global_admin, claim, receiver):
    register(global_admin, receiver.url)
    submit(claim)
    message = WebhookMessage.objects.get()
    with pytest.raises(WebhookError, match="already waiting"):
        services.webhook_message_redeliver(user=global_admin, message_id=message.pk)


def test_a_delivery_already_taken_by_a_worker_is_not_sent_twice(global_admin, claim, receiver):
    register(global_admin, receiver.url)
    submit(claim)
    message = WebhookMessage.objects.get()
    now = timezone.now()
    assert services._claim_for_attempt(message.pk, now) is not None
    # A second worker (a duplicate task, the periodic job) finds it taken.
    assert services.webhook_message_deliver(message_id=message.pk, now=now) is None
    assert receiver.requests == []


def test_redirects_are_recorded_not_followed(global_admin, claim, receiver):
    receiver.answers = [302]
    receiver.location = "http://127.0.0.1:1/elsewhere"
    register(global_admin, receiver.url)
    submit(claim)
    services.webhook_messages_deliver_due()
    message = WebhookMessage.objects.get()
    assert message.status == MessageStatus.PENDING
    assert message.attempt_log.get().status_code == 302
    assert len(receiver.requests) == 1


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(global_admin, claim, receiver, monkeypatch):
    # The read timeout is 5 s; shortened here so that the test does not wait for it.
    monkeypatch.setattr(delivery, "READ_TIMEOUT", 0.3)
    receiver.delay = 1.0
    register(global_admin, receiver.url)
    submit(claim)
    services.webhook_messages_deliver_due()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower() or "timeout" in attempt.error.lower()


def test_an_unreachable_receiver_is_a_failed_attempt_with_the_error(global_admin, claim):
    register(global_admin, "http://127.0.0.1:9/nobody")
    submit(claim)
    services.webhook_messages_deliver_due()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "Connection" in attempt.error


def test_reviewers_internal_notes_are_never_sent(global_admin, claim, receiver):
    register(global_admin, receiver.url, events=services.EVENT_TYPES)
    with transaction.atomic():
        lifecycle.record_event(claim, action="reviewer_comment", data={"internal": True})
        lifecycle.record_event(claim, action="reviewer_comment", data={"comment": 1})
    assert list(WebhookMessage.objects.values_list("event_type", flat=True)) == ["claim.reviewer_comment"]


def test_only_the_events_an_endpoint_chose_are_queued(global_admin, claim, receiver):
    register(global_admin, receiver.url, events=["approved"])
    submit(claim)
    assert not WebhookMessage.objects.exists()


def test_a_paused_endpoint_gets_no_new_events(global_admin, claim, receiver):
    endpoint, _ = register(global_admin, receiver.url)
    services.webhook_endpoint_update(
        user=global_admin,
        endpoint_id=endpoint.pk,
        url=endpoint.url,
        events=endpoint.events,
        description="",
        is_active=False,
    )
    submit(claim)
    assert not WebhookMessage.objects.exists()


def test_another_partners_endpoint_never_gets_this_partners_events(claim, other_partner, receiver):
    stranger = partner_user(other_partner, Role.GLOBAL_ADMIN)
    register(stranger, receiver.url)
    submit(claim)
    assert not WebhookMessage.objects.exists()


def test_the_outbox_row_rolls_back_with_the_event(global_admin, claim, receiver):
    register(global_admin, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")
        raise RuntimeError("the change fails after the event")
    assert not WebhookMessage.objects.exists()


def test_the_body_names_only_this_claim_never_the_event_data(global_admin, claim, receiver):
    register(global_admin, receiver.url, events=["item_rejected"])
    with transaction.atomic():
        lifecycle.record_event(
            claim, action="item_rejected", data={"item": 999999, "winner_claim": 4242, "partner": "Northwind"}
        )
    body = WebhookMessage.objects.get().body
    assert "4242" not in body and "Northwind" not in body
    assert json.loads(body)["event"]["item"] is None


def test_the_secret_is_shown_once_and_signs_until_rotated(global_admin, claim, receiver):
    endpoint, secret = register(global_admin, receiver.url)
    new = services.webhook_endpoint_rotate_secret(user=global_admin, endpoint_id=endpoint.pk)
    assert new != secret and new.startswith("whsec_")
    submit(claim)
    services.webhook_messages_deliver_due()
    signature = receiver.requests[0].headers["X-CPOR-Signature"]
    assert delivery.verify(new, signature, receiver.requests[0].body)
    assert not delivery.verify(secret, signature, receiver.requests[0].body)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/hook",
        "https://10.0.0.5/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://user:pass@93.184.215.14/hook",
        "not a url",
    ],
)
def test_endpoints_that_are_not_public_https_are_refused(global_admin, url):
    with pytest.raises(WebhookError):
        register(global_admin, url)
    assert not global_admin.membership.partner.webhook_endpoints.exists()


def test_a_public_https_address_is_accepted(global_admin):
    endpoint, _ = register(global_admin, "https://93.184.215.14/hook")
    assert endpoint.url == "https://93.184.215.14/hook"


def test_http_localhost_is_refused_outside_development(global_admin, settings):
    settings.DEBUG = False
    settings.CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    with pytest.raises(WebhookError, match="https://"):
        register(global_admin, "http://localhost:8080/hook")


def test_http_localhost_is_allowed_in_development(global_admin, settings):
    settings.DEBUG = True
    settings.CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    endpoint, _ = register(global_admin, "http://localhost:8080/hook")
    assert endpoint.pk


def test_a_delivery_to_an_address_that_became_private_is_refused_at_send_time(settings):
    outcome = delivery.post("https://10.1.2.3/hook", body="{}", headers={})
    assert outcome.status_code is None
    assert "private" in outcome.error


@pytest.mark.parametrize("role", [Role.INCENTIVES_ADMIN, Role.BILLING_ADMIN, Role.INCENTIVES_USER])
def test_only_a_global_admin_manages_webhooks(partner, role, receiver):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        register(partner_user(partner, role), receiver.url)


def test_events_outside_the_list_are_refused(global_admin, receiver):
    with pytest.raises(WebhookError, match="Choose at least one event"):
        register(global_admin, receiver.url, events=["nonsense"])
    with pytest.raises(WebhookError):
        register(global_admin, receiver.url, events=[])


def test_events_recorded_together_are_queued_for_the_endpoints_that_chose_them(global_admin, claim, receiver):
    register(global_admin, receiver.url, events=["approved"])
    with transaction.atomic():
        lifecycle.record_events(
            [
                ClaimEvent(claim=claim, action="items_approved", data={"items": []}),
                ClaimEvent(claim=claim, action="approved", from_status="under_review", to_status="approved"),
            ]
        )
    message = WebhookMessage.objects.get()
    assert (message.event_type, message.claim_id_sent) == ("claim.approved", claim.pk)
    assert json.loads(message.body)["event"]["to_status"] == "approved"
