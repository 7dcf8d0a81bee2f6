"""Partners, MPN IDs and users in the Django admin (cpor/admin.py)."""

import pytest
from django.conf import settings
from django.urls import reverse

from cpor.models import Membership, Role, User
from cpor.reviewers import reviewers_group_ensure
from cpor.tests.factories import PASSWORD, MpnIdFactory, PartnerFactory, UserFactory, partner_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    user = UserFactory(is_staff=True)
    group, _ = reviewers_group_ensure()
    user.groups.add(group)
    return user


@pytest.fixture
def fabrikam():
    partner = PartnerFactory(partner_id="4000001", name="Fabrikam Consulting")
    MpnIdFactory(partner=partner, mpn_id="4000001", location="Paris, FR", osu_m365=False)
    return partner


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def test_the_back_office_is_named_cpor_not_django(client, reviewer):
    client.force_login(reviewer)

    page = client.get(reverse("admin:index")).content.decode()

    assert "CPOR back office" in page
    assert "Django administration" not in page


@pytest.mark.parametrize("model", ["partner", "mpnid", "user", "membership"])
def test_a_reviewer_can_open_each_list(client, reviewer, fabrikam, model):
    partner_user(fabrikam)
    client.force_login(reviewer)

    response = client.get(reverse(f"admin:cpor_{model}_changelist"))

    assert response.status_code == 200
    assert listed(response)


