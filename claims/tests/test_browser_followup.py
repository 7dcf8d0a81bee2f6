"""After the decision in a real Chromium: a partner disputes a rejection and a reviewer
answers it; a partner disassociates an approved customer. In English and in French."""

import pytest
from playwright.sync_api import Page, expect

from claims import pipeline, review
from claims.models import ClaimStatus, ItemOutcome, RejectionReason
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_browser import sign_in
from claims.tests.test_review import make_reviewer, put_under_review
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "en": {
        "dispute": "Dispute",
        "explain": "Explain why the rejection should be reconsidered.",
        "justification": "Why the rejection should be reconsidered",
        "sent": "Your dispute was sent",
        "disputed": "Disputed",
        "no_dispute": "already disputed",
        "summary": "Disassociate this customer",
        "reason": "Reason for the disassociation",
        "disassociate": "Disassociate",
        "ended": "Ended",
        "disassociated": "disassociated this customer",
    },
    "fr": {
        "dispute": "Contester",
        "explain": "Expliquez pourquoi le rejet doit être réexaminé.",
        "justification": "Pourquoi le rejet doit être réexaminé",
        "sent": "Votre contestation a été envoyée",
        "disputed": "Contestée",
        "no_dispute": "déjà contesté",
        "summary": "Dissocier ce client",
        "reason": "Motif de la dissociation",
        "disassociate": "Dissocier",
        "ended": "Terminée",
        "disassociated": "a dissocié ce client",
    },
}


def _claim(language):
    partner = PartnerFactory()
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language=language)
    claim = ClaimFactory(mpn=MpnIdFactory(partner=partner), created_by=user)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, window_closed=True), user


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_partner_disputes_a_rejection_and_the_reviewer_overturns_it(page: Page, live_server, language):
    words = TEXTS[language]
    claim, user = _claim(language)
    reviewer = make_reviewer()
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)

    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/incentives/customer-associations/{claim.pk}/")
    page.get_by_role("button", name=words["dispute"], exact=True).click()
    expect(page.get_by_text(words["explain"])).to_be_visible()
    assert claim.events.filter(action="disputed").count() == 0  # empty justification: nothing changed

    page.get_by_label(words["justification"]).fill("The customer signed the statement of work on 3 March.")
    page.get_by_role("button", name=words["dispute"], exact=True).click()
    expect(page.get_by_text(words["sent"])).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text(words["disputed"])
    expect(page.get_by_test_id("no-dispute")).to_contain_text(words["no_dispute"])

    page.context.clear_cookies()
    sign_in(page, live_server, reviewer)
    page.goto(f"{live_server.url}/admin/claims/claim/{claim.pk}/change/")
    page.locator("#dispute-form textarea").fill("The signed statement of work is valid.")
    page.locator("#dispute-form button[value=overturn]").click()
    expect(page.locator(".messagelist")).to_contain_text("Rejection overturned")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert set(claim.items.values_list("outcome", flat=True)) == {ItemOutcome.PENDING}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_partner_disassociates_an_approved_customer(page: Page, live_server, language):
    words = TEXTS[language]
    claim, user = _claim(language)
    pipeline.claims_approve_due()

    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/incentives/customer-associations/{claim.pk}/")
    page.get_by_text(words["summary"]).click()
    page.get_by_label(words["reason"]).fill("The customer moved to an in-house team.")
    page.get_by_role("button", name=words["disassociate"], exact=True).click()
    expect(page.get_by_test_id("status")).to_have_text(words["ended"])
    expect(page.get_by_test_id("status-meaning")).to_contain_text(f"{user.email} {words['disassociated']}")
    expect(page.get_by_test_id("disassociate")).to_have_count(0)
    claim.refresh_from_db()
    assert claim.disassociated_by == user
