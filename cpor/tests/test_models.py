"""Vendor staff and partners stay apart (cpor/models.py, migration 0002, cpor/access.py)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from cpor import access
from cpor.models import Membership, Role, User
from cpor.tests.factories import MembershipFactory, PartnerFactory, UserFactory, partner_user

pytestmark = pytest.mark.django_db


def test_a_staff_account_never_validates_as_a_partner_member_in_english_and_french(partner):
    reviewer = UserFactory(is_staff=True)
    membership = Membership(user=reviewer, partner=partner, role=Role.GLOBAL_ADMIN)
    for language, expected in (
        ("en", "A vendor staff account cannot belong to a partner."),
        ("fr", "Un compte du personnel de l'éditeur ne peut pas appartenir à un partenaire."),
    ):
        with translation.override(language):
            with pytest.raises(ValidationError) as error:
                membership.full_clean()
            assert expected in " ".join(error.value.messages)
    assert not Membership.objects.filter(user=reviewer).exists()


def test_a_partner_user_never_validates_as_staff(partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    user.is_staff = True
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert "A vendor staff account cannot belong to a partner." in str(error.value)


def test_the_database_refuses_a_membership_for_a_staff_account(partner):
    reviewer = UserFactory(is_staff=True)
    superuser = UserFactory(is_superuser=True)
    for user in (reviewer, superuser):
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(user=user, partner=partner, role=Role.GLOBAL_ADMIN)
    assert not Membership.objects.filter(user__in=[reviewer, superuser]).exists()


def test_the_database_refuses_moving_a_membership_onto_a_staff_account(partner):
    membership = MembershipFactory(partner=partner)
    reviewer = UserFactory(is_staff=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(user=reviewer)
    assert Membership.objects.get(pk=membership.pk).user_id == membership.user_id


def test_the_database_refuses_making_a_partner_user_staff(partner):
    user = partner_user(partner, Role.GLOBAL_ADMIN)
    for field in ("is_staff", "is_superuser"):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.filter(pk=user.pk).update(**{field: True})
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser


def test_a_partner_user_without_a_membership_any_more_may_become_staff(partner):
    user = partner_user(partner, Role.GLOBAL_ADMIN)
    Membership.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(is_staff=True)
    assert User.objects.get(pk=user.pk).is_staff


def test_access_treats_a_staff_account_as_having_no_partner_even_with_a_membership_row(partner):
    user = partner_user(partner, Role.GLOBAL_ADMIN)
    assert access.partner_of(user) == partner
    # The database refuses to store it; a user object changed in memory stands for a row
    # that got there some other way (an older database, a restored backup).
    user.is_staff = True
    assert access.membership_of(user) is None
    assert access.partner_of(user) is None
    assert not access.can_manage_users(user) and not access.can_file_claims(user)


@pytest.mark.django_db(transaction=True)
def test_a_membership_and_staff_status_given_at_the_same_moment_cannot_both_succeed():
    """The membership trigger share-locks the user row, so a concurrent promotion to staff
    waits for it and then sees the membership (and the reverse)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    partner = PartnerFactory()
    user = UserFactory()
    outcome = {}

    def promote():
        try:
            User.objects.filter(pk=user.pk).update(is_staff=True)
            outcome["promoted"] = True
        except IntegrityError:
            outcome["promoted"] = False
        finally:
            connection.close()

    with transaction.atomic():
        Membership.objects.create(user=user, partner=partner, role=Role.GLOBAL_ADMIN)
        racer = threading.Thread(target=promote)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive(), "the promotion must wait for the membership's lock"
    racer.join(timeout=10)
    assert outcome == {"promoted": False}
    user.refresh_from_db()
    assert not user.is_staff and Membership.objects.filter(user=user).exists()
