"""The periodic catch-up of partner notifications reads only the events after its mark."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from notifications import services
from notifications.models import CatchUpMark, Notification, PartnerEmail
from notifications.tests.test_services import event_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim():
    claim = ClaimFactory(partner_contact_email="contact@partner.example")
    SubscriptionItemFactory(claim=claim)
    return claim


def mark():
    return CatchUpMark.objects.get(pk=1).last_event_id


def test_the_catch_up_never_reads_again_the_events_it_has_seen_handled(claim):
    first = event_on(claim, "item_ended", data={})
    assert services.notify_pending_events() == 1
    assert mark() == 0  # too recent: an older event may still be in an open transaction

    with time_machine.travel(timezone.now() + services.CATCH_UP_SETTLE + datetime.timedelta(minutes=1)):
        assert services.notify_pending_events() == 0
        assert mark() == first.pk
        # Behind the mark, an event is not read again, even with its notifications gone.
        Notification.objects.filter(event=first).delete()
        PartnerEmail.objects.filter(event=first).delete()
        later = event_on(claim, "item_ended", data={})
        with CaptureQueriesContext(connection) as queries:
            assert services.notify_pending_events() == 1
    scans = [query["sql"] for query in queries if '"claims_claimevent"."created_at" >=' in query["sql"]]
    assert scans and all(f'"claims_claimevent"."id" > {first.pk}' in sql for sql in scans)
    assert PartnerEmail.objects.filter(event=later).exists()
    assert not PartnerEmail.objects.filter(event=first).exists()
