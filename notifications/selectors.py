"""Reads of a user's notifications: only their own, and only about their partner's claims."""

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


def unread_count(user) -> int:
    """The badge of every partner page: the same rows as notifications_of's unread ones, counted
    without building (and then dropping) its joins and prefetches on each request."""
    partner = access.partner_of(user)
    if partner is None:
        return 0
    return Notification.objects.filter(user=user, claim__partner=partner, read_at__isnull=True).count()


def notification_get_for_user(user, pk) -> Notification:
    """One of the user's notifications; 404 for anybody else's and for a missing one alike."""
    notification = notifications_of(user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification
