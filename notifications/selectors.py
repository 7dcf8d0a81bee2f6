"""Reads of a user's notifications: only their own, and only about their partner's claims."""

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from cpor import access

from .models import Notification


def notifications_of(user) -> QuerySet[Notification]:
    partner = access.partner_of(user)
    if partner is None:
        return Notification.objects.none()
    return (
        Notification.objects.filter(user=user, claim__partner=partner)
        .select_related("claim", "event", "event__claim")
        .prefetch_related(
            "event__claim__items__product", "event__claim__items__subscription", "event__claim__items__workload"
        )
        .order_by("-created_at", "-id")
    )


# notifications_of's unread rows, counted. Written out: every partner page asks, and the ORM
# took longer to build this statement (some 1.5 ms) than PostgreSQL to answer it.
UNREAD_SQL = """
    SELECT COUNT(*) FROM notifications_notification notification
    JOIN claims_claim claim ON claim.id = notification.claim_id
    WHERE notification.user_id = %s AND notification.read_at IS NULL AND claim.partner_id = %s
"""


def unread_count(user) -> int:
    """The badge of every partner page: how many of the user's notifications about their
    partner's claims are unread."""
    partner = access.partner_of(user)
    if partner is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(UNREAD_SQL, [user.pk, partner.pk])
        return cursor.fetchone()[0]


def notification_get_for_user(user, pk) -> Notification:
    """One of the user's notifications; 404 for anybody else's and for a missing one alike."""
    notification = notifications_of(user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification
