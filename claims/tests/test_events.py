"""The actions a claim's History records (`claims.events.EventAction`): each has a label, in
English and French, and nothing records an action that has none."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone, translation

from claims import lifecycle, notices, pipeline, review, services
from claims.events import EventAction
from claims.models import ClaimEvent, ClaimStatus, RejectionReason
from claims.presentation import event_label
from claims.tests.factories import PDF_BYTES, ClaimFactory, directory_world
from claims.tests.test_review import make_reviewer
from claims.tests.test_services import complete_draft

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", EventAction, ids=EventAction.values)
def test_every_action_has_a_history_label_in_english_and_french(action):
    # A member without a label would get Django's one made from its name ("Draft Created").
    assert action.label != action.name.replace("_", " ").title()
    english = event_label(action.value)
    assert english == str(action.label)
    with translation.override("fr"):
        assert event_label(action.value) not in ("", english)


def test_an_action_no_member_names_is_shown_by_its_code():
    assert event_label("some_future_action") == "Some future action"


def test_recording_an_action_no_member_names_is_refused_and_records_nothing():
    claim = ClaimFactory()
    with pytest.raises(ValueError), transaction.atomic():
        lifecycle.record_event(claim, action="some_future_action")
    assert not ClaimEvent.objects.filter(claim=claim).exists()


def test_a_claims_whole_life_through_the_services_records_only_labelled_actions(partner, incentives_admin):
    """File, validate, review, reject, dispute, overturn, approve, disassociate: every event
    recorded on the way is an `EventAction`, and History shows its label."""
    world = directory_world(partner)
    reviewer = make_reviewer()
    claim = complete_draft(world, incentives_admin)
    services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="Signed SOW attached.")
    services.claim_submit(user=incentives_admin, claim_id=claim.pk)
    pipeline.claim_validate(claim_id=claim.pk)
    notices.customer_emails_send(claim_id=claim.pk)
    review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Which team uses it?")
    services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="The sales team.")
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.OTHER, note="The SOW is unsigned.")
    services.claim_dispute(
        user=incentives_admin,
        claim_id=claim.pk,
        justification="Here is the signed one.",
        files=[SimpleUploadedFile("signed.pdf", PDF_BYTES)],
    )
    review.dispute_overturn(reviewer=reviewer, claim_id=claim.pk, note="Signed after all.")
    review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    pipeline.claims_approve_due(now=timezone.now() + datetime.timedelta(days=30))
    services.claim_disassociate(user=incentives_admin, claim_id=claim.pk, reason="The customer left us.")

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ENDED
    events = list(claim.events.all())
    assert [EventAction(event.action) for event in events] == [
        EventAction.DRAFT_CREATED,
        EventAction.ITEMS_CHANGED,
        EventAction.CONTACTS_CHANGED,
        EventAction.POE_ADDED,
        EventAction.COMMENT_ADDED,
        EventAction.SUBMITTED,
        EventAction.VALIDATED,
        EventAction.CUSTOMER_NOTIFIED,  # the customer contact
        EventAction.CUSTOMER_NOTIFIED,  # the technical contact (Dynamics 365)
        EventAction.CLAIM_TAKEN,
        EventAction.INFORMATION_REQUESTED,
        EventAction.COMMENT_ADDED,
        EventAction.PARTNER_RESPONDED,
        EventAction.REJECTED,
        EventAction.POE_ADDED,
        EventAction.DISPUTED,
        EventAction.DISPUTE_OVERTURNED,
        EventAction.CLAIM_RELEASED,
        EventAction.ITEMS_APPROVED,
        EventAction.APPROVED,
        EventAction.DISASSOCIATED,
    ]
    assert all(event_label(event.action) == str(EventAction(event.action).label) for event in events)
