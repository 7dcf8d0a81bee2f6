"""The notifications page in a real Chromium: opening a notification is a button of a POST
form (with its CSRF token), which marks it read and goes to the claim."""

import pytest
from playwright.sync_api import Page, expect

from claims.tests.test_browser import sign_in
from cpor.models import Role
from cpor.tests.factories import partner_user
from notifications.models import Notification
from notifications.tests.test_views import notified_claim

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clicking_a_notification_marks_it_read_and_opens_the_claim(page: Page, live_server, partner):
    user = partner_user(partner, Role.INCENTIVES_USER)
    claim = notified_claim(partner, name="Contoso rollout")
    sign_in(page, live_server, user)

    page.goto(live_server.url + "/notifications/")
    expect(page.get_by_test_id("unread-count")).to_contain_text("1")
    page.get_by_test_id("notification").filter(has_text="Contoso rollout").click()

    expect(page).to_have_url(f"{live_server.url}/incentives/customer-associations/{claim.pk}/")
    assert Notification.objects.get(user=user).read_at is not None
    page.goto(live_server.url + "/notifications/")
    expect(page.get_by_test_id("unread-count")).to_have_count(0)