@pytest.mark.parametrize("model", ["partner", "mpnid", "user", "membership"])
def test_a_partner_user_is_sent_to_the_admin_sign_in(client, fabrikam, model):
    client.force_login(partner_user(fabrikam, Role.GLOBAL_ADMIN))

    response = client.get(reverse(f"admin:cpor_{model}_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_reviewer_finds_a_partner_by_name_or_id(client, reviewer, fabrikam):
    PartnerFactory(name="Northwind Advisory")
    client.force_login(reviewer)

    by_name = client.get(reverse("admin:cpor_partner_changelist"), {"q": "fabrikam"})
    by_id = client.get(reverse("admin:cpor_partner_changelist"), {"q": "4000001"})

    assert listed(by_name) == [fabrikam]
    assert listed(by_id) == [fabrikam]


def test_a_partner_page_shows_its_mpn_ids(client, reviewer, fabrikam):
    client.force_login(reviewer)

    response = client.get(reverse("admin:cpor_partner_change", args=[fabrikam.pk]))

    assert response.status_code == 200
    assert b"Paris, FR" in response.content


def test_the_mpn_id_list_filters_by_programme(client, reviewer, fabrikam):
    enrolled = MpnIdFactory(partner=fabrikam, osu_m365=True)
    client.force_login(reviewer)

    response = client.get(reverse("admin:cpor_mpnid_changelist"), {"osu_m365__exact": "1"})

    assert listed(response) == [enrolled]


def test_partners_and_mpn_ids_are_read_only_in_the_admin(client, fabrikam):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get(reverse("admin:cpor_partner_add")).status_code == 403
    assert client.get(reverse("admin:cpor_mpnid_add")).status_code == 403


def test_a_reviewer_finds_a_user_by_email_and_sees_the_partner_and_role(client, reviewer, fabrikam):
    user = partner_user(fabrikam, Role.BILLING_ADMIN, email="billing@fabrikam.example")
    client.force_login(reviewer)

    response = client.get(reverse("admin:cpor_user_changelist"), {"q": "billing@"})

    assert listed(response) == [user]
    assert b"Fabrikam Consulting" in response.content
    assert b"Billing admin" in response.content


def test_a_superuser_adds_a_user_by_email_and_gives_them_a_membership(client, fabrikam):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:cpor_user_add"),
        {
            "email": "New.Person@Fabrikam.example",
            "usable_password": "true",
            "password1": "x7-Kq!m2pL",
            "password2": "x7-Kq!m2pL",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@fabrikam.example")
    assert user.check_password("x7-Kq!m2pL")
    response = client.get(reverse("admin:cpor_user_change", args=[user.pk]))
    assert b"membership-0-role" in response.content or b"membership-__prefix__-role" in response.content


def user_change_data(user, membership, **changes):
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "is_active": "on",
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
        "membership-TOTAL_FORMS": "1",
        "membership-INITIAL_FORMS": "1" if membership else "0",
        "membership-MIN_NUM_FORMS": "0",
        "membership-MAX_NUM_FORMS": "1",
        "membership-0-id": membership.pk if membership else "",
        "membership-0-user": user.pk,
        "membership-0-partner": membership.partner_id if membership else "",
        "membership-0-role": membership.role if membership else "",
    }
    data.update(changes)
    return data


def test_a_reviewer_reads_users_and_memberships_but_cannot_change_them(client, reviewer, fabrikam):
    user = partner_user(fabrikam, Role.GLOBAL_ADMIN, email="global@fabrikam.example")
    membership = Membership.objects.get(user=user)
    client.force_login(reviewer)

    user_page = client.get(reverse("admin:cpor_user_change", args=[user.pk]))
    membership_page = client.get(reverse("admin:cpor_membership_change", args=[membership.pk]))

    assert user_page.status_code == 200 and membership_page.status_code == 200
    assert b"global@fabrikam.example" in user_page.content
    assert b'name="_save"' not in user_page.content and b'name="_save"' not in membership_page.content


def test_a_reviewer_cannot_change_a_partner_users_email_role_or_membership(client, reviewer, fabrikam):
    user = partner_user(fabrikam, Role.INCENTIVES_ADMIN, email="incentives@fabrikam.example")
    membership = Membership.objects.get(user=user)
    client.force_login(reviewer)

    user_post = client.post(
        reverse("admin:cpor_user_change", args=[user.pk]),
        user_change_data(
            user, membership, email="mine@cpor.example", is_staff="on", **{"membership-0-role": Role.GLOBAL_ADMIN}
        ),
    )
    membership_post = client.post(
        reverse("admin:cpor_membership_change", args=[membership.pk]),
        {"user": reviewer.pk, "partner": fabrikam.pk, "role": Role.GLOBAL_ADMIN},
    )

    assert user_post.status_code == 403 and membership_post.status_code == 403
    user.refresh_from_db()
    membership.refresh_from_db()
    assert user.email == "incentives@fabrikam.example" and not user.is_staff
    assert (membership.user_id, membership.role) == (user.pk, Role.INCENTIVES_ADMIN)


def test_a_reviewer_cannot_give_themself_a_partner_membership(client, reviewer, fabrikam):
    client.force_login(reviewer)

    add_page = client.get(reverse("admin:cpor_membership_add"))
    added = client.post(
        reverse("admin:cpor_membership_add"), {"user": reviewer.pk, "partner": fabrikam.pk, "role": Role.GLOBAL_ADMIN}
    )
    inline = client.post(
        reverse("admin:cpor_user_change", args=[reviewer.pk]),
        user_change_data(
            reviewer,
            None,
            **{"membership-0-partner": fabrikam.pk, "membership-0-role": Role.GLOBAL_ADMIN},
        ),
    )

    assert add_page.status_code == 403 and added.status_code == 403 and inline.status_code == 403
    assert not Membership.objects.filter(user=reviewer).exists()


def test_a_reviewer_cannot_set_a_partner_users_password(client, reviewer, fabrikam):
    user = partner_user(fabrikam, Role.GLOBAL_ADMIN, email="global@fabrikam.example")
    client.force_login(reviewer)
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    page = client.get(url)
    posted = client.post(url, {"password1": "reviewer-chose-this-1", "password2": "reviewer-chose-this-1"})

    assert page.status_code == 403 and posted.status_code == 403
    assert "You cannot do this with your role" in posted.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    in_french = client.post(url, {"password1": "reviewer-chose-this-1", "password2": "reviewer-chose-this-1"})
    assert in_french.status_code == 403 and "Votre rôle ne permet pas cette action" in in_french.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not user.check_password("reviewer-chose-this-1")


def test_a_superuser_cannot_give_a_staff_account_a_partner_membership(client, reviewer, fabrikam):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:cpor_membership_add"), {"user": reviewer.pk, "partner": fabrikam.pk, "role": Role.GLOBAL_ADMIN}
    )

    assert response.status_code == 200
    assert "A vendor staff account cannot belong to a partner." in response.content.decode()
    assert not Membership.objects.filter(user=reviewer).exists()


def test_a_superuser_cannot_make_a_partner_user_staff(client, fabrikam):
    user = partner_user(fabrikam, Role.INCENTIVES_ADMIN, email="incentives@fabrikam.example")
    membership = Membership.objects.get(user=user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:cpor_user_change", args=[user.pk]), user_change_data(user, membership, is_staff="on")
    )

    assert response.status_code == 200
    assert "A vendor staff account cannot belong to a partner." in response.content.decode()
    user.refresh_from_db()
    assert not user.is_staff


def test_a_reviewer_cannot_change_a_staff_account_or_its_password(client, reviewer):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(reviewer)

    password_page = client.get(reverse("admin:auth_user_password_change", args=[admin_user.pk]))
    client.post(reverse("admin:cpor_user_change", args=[admin_user.pk]), {"email": admin_user.email, "is_active": ""})

    assert password_page.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_superuser_cannot_make_a_user_staff_and_give_a_membership_in_one_save(client, fabrikam):
    user = UserFactory(email="someone@fabrikam.example")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:cpor_user_change", args=[user.pk]),
        user_change_data(
            user, None, is_staff="on", **{"membership-0-partner": fabrikam.pk, "membership-0-role": Role.GLOBAL_ADMIN}
        ),
    )

    assert response.status_code == 200
    assert "A vendor staff account cannot belong to a partner." in response.content.decode()
    user.refresh_from_db()
    assert not user.is_staff and not Membership.objects.filter(user=user).exists()
