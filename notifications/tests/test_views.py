"""The notifications pages: a user's own notifications only, newest first, with the unread
badge; the permission matrix of every URL."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.formats import date_format

from claims import lifecycle
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory
from claims.tests.test_review import make_reviewer
from cpor.models import Role
from cpor.tests.factories import partner_user
from notifications import services
from notifications.models import Notification

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")
MARK_ALL = reverse("notifications:mark_all_read")


def notified_claim(partner, **fields):
    claim = ClaimFactory(mpn__partner=partner, **fields)
    with transaction.atomic():
        event = lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")
    services.event_notify(event_id=event.pk)
    return claim


@pytest.mark.parametrize(("method", "url"), [("get", LIST), ("post", reverse("notifications:open", args=[1]))])
def test_anonymous_is_sent_to_sign_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_cannot_mark_anything_read(client):
    response = client.post(MARK_ALL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", list(Role))
def test_every_role_of_a_partner_reads_its_notifications(login, partner, role):
    user = partner_user(partner, role)
    claim = notified_claim(partner, name="Contoso usage")

    response = login(user).get(LIST)

    assert response.status_code == 200
    assert "Contoso usage" in response.content.decode()
    assert response.context["unread_notifications"] == 1
    assert reverse("notifications:open", args=[Notification.objects.get(user=user, claim=claim).pk]) in (
        response.content.decode()
    )


def test_a_reviewer_without_a_partner_is_forbidden(login):
    assert login(make_reviewer()).get(LIST).status_code == 403


def test_a_user_sees_only_their_own_notifications(login, partner, other_partner):
    me = partner_user(partner, Role.INCENTIVES_ADMIN)
    colleague = partner_user(partner, Role.INCENTIVES_USER)
    stranger = partner_user(other_partner, Role.INCENTIVES_ADMIN)
    notified_claim(partner, name="Ours")
    notified_claim(other_partner, name="Theirs")
    colleagues = Notification.objects.get(user=colleague)
    strangers = Notification.objects.get(user=stranger)

    client = login(me)
    page = client.get(LIST)

    assert [row[0].user for row in page.context["rows"]] == [me]
    assert "Theirs" not in page.content.decode()
    # Someone else's notification answers like a missing one, and stays unread.
    assert client.post(reverse("notifications:open", args=[colleagues.pk])).status_code == 404
    assert client.post(reverse("notifications:open", args=[strangers.pk])).status_code == 404
    client.post(MARK_ALL)
    colleagues.refresh_from_db()
    strangers.refresh_from_db()
    assert colleagues.read_at is None and strangers.read_at is None


def test_each_notification_says_when_in_the_readers_zone(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    notified_claim(partner, name="Ours")
    notification = Notification.objects.get(user=user)

    page = login(user).get(LIST).content.decode()

    # Users have no zone of their own: the reader's zone is UTC, and the page says so.
    assert f"{date_format(notification.event.created_at, 'SHORT_DATETIME_FORMAT')} (UTC)" in page


def test_a_notification_is_dated_when_its_event_happened_not_when_the_worker_wrote_it(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    notified_claim(partner, name="Ours")
    notification = Notification.objects.select_related("event").get(user=user)
    happened = datetime.datetime(2026, 4, 20, 21, 59, tzinfo=datetime.UTC)
    type(notification.event).objects.filter(pk=notification.event_id).update(created_at=happened)

    page = login(user).get(LIST).content.decode()

    assert f"{date_format(happened, 'SHORT_DATETIME_FORMAT')} (UTC)" in page
    assert date_format(notification.created_at, "SHORT_DATETIME_FORMAT") not in page


def test_newest_first_and_paginated(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    claims = [notified_claim(partner, name=f"Claim number {n}") for n in range(27)]

    client = login(user)
    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert [row[0].claim for row in first.context["rows"]][:2] == [claims[-1], claims[-2]]
    assert len(first.context["rows"]) == 25
    assert [row[0].claim for row in second.context["rows"]] == [claims[1], claims[0]]


def test_opening_a_notification_marks_it_read_and_goes_to_the_claim(login, partner):
    user = partner_user(partner, Role.INCENTIVES_USER)
    claim = notified_claim(partner)
    notification = Notification.objects.get(user=user)

    response = login(user).post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response.url == reverse("claims:detail", args=[claim.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_a_notification_read_needs_a_post(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    notified_claim(partner)
    notification = Notification.objects.get(user=user)
    client = login(user)

    assert client.get(reverse("notifications:open", args=[notification.pk])).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None
    # The page offers it as a button of a POST form, with its CSRF token.
    page = client.get(LIST).content.decode()
    assert 'method="post" id="notifications-form"' in page
    assert f'formaction="{reverse("notifications:open", args=[notification.pk])}"' in page


def test_mark_all_read_clears_the_badge(login, partner):
    user = partner_user(partner, Role.BILLING_ADMIN)
    notified_claim(partner)
    notified_claim(partner)
    client = login(user)
    assert client.get(LIST).context["unread_notifications"] == 2

    response = client.post(MARK_ALL)

    assert response.status_code == 302
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    page = client.get(LIST)
    assert page.context["unread_notifications"] == 0
    assert 'data-testid="unread-count"' not in page.content.decode()


def test_mark_all_read_needs_a_post(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    notified_claim(partner)

    assert login(user).get(MARK_ALL).status_code == 405
    assert Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_the_list_reads_in_french(login, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language="fr")
    notified_claim(partner)

    page = login(user).get(LIST).content.decode()

    assert "Tout marquer comme lu" in page
    assert "La revendication a été soumise" in page


def test_the_badge_counts_the_users_own_unread_notifications_of_their_partner_only(login, partner):
    from notifications.selectors import notifications_of, unread_count

    user = partner_user(partner, Role.INCENTIVES_USER)
    colleague = partner_user(partner, Role.BILLING_ADMIN)
    notified_claim(partner)
    read = notified_claim(partner)
    Notification.objects.filter(user=user, claim=read).update(read_at=datetime.datetime.now(datetime.UTC))
    # A notification about another partner's claim (the user's former partner, say) is no
    # longer theirs to see, so it is not counted either.
    elsewhere = ClaimFactory()
    Notification.objects.create(user=user, claim=elsewhere, event=elsewhere.events.create(action="submitted"))

    assert unread_count(user) == 1
    assert unread_count(colleague) == 2
    # The written-out count reads what the notifications list shows as unread.
    for reader in (user, colleague):
        assert unread_count(reader) == notifications_of(reader).filter(read_at__isnull=True).count()
    assert login(user).get(LIST).context["unread_notifications"] == 1
