"""Team management and enrolment services (cpor/services.py): the rules, and that a broken
rule changes nothing."""

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.db import connection, transaction

from cpor import services, tasks
from cpor.models import Membership, MpnId, Program, Role, User
from cpor.tests.factories import MpnIdFactory, UserFactory, partner_user

# The account emails are sent by a worker; here it runs in the test, as soon as queued.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def admin(partner):
    return partner_user(partner, Role.GLOBAL_ADMIN, email="global@fabrikam.example")


def membership(user) -> Membership:
    return Membership.objects.select_related("user").get(user=user)


# --- Inviting ---------------------------------------------------------------------------


def test_invite_creates_a_user_without_password_in_the_admins_partner(
    admin, partner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_invite(
            actor=admin,
            email="  New.Person@Fabrikam.Example ",
            role=Role.BILLING_ADMIN,
            first_name="Nina",
            language="fr",
        )
    user.refresh_from_db()
    assert user.email == "new.person@fabrikam.example"
    assert user.is_active and not user.has_usable_password()
    assert (user.membership.partner, user.membership.role) == (partner, Role.BILLING_ADMIN)
    assert user.language == "fr"
    assert LogEntry.objects.filter(object_id=str(user.pk), user=admin).exists()
    assert len(mail.outbox) == 1


def test_invitation_email_has_text_and_html_in_the_invitees_language_with_a_site_url_link(
    admin, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://cpor.example.net"
    with django_capture_on_commit_callbacks(execute=True):
        services.user_invite(actor=admin, email="marie@fabrikam.example", role=Role.INCENTIVES_ADMIN, language="fr")
    message = mail.outbox[0]
    assert message.to == ["marie@fabrikam.example"]
    assert "invité" in message.subject
    assert "https://cpor.example.net/accounts/invitation/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Administrateur de primes incitatives" in html
    assert 'lang="fr"' in html


def test_inviting_an_address_that_has_an_account_elsewhere_changes_nothing_and_says_nothing(
    admin, other_partner, django_capture_on_commit_callbacks
):
    taken = partner_user(other_partner, Role.INCENTIVES_ADMIN, email="taken@northwind.example")
    UserFactory(email="reviewer@cpor.example", is_staff=True)
    before = User.objects.count()
    for email in ("TAKEN@northwind.example", "reviewer@cpor.example"):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.user_invite(actor=admin, email=email, role=Role.INCENTIVES_USER) is None
    assert User.objects.count() == before
    assert Membership.objects.get(user=taken).partner == other_partner
    assert not Membership.objects.filter(user__email="reviewer@cpor.example").exists()
    assert mail.outbox == []
    assert not LogEntry.objects.filter(user=admin).exists()


def test_inviting_one_of_the_partners_own_users_again_is_refused_by_name(admin, partner):
    member = partner_user(partner, Role.INCENTIVES_USER, email="member@fabrikam.example")
    with pytest.raises(services.AccountError) as error:
        services.user_invite(actor=admin, email="Member@Fabrikam.example", role=Role.GLOBAL_ADMIN)
    assert str(error.value) == "member@fabrikam.example is already one of your organisation's users."
    assert Membership.objects.get(user=member).role == Role.INCENTIVES_USER


def test_the_invitation_email_leaves_from_the_worker_not_the_request(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user = services.user_invite(actor=admin, email="nina@fabrikam.example", role=Role.INCENTIVES_USER)
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()  # what the commit does: queue the job, which the (eager) worker runs
    assert [message.to for message in mail.outbox] == [[user.email]]
    # A job run again after the invitee has set a password sends nothing.
    user.set_password("a-long-new-passphrase")
    user.save()
    assert tasks.invitation_email_send(user.pk, admin.pk) is False
    assert len(mail.outbox) == 1


def test_only_an_active_global_admin_may_invite(partner):
    billing = partner_user(partner, Role.BILLING_ADMIN)
    with pytest.raises(services.AccountError):
        services.user_invite(actor=billing, email="x@example.com", role=Role.INCENTIVES_USER)
    assert not User.objects.filter(email="x@example.com").exists()


def test_resending_an_invitation_voids_the_earlier_link(admin, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_invite(actor=admin, email="late@fabrikam.example", role=Role.INCENTIVES_USER)
    first_link = mail.outbox[0].body.split("http://127.0.0.1:8000")[1].split()[0]
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(actor=admin, membership_id=user.membership.pk)
    assert len(mail.outbox) == 2
    response = client.get(first_link, follow=True)
    assert response.context["validlink"] is False


def test_resending_is_refused_once_the_password_is_set(admin, partner):
    member = partner_user(partner, Role.INCENTIVES_USER)
    with pytest.raises(services.AccountError):
        services.invitation_resend(actor=admin, membership_id=member.membership.pk)
    assert mail.outbox == []


# --- Roles ------------------------------------------------------------------------------


def test_change_role_of_a_user_of_the_partner(admin, partner):
    member = partner_user(partner, Role.INCENTIVES_USER)
    services.membership_change_role(actor=admin, membership_id=member.membership.pk, role=Role.INCENTIVES_ADMIN)
    assert membership(member).role == Role.INCENTIVES_ADMIN
    assert "Role changed from Incentives user to Incentives admin" in LogEntry.objects.get(user=admin).change_message


def test_the_last_active_global_admin_cannot_give_up_the_role(admin):
    with pytest.raises(services.AccountError) as error:
        services.membership_change_role(actor=admin, membership_id=admin.membership.pk, role=Role.BILLING_ADMIN)
    assert "last active Global admin" in str(error.value)
    assert membership(admin).role == Role.GLOBAL_ADMIN
    assert not LogEntry.objects.exists()


def test_a_deactivated_global_admin_does_not_count_as_the_remaining_one(admin, partner):
    partner_user(partner, Role.GLOBAL_ADMIN, is_active=False)
    with pytest.raises(services.AccountError):
        services.membership_change_role(actor=admin, membership_id=admin.membership.pk, role=Role.BILLING_ADMIN)
    assert membership(admin).role == Role.GLOBAL_ADMIN


def test_a_global_admin_may_hand_over_the_role_when_another_remains(admin, partner):
    partner_user(partner, Role.GLOBAL_ADMIN)
    services.membership_change_role(actor=admin, membership_id=admin.membership.pk, role=Role.INCENTIVES_ADMIN)
    assert membership(admin).role == Role.INCENTIVES_ADMIN


def test_another_partners_membership_cannot_be_changed(admin, other_partner):
    stranger = partner_user(other_partner, Role.GLOBAL_ADMIN)
    with pytest.raises(Membership.DoesNotExist):
        services.membership_change_role(actor=admin, membership_id=stranger.membership.pk, role=Role.INCENTIVES_USER)
    with pytest.raises(Membership.DoesNotExist):
        services.user_deactivate(actor=admin, membership_id=stranger.membership.pk)
    stranger.refresh_from_db()
    assert stranger.is_active and membership(stranger).role == Role.GLOBAL_ADMIN


# --- Deactivating -----------------------------------------------------------------------


def test_deactivate_and_reactivate_a_user(admin, partner):
    member = partner_user(partner, Role.INCENTIVES_ADMIN)
    services.user_deactivate(actor=admin, membership_id=member.membership.pk)
    member.refresh_from_db()
    assert not member.is_active
    assert membership(member).role == Role.INCENTIVES_ADMIN
    services.user_reactivate(actor=admin, membership_id=member.membership.pk)
    member.refresh_from_db()
    assert member.is_active


def test_a_global_admin_cannot_deactivate_themself(admin, partner):
    partner_user(partner, Role.GLOBAL_ADMIN)
    with pytest.raises(services.AccountError) as error:
        services.user_deactivate(actor=admin, membership_id=admin.membership.pk)
    assert "your own account" in str(error.value)
    admin.refresh_from_db()
    assert admin.is_active


def test_a_deactivated_global_admin_can_no_longer_act(admin, partner):
    other_admin = partner_user(partner, Role.GLOBAL_ADMIN)
    services.user_deactivate(actor=other_admin, membership_id=admin.membership.pk)
    admin.refresh_from_db()
    member = partner_user(partner, Role.INCENTIVES_USER)
    with pytest.raises(services.AccountError):
        services.user_deactivate(actor=admin, membership_id=member.membership.pk)
    member.refresh_from_db()
    assert member.is_active


# --- MPN IDs' enrolment -----------------------------------------------------------------


def test_set_programs_enrols_the_mpn_in_exactly_those(admin, partner):
    mpn = MpnIdFactory(partner=partner, osa_sell=True, osu_m365=True, osu_bizapps=False)
    services.mpn_set_programs(actor=admin, mpn_id=mpn.pk, programs=[Program.OSU_BIZAPPS])
    mpn.refresh_from_db()
    assert mpn.programs == [Program.OSU_BIZAPPS]
    assert "OSU-BizApps" in LogEntry.objects.get(user=admin).change_message


def test_set_programs_refuses_another_partners_mpn_and_other_roles(admin, partner, other_partner):
    foreign = MpnIdFactory(partner=other_partner)
    with pytest.raises(MpnId.DoesNotExist):
        services.mpn_set_programs(actor=admin, mpn_id=foreign.pk, programs=[])
    own = MpnIdFactory(partner=partner)
    with pytest.raises(services.AccountError):
        services.mpn_set_programs(actor=partner_user(partner, Role.INCENTIVES_ADMIN), mpn_id=own.pk, programs=[])
    foreign.refresh_from_db()
    own.refresh_from_db()
    assert len(foreign.programs) == 3 and len(own.programs) == 3


def test_user_set_language_is_saved(admin):
    services.user_set_language(user=admin, language="fr")
    admin.refresh_from_db()
    assert admin.language == "fr"


@pytest.mark.django_db(transaction=True)
def test_two_global_admins_demoting_each_other_at_once_leave_one_global_admin(partner):
    """The partner row is locked first and the actor's role read again under the lock, so the
    second of two crossing demotions sees the first and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    first = partner_user(partner, Role.GLOBAL_ADMIN)
    second = partner_user(partner, Role.GLOBAL_ADMIN)
    refused = []

    def second_demotes_first():
        try:
            services.membership_change_role(actor=second, membership_id=first.membership.pk, role=Role.BILLING_ADMIN)
        except services.AccountError as error:
            refused.append(str(error))
        finally:
            connection.close()

    with transaction.atomic():
        services.membership_change_role(actor=first, membership_id=second.membership.pk, role=Role.BILLING_ADMIN)
        crossing = threading.Thread(target=second_demotes_first)
        crossing.start()
        crossing.join(timeout=1)
        assert crossing.is_alive(), "the second demotion must wait for the first one's lock"
    crossing.join(timeout=10)
    assert refused == ["Only a Global admin can manage the organisation's users and MPN IDs."]
    assert membership(first).role == Role.GLOBAL_ADMIN
    assert membership(second).role == Role.BILLING_ADMIN
