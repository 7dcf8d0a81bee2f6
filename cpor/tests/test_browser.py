"""Signing in, the language switch and an invitation, in a real Chromium."""

import re

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Page, expect

from cpor.models import Role, User
from cpor.tests.factories import PASSWORD, MpnIdFactory, partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_partner_switches_to_french_on_the_sign_in_page_and_signs_in(page: Page, live_server, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, email="ada@fabrikam.example")
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.get_by_label("Adresse e-mail").fill("ADA@fabrikam.example")
    page.get_by_label("Mot de passe").fill("not-the-password")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("L’adresse e-mail ou le mot de passe est incorrect.")).to_be_visible()
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Administrateur de primes incitatives")
    user.refresh_from_db()
    assert user.language == "fr"
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()


def test_a_global_admin_invites_a_colleague_who_sets_a_password(page: Page, live_server, partner, eager_tasks):
    partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")
    MpnIdFactory(partner=partner, mpn_id="1234567")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email address").fill("global@fabrikam.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Users").click()
    invite = page.locator("#invite-form")
    invite.get_by_label("Email address").fill("new.colleague@fabrikam.example")
    invite.get_by_label("Role").select_option(label="Billing admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("Invitation sent to new.colleague@fabrikam.example.")
    page.get_by_role("button", name="Sign out").click()

    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + link.removeprefix(settings.SITE_URL))
    expect(page.get_by_role("heading", name="Welcome to CPOR")).to_be_visible()
    page.locator("#id_new_password1").fill("a-long-new-passphrase")
    page.get_by_label("New password confirmation").fill("a-long-new-passphrase")
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("new.colleague@fabrikam.example")
    page.get_by_role("link", name="MPN IDs").click()
    expect(page.get_by_test_id("mpn-1234567")).to_contain_text("OSU-M365")
    assert User.objects.get(email="new.colleague@fabrikam.example").has_usable_password()
