"""The partner's Dispute and Disassociate on the claim page, and the reviewers' answer to a
dispute in the admin: who may, what the page says, and refusals in English and French."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import pipeline, review
from claims.models import ClaimStatus, ItemOutcome, RejectionReason
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_followup import approved_but_lost_an_item
from claims.tests.test_review import make_reviewer, put_under_review
from cpor.models import Role
from cpor.tests.factories import partner_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return make_reviewer()


@pytest.fixture
def claim(mpn, incentives_admin):
    claim = ClaimFactory(mpn=mpn, created_by=incentives_admin)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, window_closed=True)


@pytest.fixture
def rejected(claim, reviewer):
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
    claim.refresh_from_db()
    return claim


@pytest.fixture
def approved(claim):
    pipeline.claims_approve_due()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    return claim


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_rejected_claims_page_offers_a_dispute_until_the_deadline(client, rejected, incentives_admin):
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert 'data-testid="dispute"' in page and "You can dispute this rejection once" in page


@pytest.mark.parametrize("state", ["draft", "under_review", "approved"])
def test_a_claim_with_no_rejection_offers_no_dispute_form(client, mpn, incentives_admin, state, request):
    if state == "draft":
        claim = ClaimFactory(mpn=mpn, created_by=incentives_admin)
        SubscriptionItemFactory(claim=claim)
    else:
        claim = request.getfixturevalue("approved" if state == "approved" else "claim")
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert 'data-testid="dispute"' not in page
    assert "You can dispute this rejection once" not in page


def test_the_incentives_admin_disputes_a_rejection_from_the_claim_page(client, rejected, incentives_admin):
    client.force_login(incentives_admin)
    response = client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": "Signed SOW."})
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.DISPUTED
    assert "five business days" in messages_of(response)[0]
    page = client.get(reverse("claims:detail", args=[rejected.pk])).content.decode()
    assert 'data-testid="no-dispute"' in page and 'data-testid="dispute-answer-deadline"' in page


def test_a_second_dispute_is_refused_with_a_message_in_french(client, rejected, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language="fr")
    client.force_login(user)
    client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": "Première."})
    response = client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": "Seconde."})
    assert "déjà contesté" in messages_of(response)[-1]
    assert rejected.events.filter(action="disputed").count() == 1


def test_an_empty_justification_is_refused_and_nothing_changes(client, rejected, incentives_admin):
    client.force_login(incentives_admin)
    response = client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": " "})
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.REJECTED
    assert "Explain why" in messages_of(response)[0]


@pytest.mark.parametrize("name", ["claims:dispute", "claims:disassociate"])
def test_anonymous_is_sent_to_sign_in(client, claim, name):
    response = client.post(reverse(name, args=[claim.pk]), {"justification": "x", "reason": "x"})
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", ["claims:dispute", "claims:disassociate"])
def test_another_partners_claim_is_404(client, claim, other_partner, name):
    client.force_login(partner_user(other_partner, Role.INCENTIVES_ADMIN))
    response = client.post(reverse(name, args=[claim.pk]), {"justification": "x", "reason": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["claims:dispute", "claims:disassociate"])
@pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
def test_other_roles_are_403(client, claim, partner, name, role):
    client.force_login(partner_user(partner, role))
    response = client.post(reverse(name, args=[claim.pk]), {"justification": "x", "reason": "x"})
    assert response.status_code == 403


def test_the_incentives_admin_disassociates_an_approved_claim(client, approved, incentives_admin):
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[approved.pk])).content.decode()
    assert 'data-testid="disassociate"' in page
    client.post(reverse("claims:disassociate", args=[approved.pk]), {"reason": "The customer left."})
    approved.refresh_from_db()
    assert approved.status == ClaimStatus.ENDED
    page = client.get(reverse("claims:detail", args=[approved.pk])).content.decode()
    assert f"{incentives_admin.email} disassociated this customer" in page
    assert "The customer left." in page


def test_disassociating_a_claim_that_is_not_approved_is_refused(client, claim, incentives_admin):
    client.force_login(incentives_admin)
    response = client.post(reverse("claims:disassociate", args=[claim.pk]), {"reason": "Done."})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert "Only an approved claim" in messages_of(response)[0]


def test_the_reviewer_overturns_a_dispute_in_the_admin(client, rejected, incentives_admin, reviewer):
    client.force_login(incentives_admin)
    client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": "Signed SOW."})
    client.force_login(reviewer)
    page = client.get(reverse("admin:claims_claim_change", args=[rejected.pk])).content.decode()
    assert 'id="dispute-form"' in page
    client.post(
        reverse("admin:claims_claim_dispute_answer", args=[rejected.pk]),
        {"decision": "overturn", "note": "The SOW is signed."},
    )
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.UNDER_REVIEW
    assert set(rejected.items.values_list("outcome", flat=True)) == {ItemOutcome.PENDING}


def test_the_reviewer_upholds_a_dispute_in_the_admin_and_a_rationale_is_required(
    client, rejected, incentives_admin, reviewer
):
    client.force_login(incentives_admin)
    client.post(reverse("claims:dispute", args=[rejected.pk]), {"justification": "Signed SOW."})
    client.force_login(reviewer)
    url = reverse("admin:claims_claim_dispute_answer", args=[rejected.pk])
    client.post(url, {"decision": "uphold", "note": ""})
    rejected.refresh_from_db()
    assert rejected.status == ClaimStatus.DISPUTED
    client.post(url, {"decision": "uphold", "note": "Unsigned."})
    rejected.refresh_from_db()
    assert (rejected.status, rejected.dispute_final) == (ClaimStatus.REJECTED, True)


def test_an_item_lost_in_arbitration_is_disputed_from_a_page_that_reads_the_events_once(
    client, mpn, incentives_admin, reviewer, other_partner, approved
):
    claim, _kept, _lost = approved_but_lost_an_item(mpn, incentives_admin, reviewer, other_partner)
    client.force_login(incentives_admin)
    client.get(reverse("claims:detail", args=[approved.pk]))
    with CaptureQueriesContext(connection) as plain:
        client.get(reverse("claims:detail", args=[approved.pk]))
    with CaptureQueriesContext(connection) as disputable:
        page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    assert 'data-testid="dispute"' in page and "You can dispute this rejection once" in page
    # The lost item is found in the History and the items the page shows, not read again.
    assert len(disputable) == len(plain)
    assert sum('"claims_claimevent"' in query["sql"] for query in disputable.captured_queries) == 1


def test_an_item_lost_in_arbitration_more_than_30_days_ago_is_no_longer_disputable(
    client, mpn, incentives_admin, reviewer, other_partner
):
    import datetime

    import time_machine
    from django.utils import timezone

    claim, _kept, _lost = approved_but_lost_an_item(mpn, incentives_admin, reviewer, other_partner)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        client.force_login(incentives_admin)
        page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    assert 'data-testid="dispute"' not in page
    assert "A rejection can be disputed only within 30 days." in page
