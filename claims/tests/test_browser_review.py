"""The reviewers' arbitration in a real Chromium: from the queue to a decision, with the
rationale the page requires."""

import pytest
from playwright.sync_api import Page, expect

from claims.models import ItemOutcome
from claims.tests.test_browser import sign_in
from claims.tests.test_review import competing_claims, make_reviewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_goes_from_the_queue_to_a_decision_that_needs_a_rationale(page: Page, live_server):
    first, second = competing_claims(window_closed=True)
    sign_in(page, live_server, make_reviewer())

    page.goto(live_server.url + "/admin/claims/claim/")
    page.get_by_role("link", name="Items in arbitration").click()
    expect(page.locator("#arbitration-queue tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Arbitrate").click()

    side = page.locator(f"#side-{second.pk}")
    expect(side.get_by_role("button", name="Approve this partner")).to_be_visible()
    expect(page.locator(f"#side-{first.pk}").get_by_role("button", name="Approve this partner")).to_be_visible()
    side.get_by_role("button", name="Approve this partner").click()
    expect(page.locator(".messagelist")).to_contain_text("Write the rationale")

    page.locator(f"#side-{second.pk}").get_by_label("Rationale").fill("The newest statement of work is signed.")
    page.locator(f"#side-{second.pk}").get_by_role("button", name="Approve this partner").click()
    expect(page.locator(".messagelist")).to_contain_text("Decision recorded")
    expect(page.locator("#decided-claims")).to_contain_text(first.claim.partner.name)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.APPROVED)
