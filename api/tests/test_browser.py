"""In a real Chromium: the Global admin creates a key and sees it once, then the docs page
renders the API from this site alone and the key works over real HTTP."""

import pytest
from playwright.sync_api import Page, expect

from claims.tests.test_browser import sign_in
from cpor.models import Role
from cpor.tests.factories import partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_global_admin_creates_a_key_sees_it_once_and_uses_it(page: Page, live_server, partner):
    admin = partner_user(partner, Role.GLOBAL_ADMIN)
    sign_in(page, live_server, admin)
    page.goto(live_server.url + "/incentives/")
    page.get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_label("Role").select_option(label="Incentives admin")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Copy it now: it is shown this once")).to_be_visible()
    secret = page.get_by_test_id("new-key-value").input_value()
    assert secret.startswith("cpor_")

    page.goto(live_server.url + "/accounts/api-keys/")
    expect(page.get_by_test_id("keys-table")).to_contain_text("CRM sync")
    assert secret not in page.content()

    answer = page.request.get(live_server.url + "/api/v1/claims/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200
    assert answer.json() == {"next": None, "previous": None, "results": []}

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked: it no longer works")).to_be_visible()
    answer = page.request.get(live_server.url + "/api/v1/claims/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 401


def test_the_docs_page_renders_every_operation_from_this_site_alone(page: Page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/api/v1/docs/")
    expect(page.get_by_text("Create a draft claim")).to_be_visible()
    expect(page.get_by_text("Submit a claim")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert requested
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requested), requested
