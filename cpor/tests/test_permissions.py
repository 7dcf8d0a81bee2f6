"""Every URL of cpor/account_urls.py walked as anonymous (sign-in), wrong role (403),
another partner's object (404) and the right role; then the unhappy paths of the Users
page, each with a clear message and nothing changed."""

import re

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse

from cpor.models import Membership, MpnId, Role, User
from cpor.tests.factories import MpnIdFactory, UserFactory, partner_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture
def admin(partner):
    return partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")


@pytest.fixture
def member(partner):
    return partner_user(partner, Role.INCENTIVES_USER, email="member@fabrikam.example")


@pytest.fixture
def invitee(partner):
    user = partner_user(partner, Role.INCENTIVES_USER, email="invitee@fabrikam.example")
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def stranger(other_partner):
    """A Global admin of another partner, with that partner's MPN ID."""
    user = partner_user(other_partner, Role.GLOBAL_ADMIN, email="global@northwind.example")
    MpnIdFactory(partner=other_partner, mpn_id="7654321")
    return user


# (url name, method, the object in the URL, POST data) for the Global admin's own pages.
def manage_urls(member, invitee, mpn):
    return [
        ("team", "get", None, {}),
        (
            "team_invite",
            "post",
            None,
            {"email": "new@fabrikam.example", "role": Role.INCENTIVES_USER, "language": "en"},
        ),
        ("team_role", "post", member.membership, {f"m{member.membership.pk}-role": Role.BILLING_ADMIN}),
        ("team_deactivate", "post", member.membership, {}),
        # Run in this order, the member deactivated above is reactivated here.
        ("team_reactivate", "post", member.membership, {}),
        ("team_resend_invitation", "post", invitee.membership, {}),
        ("mpn_programs", "post", mpn, {f"mpn-{mpn.pk}-osa_sell": "on"}),
    ]


