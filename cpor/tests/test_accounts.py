"""Signing in and out, password reset, accepting an invitation, and the language switch
(cpor/views.py, cpor/forms.py, cpor/middleware.py)."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from cpor import services
from cpor.celery import app
from cpor.models import Role, User
from cpor.tests.factories import PASSWORD, UserFactory, partner_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def link_in(message) -> str:
    """The path of the one link in an email's text part."""
    url = re.search(r"https?://\S+", message.body).group(0)
    return url.removeprefix(settings.SITE_URL)


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": email, "password": password, **extra})


@pytest.fixture
def ask_reset(client, django_capture_on_commit_callbacks):
    """Ask for a reset link on the page; the job it queues after commit runs here, eagerly,
    as the worker would run it."""

    def _ask(email):
        app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True):
                return client.post(reverse("password_reset"), {"email": email})
        finally:
            app.conf.task_always_eager = False

    return _ask


# --- Signing in -------------------------------------------------------------------------


def test_sign_in_with_email_and_password_goes_to_the_users_work(client, incentives_admin):
    response = sign_in(client, incentives_admin.email)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session["_auth_user_id"] == str(incentives_admin.pk)


def test_sign_in_compares_the_email_case_insensitively(client, incentives_admin):
    response = sign_in(client, incentives_admin.email.upper())
    assert response.status_code == 302


def test_sign_in_follows_a_safe_next_but_not_an_outside_one(client, incentives_admin):
    assert sign_in(client, incentives_admin.email, next="/accounts/mpn-ids/").url == "/accounts/mpn-ids/"
    client.logout()
    assert sign_in(client, incentives_admin.email, next="https://evil.example/").url == reverse("home")


def test_bad_credentials_say_so_clearly_and_sign_nobody_in(client, incentives_admin):
    for email, password in ((incentives_admin.email, "wrong-password"), ("nobody@example.com", PASSWORD)):
        response = sign_in(client, email, password)
        assert response.status_code == 200
        assert "The email address or password is incorrect." in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_a_deactivated_user_cannot_sign_in_and_is_told_why_only_with_the_right_password(client, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, is_active=False)
    response = sign_in(client, user.email)
    assert "This account has been deactivated." in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = sign_in(client, user.email, "wrong-password")
    assert "deactivated" not in response.content.decode()
    assert "The email address or password is incorrect." in response.content.decode()


