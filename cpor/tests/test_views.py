"""The Users and MPN IDs pages (cpor/views.py) as a Global admin uses them."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.formats import date_format

from cpor.models import Membership, Role, User
from cpor.tests.factories import MpnIdFactory, partner_user

# The account emails are sent by a worker; here it runs in the test, as soon as queued.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def admin(partner):
    return partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_users_page_lists_email_name_role_state_and_last_sign_in(admin_client, partner):
    partner_user(partner, Role.BILLING_ADMIN, email="billing@fabrikam.example", first_name="Bea", last_name="Bill")
    partner_user(partner, Role.INCENTIVES_USER, email="gone@fabrikam.example", is_active=False)
    page = admin_client.get(reverse("team")).content.decode()
    for text in ("billing@fabrikam.example", "Bea Bill", "Deactivated", "Never", "Reactivate", "Invite a user"):
        assert text in page
    assert '<option value="billing_admin" selected>Billing admin</option>' in page


def test_the_last_sign_in_names_its_zone(admin_client, admin):
    page = admin_client.get(reverse("team")).content.decode()

    admin.refresh_from_db()
    assert f"{date_format(admin.last_login, 'SHORT_DATETIME_FORMAT')} (UTC)" in page


def test_invite_from_the_users_page_sends_the_email_and_lists_the_invitee(
    admin_client, partner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("team_invite"),
            {"email": "Nina@Fabrikam.example", "first_name": "Nina", "role": Role.INCENTIVES_ADMIN, "language": "en"},
            follow=True,
        )
    assert "Invitation sent to nina@fabrikam.example." in messages_of(response)
    assert mail.outbox[0].to == ["nina@fabrikam.example"]
    invitee = User.objects.get(email="nina@fabrikam.example")
    assert invitee.membership.partner == partner
    assert "Invited" in response.content.decode()
    assert "Resend invitation" in response.content.decode()


def test_changing_a_role_says_what_it_now_is(admin_client, partner):
    member = partner_user(partner, Role.INCENTIVES_USER, email="ivy@fabrikam.example")
    pk = member.membership.pk
    response = admin_client.post(reverse("team_role", kwargs={"pk": pk}), {f"m{pk}-role": "billing_admin"}, follow=True)
    assert "ivy@fabrikam.example is now Billing admin." in messages_of(response)
    assert Membership.objects.get(pk=pk).role == Role.BILLING_ADMIN


def test_a_global_admin_who_hands_over_the_role_is_sent_home(admin_client, admin, partner):
    partner_user(partner, Role.GLOBAL_ADMIN)
    pk = admin.membership.pk
    response = admin_client.post(reverse("team_role", kwargs={"pk": pk}), {f"m{pk}-role": "incentives_admin"})
    assert response.url == reverse("home")


def test_deactivating_then_reactivating_from_the_users_page(admin_client, partner):
    member = partner_user(partner, Role.INCENTIVES_ADMIN, email="dan@fabrikam.example")
    pk = member.membership.pk
    response = admin_client.post(reverse("team_deactivate", kwargs={"pk": pk}), follow=True)
    assert "dan@fabrikam.example can no longer sign in." in messages_of(response)
    member.refresh_from_db()
    assert not member.is_active
    response = admin_client.post(reverse("team_reactivate", kwargs={"pk": pk}), follow=True)
    assert "dan@fabrikam.example can sign in again." in messages_of(response)
    member.refresh_from_db()
    assert member.is_active


def test_the_users_page_offers_no_deactivate_button_for_oneself(admin_client, admin):
    page = admin_client.get(reverse("team")).content.decode()
    assert reverse("team_deactivate", kwargs={"pk": admin.membership.pk}) not in page


def test_mpn_ids_page_shows_location_partner_type_and_programmes(client, partner):
    MpnIdFactory(partner=partner, mpn_id="1234567", location="Lyon, FR", partner_type="FRP FastTrack", osa_sell=False)
    client.force_login(partner_user(partner, Role.INCENTIVES_USER))
    page = client.get(reverse("mpn_ids")).content.decode()
    for text in ("1234567", "Lyon, FR", "FRP FastTrack", "OSU-M365", "OSU-BizApps"):
        assert text in page
    assert "OSA-Sell</span>" not in page
    assert "Global admin manages the enrolment" in page


def test_the_global_admin_changes_an_mpn_ids_enrolment(admin_client, partner):
    mpn = MpnIdFactory(partner=partner, mpn_id="1234567", osa_sell=False, osu_m365=True, osu_bizapps=False)
    prefix = f"mpn-{mpn.pk}"
    response = admin_client.post(
        reverse("mpn_programs", kwargs={"pk": mpn.pk}),
        {f"{prefix}-osa_sell": "on", f"{prefix}-osu_bizapps": "on"},
        follow=True,
    )
    assert "MPN ID 1234567 is enrolled in: OSA-Sell, OSU-BizApps." in messages_of(response)
    mpn.refresh_from_db()
    assert (mpn.osa_sell, mpn.osu_m365, mpn.osu_bizapps) == (True, False, True)


def test_withdrawing_every_programme_says_so(admin_client, partner):
    mpn = MpnIdFactory(partner=partner, mpn_id="1234567")
    response = admin_client.post(reverse("mpn_programs", kwargs={"pk": mpn.pk}), {}, follow=True)
    assert "MPN ID 1234567 is enrolled in: no programme." in messages_of(response)
    mpn.refresh_from_db()
    assert mpn.programs == []


def test_the_users_page_in_french_uses_the_seeds_role_names(admin_client, settings):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = admin_client.get(reverse("team")).content.decode()
    for text in ("Utilisateurs", "Administrateur général", "Administrateur de primes incitatives", "Inviter"):
        assert text in page
