"""What the partner is told after the decision (issue 9): answer reminders, disputes and their
answers, disassociation; in English and French, and the same rule for the catch-up query."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from claims import followup, pipeline, review, services
from claims.events import EventAction
from claims.models import RejectionReason
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_review import make_reviewer, put_under_review
from notifications import texts

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def reviewer():
    return make_reviewer()


@pytest.fixture
def claim(mpn, incentives_admin):
    claim = ClaimFactory(mpn=mpn, created_by=incentives_admin)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, window_closed=True)


def told(event) -> bool:
    return texts.is_notified(event) and texts.notified_events().filter(pk=event.pk).exists()


def test_the_answer_reminder_is_told_with_its_deadline_in_english_and_french(claim, reviewer):
    with time_machine.travel(datetime.datetime(2026, 4, 29, 10, 0, tzinfo=PARIS), tick=False):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    followup.response_reminders_send(now=datetime.datetime(2026, 5, 12, 9, 0, tzinfo=PARIS))
    event = claim.events.get(action=EventAction.RESPONSE_REMINDER)
    assert told(event)
    english = texts.describe(event)
    assert english.title == "Answer due soon" and "No response" in english.lines[0] and "22" in english.lines[0]
    with translation.override("fr"):
        french = texts.describe(event)
    assert french.title == "Réponse attendue bientôt" and "Pas de réponse" in french.lines[0]


def test_a_dispute_and_its_answer_are_told(claim, reviewer, incentives_admin):
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
    services.claim_dispute(user=incentives_admin, claim_id=claim.pk, justification="Signed SOW.")
    review.dispute_uphold(reviewer=reviewer, claim_id=claim.pk, note="Unsigned.")
    disputed = claim.events.get(action=EventAction.DISPUTED)
    upheld = claim.events.get(action=EventAction.DISPUTE_UPHELD)
    assert told(disputed) and told(upheld)
    with translation.override("fr"):
        assert "définitive" in texts.describe(upheld).lines[0]


def test_a_disassociation_is_told(claim, incentives_admin):
    pipeline.claims_approve_due()
    services.claim_disassociate(user=incentives_admin, claim_id=claim.pk, reason="Done.")
    event = claim.events.get(action=EventAction.DISASSOCIATED)
    assert told(event)
    assert "disassociated" in texts.describe(event).lines[0]