def test_a_deactivated_user_loses_an_open_session(client, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    client.force_login(user)
    assert client.get(reverse("mpn_ids")).status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get(reverse("mpn_ids"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_sign_out_is_a_post_and_ends_the_session(client, incentives_admin):
    client.force_login(incentives_admin)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "_auth_user_id" not in client.session
    assert "You have signed out." in response.content.decode()


def test_the_sign_in_page_offers_the_language_switch_and_password_reset(client):
    page = client.get(LOGIN).content.decode()
    assert 'action="/accounts/language/"' in page
    assert 'href="/accounts/password-reset/"' in page


# --- Password reset ---------------------------------------------------------------------


def test_password_reset_emails_a_site_url_link_in_the_users_language(ask_reset, partner, settings):
    settings.SITE_URL = "https://cpor.example.net"
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language="fr")
    response = ask_reset(user.email.upper())
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "Réinitialiser votre mot de passe CPOR"
    assert "https://cpor.example.net/accounts/reset/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "https://cpor.example.net/accounts/reset/" in html


def test_password_reset_link_sets_a_new_password_once(client, ask_reset, incentives_admin):
    ask_reset(incentives_admin.email)
    link = link_in(mail.outbox[0])
    form_url = client.get(link).url
    response = client.post(
        form_url, {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"}
    )
    assert response.status_code == 302 and response.url == reverse("password_reset_complete")
    incentives_admin.refresh_from_db()
    assert incentives_admin.check_password("a-new-long-passphrase")
    assert client.get(link).context["validlink"] is False


def test_password_reset_for_an_unknown_or_deactivated_address_sends_nothing_and_says_the_same(ask_reset, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, is_active=False)
    for email in ("nobody@example.com", user.email):
        response = ask_reset(email)
        assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_reset_link_stops_working_when_the_user_is_deactivated(client, ask_reset, incentives_admin):
    ask_reset(incentives_admin.email)
    link = link_in(mail.outbox[0])
    User.objects.filter(pk=incentives_admin.pk).update(is_active=False)
    response = client.get(link)
    assert response.status_code == 200 and response.context["validlink"] is False


# --- Accepting an invitation ------------------------------------------------------------


@pytest.fixture
def invitation(partner, django_capture_on_commit_callbacks, eager_tasks):
    admin = partner_user(partner, Role.GLOBAL_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.user_invite(actor=admin, email="invitee@fabrikam.example", role=Role.INCENTIVES_ADMIN)
    return invitee, link_in(mail.outbox[-1])


def test_an_invitee_sets_a_password_and_is_signed_in(client, invitation):
    invitee, link = invitation
    form_url = client.get(link).url
    page = client.get(form_url)
    assert "invitee@fabrikam.example" in page.content.decode()
    response = client.post(
        form_url, {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"}, follow=True
    )
    assert client.session["_auth_user_id"] == str(invitee.pk)
    assert "Your password is set. Welcome to CPOR." in response.content.decode()
    invitee.refresh_from_db()
    assert invitee.check_password("a-new-long-passphrase")
    # The link works once.
    assert client.get(link).context["validlink"] is False


def test_an_invitation_refuses_a_weak_password_and_keeps_the_account_without_one(client, invitation):
    invitee, link = invitation
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200
    assert response.context["form"].errors
    invitee.refresh_from_db()
    assert not invitee.has_usable_password()


def test_an_invitation_to_a_deactivated_user_no_longer_works(client, invitation):
    invitee, link = invitation
    User.objects.filter(pk=invitee.pk).update(is_active=False)
    response = client.get(link)
    assert response.context["validlink"] is False
    assert "This invitation no longer works" in response.content.decode()


def test_a_tampered_invitation_link_does_not_work(client, invitation):
    invitee, link = invitation
    response = client.get(link[:-3] + "xyz/")
    assert response.status_code == 200 and response.context["validlink"] is False


# --- Language -----------------------------------------------------------------------------


def test_the_sign_in_page_is_in_french_once_french_is_chosen(client):
    response = client.post(reverse("set_language"), {"language": "fr", "next": LOGIN})
    assert response.status_code == 302 and response.url == LOGIN
    page = client.get(LOGIN).content.decode()
    assert '<html lang="fr">' in page
    assert "Se connecter" in page
    assert "Adresse e-mail" in page
    assert "Mot de passe oublié ?" in page


def test_bad_sign_in_message_is_in_french_too(client, incentives_admin):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = sign_in(client, incentives_admin.email, "wrong-password")
    assert "L’adresse e-mail ou le mot de passe est incorrect." in response.content.decode()


def test_the_browsers_language_is_used_before_any_choice(client):
    page = client.get(LOGIN, headers={"accept-language": "fr-FR,fr;q=0.9"}).content.decode()
    assert "Se connecter" in page


def test_switching_language_when_signed_in_saves_it_for_emails(client, incentives_admin):
    client.force_login(incentives_admin)
    client.post(reverse("set_language"), {"language": "fr", "next": "/accounts/mpn-ids/"})
    incentives_admin.refresh_from_db()
    assert incentives_admin.language == "fr"


def test_set_language_never_redirects_off_site_nor_saves_an_unknown_language(client, incentives_admin):
    client.force_login(incentives_admin)
    response = client.post(reverse("set_language"), {"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 302 and not response.url.startswith("https://evil.example")
    incentives_admin.refresh_from_db()
    assert incentives_admin.language == "en"


def test_a_signed_in_user_sees_their_saved_language_until_they_choose_another(client, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language="fr")
    client.force_login(user)
    assert '<html lang="fr">' in client.get(reverse("mpn_ids")).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert '<html lang="en">' in client.get(reverse("mpn_ids")).content.decode()


def test_a_language_chosen_on_the_sign_in_page_becomes_the_users(client, incentives_admin):
    client.post(reverse("set_language"), {"language": "fr", "next": LOGIN})
    sign_in(client, incentives_admin.email)
    incentives_admin.refresh_from_db()
    assert incentives_admin.language == "fr"


def test_staff_accounts_sign_in_on_the_same_page(client):
    reviewer = UserFactory(email="reviewer@cpor.example", is_staff=True, is_superuser=True)
    response = sign_in(client, reviewer.email)
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("admin:index")
