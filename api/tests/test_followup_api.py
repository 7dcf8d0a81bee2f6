"""Dispute and disassociation through the API: the site's services, same checks and messages."""

import pytest

from claims import pipeline, review
from claims.models import ClaimStatus, RejectionReason
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_review import make_reviewer, put_under_review
from cpor.models import Role
from cpor.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(partner, global_admin):
    claim = ClaimFactory(mpn__partner=partner, created_by=global_admin)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, window_closed=True)


def test_a_key_disputes_a_rejection_once(filer, claim):
    review.claim_reject(reviewer=make_reviewer(), claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
    answer = filer.post(f"/api/v1/claims/{claim.pk}/dispute/", {"justification": "Signed SOW."}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == ClaimStatus.DISPUTED
    again = filer.post(f"/api/v1/claims/{claim.pk}/dispute/", {"justification": "Again."}, format="json")
    assert again.status_code == 400
    assert "already disputed" in again.json()["non_field_errors"][0]
    assert claim.events.filter(action="disputed").count() == 1


def test_a_dispute_without_justification_is_400_and_changes_nothing(filer, claim):
    review.claim_reject(reviewer=make_reviewer(), claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
    answer = filer.post(f"/api/v1/claims/{claim.pk}/dispute/", {}, format="json")
    assert answer.status_code == 400
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED


def test_a_key_disassociates_an_approved_claim_and_not_one_under_review(filer, claim):
    refused = filer.post(f"/api/v1/claims/{claim.pk}/disassociate/", {"reason": "Done."}, format="json")
    assert refused.status_code == 400
    assert "Only an approved claim" in refused.json()["non_field_errors"][0]
    pipeline.claims_approve_due()
    answer = filer.post(f"/api/v1/claims/{claim.pk}/disassociate/", {"reason": "Done."}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == ClaimStatus.ENDED


def test_another_partners_claim_is_404(filer):
    other = ClaimFactory(mpn__partner=PartnerFactory(), created_by=None)
    SubscriptionItemFactory(claim=other)
    put_under_review(other)
    for path in ("dispute", "disassociate"):
        answer = filer.post(f"/api/v1/claims/{other.pk}/{path}/", {"reason": "x", "justification": "x"}, format="json")
        assert answer.status_code == 404


def test_a_read_only_key_is_403(api, make_key, claim):
    reader = api(make_key(Role.BILLING_ADMIN))
    for path in ("dispute", "disassociate"):
        answer = reader.post(f"/api/v1/claims/{claim.pk}/{path}/", {"reason": "x", "justification": "x"}, format="json")
        assert answer.status_code == 403