def page_without_noise(response) -> str:
    """The page, less what differs on every request: the CSRF token and the address itself
    (which the language switch sends back to)."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return page.replace(response.request["PATH_INFO"], "")


def url_of(name, obj):
    return reverse(name, kwargs={"pk": obj.pk}) if obj is not None else reverse(name)


def call(client, method, url, data):
    return client.get(url) if method == "get" else client.post(url, data)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_partner_page(client, member, invitee, mpn):
    urls = [*manage_urls(member, invitee, mpn), ("mpn_ids", "get", None, {})]
    for name, method, obj, data in urls:
        url = url_of(name, obj)
        response = call(client, method, url, data)
        assert response.status_code == 302, name
        assert response.url == f"{LOGIN}?next={url}", name
    assert Membership.objects.get(pk=member.membership.pk).role == Role.INCENTIVES_USER


@pytest.mark.parametrize("role", [Role.INCENTIVES_ADMIN, Role.INCENTIVES_USER, Role.BILLING_ADMIN])
def test_other_roles_get_403_on_the_global_admins_pages(client, partner, role, member, invitee, mpn):
    client.force_login(partner_user(partner, role))
    for name, method, obj, data in manage_urls(member, invitee, mpn):
        response = call(client, method, url_of(name, obj), data)
        assert response.status_code == 403, name
        assert "You cannot do this with your role" in response.content.decode()
    member.refresh_from_db()
    mpn.refresh_from_db()
    assert member.is_active and member.membership.role == Role.INCENTIVES_USER
    assert len(mpn.programs) == 3
    assert not User.objects.filter(email="new@fabrikam.example").exists()


def test_a_vendor_staff_account_gets_403_on_partner_pages(client, member, invitee, mpn):
    client.force_login(UserFactory(is_staff=True))
    for name, method, obj, data in [*manage_urls(member, invitee, mpn), ("mpn_ids", "get", None, {})]:
        assert call(client, method, url_of(name, obj), data).status_code == 403, name


def test_another_partners_objects_answer_404_like_missing_ones(client, admin, stranger, other_partner):
    client.force_login(admin)
    foreign_membership = stranger.membership
    foreign_mpn = MpnId.objects.get(partner=other_partner)
    for name, obj in [
        ("team_role", foreign_membership),
        ("team_deactivate", foreign_membership),
        ("team_reactivate", foreign_membership),
        ("team_resend_invitation", foreign_membership),
        ("mpn_programs", foreign_mpn),
    ]:
        response = client.post(reverse(name, kwargs={"pk": obj.pk}), {f"m{obj.pk}-role": Role.INCENTIVES_USER})
        missing = client.post(reverse(name, kwargs={"pk": 999999}), {"m999999-role": Role.INCENTIVES_USER})
        assert response.status_code == missing.status_code == 404, name
        assert page_without_noise(response) == page_without_noise(missing), name
        assert other_partner.name not in response.content.decode()
    stranger.refresh_from_db()
    assert stranger.is_active and stranger.membership.role == Role.GLOBAL_ADMIN
    assert len(foreign_mpn.programs) == 3


def test_the_global_admin_may_use_every_page(client, admin, member, invitee, mpn):
    client.force_login(admin)
    expected = {"team": 200}
    for name, method, obj, data in manage_urls(member, invitee, mpn):
        response = call(client, method, url_of(name, obj), data)
        assert response.status_code == expected.get(name, 302), name
    assert client.get(reverse("mpn_ids")).status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_every_partner_role_reads_the_mpn_ids_page(client, partner, role, mpn, stranger):
    client.force_login(partner_user(partner, role))
    page = client.get(reverse("mpn_ids")).content.decode()
    assert "1112223" in page
    assert "7654321" not in page
    assert ('action="/accounts/mpn-ids/' in page) is (role == Role.GLOBAL_ADMIN)


def test_a_users_page_shows_only_the_partners_people(client, admin, member, stranger):
    client.force_login(admin)
    page = client.get(reverse("team")).content.decode()
    assert member.email in page and admin.email in page
    assert stranger.email not in page


def test_get_on_a_write_url_is_refused(client, admin, member):
    client.force_login(admin)
    assert client.get(reverse("team_deactivate", kwargs={"pk": member.membership.pk})).status_code == 405
    member.refresh_from_db()
    assert member.is_active


def test_an_unknown_address_renders_the_404_page_in_the_site_layout(client, admin):
    client.force_login(admin)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "navbar" in page
    # Nothing of Django's technical page: no resolver message, no URL patterns.
    assert "URLconf" not in page and "Resolver404" not in page


# --- Unhappy paths: a clear message, and nothing changes --------------------------------


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_bad_sign_in_changes_nothing(client, member):
    last_login = member.last_login
    response = client.post(reverse("login"), {"username": member.email, "password": "nope"})
    assert "The email address or password is incorrect." in response.content.decode()
    member.refresh_from_db()
    assert member.last_login == last_login
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("email", ["not-an-email", "", "two@@example.com"])
def test_a_bad_invite_email_is_refused_with_a_message(client, admin, email):
    client.force_login(admin)
    before = User.objects.count()
    response = client.post(reverse("team_invite"), {"email": email, "role": Role.INCENTIVES_USER, "language": "en"})
    assert response.status_code == 400
    assert response.context["invite_form"].errors["email"]
    assert User.objects.count() == before
    assert mail.outbox == []


def test_a_tampered_role_is_refused(client, admin, member):
    client.force_login(admin)
    url = reverse("team_role", kwargs={"pk": member.membership.pk})
    response = client.post(url, {f"m{member.membership.pk}-role": "superuser"}, follow=True)
    assert "Choose one of the roles in the list." in messages_of(response)
    assert Membership.objects.get(pk=member.membership.pk).role == Role.INCENTIVES_USER


def test_inviting_an_address_with_an_account_elsewhere_answers_like_a_new_one_and_changes_nothing(
    client, admin, stranger, other_partner, django_capture_on_commit_callbacks, eager_tasks
):
    """The answer must not tell a Global admin who the vendor's staff or a competitor's users are."""
    UserFactory(email="reviewer@cpor.example", is_staff=True)
    client.force_login(admin)
    before = User.objects.count()
    pages = {}
    for email in ("Global@Northwind.example", "reviewer@cpor.example", "brand.new@fabrikam.example"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("team_invite"), {"email": email, "role": Role.INCENTIVES_USER, "language": "en"}, follow=True
            )
        assert response.status_code == 200 and response.redirect_chain == [(reverse("team"), 302)]
        pages[email] = messages_of(response)
    assert pages["Global@Northwind.example"] == ["Invitation sent to global@northwind.example."]
    assert pages["reviewer@cpor.example"] == ["Invitation sent to reviewer@cpor.example."]
    assert pages["brand.new@fabrikam.example"] == ["Invitation sent to brand.new@fabrikam.example."]
    assert User.objects.count() == before + 1
    assert stranger.membership.partner == other_partner
    assert not Membership.objects.filter(user__email="reviewer@cpor.example").exists()
    assert [message.to for message in mail.outbox] == [["brand.new@fabrikam.example"]]


def test_inviting_one_of_the_partners_own_users_again_says_so_in_english_and_french(client, admin, member):
    client.force_login(admin)
    for language, expected in (
        ("en", f"{member.email} is already one of your organisation&#x27;s users."),
        ("fr", f"{member.email} fait déjà partie des utilisateurs de votre organisation."),
    ):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.post(
            reverse("team_invite"), {"email": member.email, "role": Role.GLOBAL_ADMIN, "language": "en"}
        )
        assert response.status_code == 400
        assert expected in response.content.decode()
    assert Membership.objects.get(user=member).role != Role.GLOBAL_ADMIN


def test_the_last_global_admin_cannot_give_up_the_role(client, admin):
    client.force_login(admin)
    url = reverse("team_role", kwargs={"pk": admin.membership.pk})
    response = client.post(url, {f"m{admin.membership.pk}-role": Role.BILLING_ADMIN}, follow=True)
    assert (
        "global@fabrikam.example is your organisation's last active Global admin. "
        "Make another user Global admin first." in messages_of(response)
    )
    assert Membership.objects.get(pk=admin.membership.pk).role == Role.GLOBAL_ADMIN
    assert not LogEntry.objects.exists()


def test_a_global_admin_cannot_deactivate_themself(client, admin, partner):
    partner_user(partner, Role.GLOBAL_ADMIN)
    client.force_login(admin)
    response = client.post(reverse("team_deactivate", kwargs={"pk": admin.membership.pk}), follow=True)
    assert "You cannot deactivate your own account. Ask another Global admin." in messages_of(response)
    admin.refresh_from_db()
    assert admin.is_active
    assert not LogEntry.objects.exists()


def test_a_tampered_membership_id_is_a_404_and_changes_nothing(client, admin, stranger):
    client.force_login(admin)
    for value in (stranger.membership.pk, 0, 10**9):
        assert client.post(reverse("team_deactivate", kwargs={"pk": value})).status_code == 404
    assert client.post(f"/accounts/users/{stranger.membership.pk}abc/deactivate/").status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active
    assert not LogEntry.objects.exists()
