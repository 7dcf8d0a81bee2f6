# ruff: noqa: F811 (the usage tests take the `world` fixture imported from test_usage)
"""The reviewers' desk, their dashboard and the usage charts in a real Chromium, in English
and French (issue 9, sections 5 and 6)."""

import re

import pytest
from playwright.sync_api import Page, expect

from claims.tests.test_browser import sign_in
from claims.tests.test_desk import claim_under_review
from claims.tests.test_review import make_reviewer
from claims.tests.test_usage import USAGE, world  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_takes_a_claim_from_the_unassigned_queue_and_releases_it(page: Page, live_server):
    claim = claim_under_review(name="Contoso rollout")
    reviewer = make_reviewer(first_name="Rita", last_name="Reviewer")
    sign_in(page, live_server, reviewer)

    page.goto(live_server.url + "/admin/claims/claim/")
    page.get_by_role("link", name="Unassigned").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Contoso rollout").click()
    page.get_by_role("button", name="Take this claim").click()
    expect(page.locator(".messagelist")).to_contain_text("You have taken this claim.")
    expect(page.locator("#claim-assignee")).to_have_text("you")

    page.goto(live_server.url + "/admin/claims/claim/?assigned=mine")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator(".assigned-mine")).to_have_text("Me")
    page.get_by_role("link", name="Contoso rollout").click()
    page.get_by_role("button", name="Release").click()
    expect(page.locator(".messagelist")).to_contain_text("Claim released")
    claim.refresh_from_db()
    assert claim.assigned_to is None


def test_a_french_reviewer_must_confirm_taking_over_a_colleagues_claim(page: Page, live_server):
    from claims import review

    claim = claim_under_review(name="Contoso rollout")
    colleague = make_reviewer(first_name="Colin", last_name="Colleague")
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    sign_in(page, live_server, make_reviewer(language="fr"))

    page.goto(live_server.url + f"/admin/claims/claim/{claim.pk}/change/")
    expect(page.locator("#claim-assignee")).to_have_text("Colin Colleague")
    take_over = page.get_by_role("button", name="Reprendre")
    take_over.click()  # the browser asks for the confirmation box first: nothing is sent
    expect(page.locator("#claim-assignee")).to_have_text("Colin Colleague")
    page.get_by_label("J’ai convenu avec cette personne de la reprendre").check()
    take_over.click()
    expect(page.locator(".messagelist")).to_contain_text("Vous avez pris cette revendication.")
    expect(page.locator("#claim-assignee")).to_have_text("vous")


@pytest.mark.parametrize(
    ("language", "heading", "title"),
    [
        ("en", "Reviewers' dashboard", "Median days from submission to decision, by week"),
        ("fr", "Tableau de bord des réviseurs", "Jours médians entre la soumission et la décision, par semaine"),
    ],
)
def test_the_dashboard_shows_the_desk_and_two_charts_without_a_script(
    page: Page, live_server, language, heading, title
):
    claim_under_review()
    sign_in(page, live_server, make_reviewer(language=language))
    scripts = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)

    page.goto(live_server.url + "/admin/claims/claim/")
    page.locator("#dashboard-link").click()
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("#desk-figures .dashboard-figure").first).to_contain_text("0")
    charts = page.locator("svg.cpor-chart")
    expect(charts).to_have_count(2)
    expect(page.get_by_role("img", name=title)).to_be_visible()
    expect(page.locator("#weekly-figures tbody tr")).to_have_count(12)
    assert charts.first.bounding_box()["width"] > 200  # drawn, not an empty box
    assert not [url for url in scripts if not url.startswith(live_server.url)]


@pytest.mark.parametrize(
    ("language", "heading", "rising"),
    [("en", "Adoption at a glance", "active users rising"), ("fr", "L’adoption en un coup d’œil", "en hausse")],
)
def test_a_partner_sees_adoption_rising_in_the_usage_charts(
    page: Page, live_server, world, incentives_admin, language, heading, rising
):
    incentives_admin.language = language
    incentives_admin.save(update_fields=["language"])
    sign_in(page, live_server, incentives_admin)

    page.goto(live_server.url + USAGE)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    charts = page.locator('[data-testid="usage-charts"] svg.cpor-chart')
    expect(charts).to_have_count(2)
    exchange = page.locator(".usage-chart").first
    expect(exchange).to_contain_text(rising)
    expect(exchange.locator("polyline")).to_have_count(2)
    assert exchange.locator("svg").bounding_box()["height"] > 100
    expect(page.get_by_test_id("usage-table")).to_be_visible()
    # The chart is an image named by its title, for screen readers.
    expect(page.get_by_role("img", name=re.compile("^Contoso, Exchange Online"))).to_be_visible()


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Partners recorded for"), ("fr", "Partenaires enregistrés pour")]
)
def test_the_customer_sees_every_partner_recorded_for_their_tenant(page: Page, live_server, language, heading):
    import time_machine

    from claims.tests.test_customer_view import approved_claim_of
    from claims.tests.test_optout import path_of
    from claims.tests.test_pipeline import MONDAY_MORNING, validated_claim
    from tenants.tests.factories import SubscriptionFactory

    claim = validated_claim()
    approved_claim_of("Litware Partners", claim.tenant, subscription=SubscriptionFactory(tenant=claim.tenant))
    with time_machine.travel(MONDAY_MORNING, tick=True):
        page.goto(live_server.url + path_of(claim) + f"?lang={language}")
    section = page.get_by_test_id("current-associations")
    expect(section.get_by_role("heading")).to_contain_text(heading)
    expect(section.locator("tbody tr")).to_have_count(1)
    expect(section.locator("tbody tr")).to_contain_text("Litware Partners")
