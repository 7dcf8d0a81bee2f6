"""Reads on the partner side, always through the user: a partner user sees only their own
partner's people and MPN IDs; anything else is answered like something that does not exist."""

from django.db.models import QuerySet
from django.http import Http404

from . import access
from .models import Membership, MpnId


def team_members_of(user) -> QuerySet[Membership]:
    """The people of the user's partner, active ones first, by email."""
    partner = access.partner_of(user)
    if partner is None:
        return Membership.objects.none()
    return Membership.objects.filter(partner=partner).select_related("user").order_by("-user__is_active", "user__email")


def membership_get_for_user(user, pk) -> Membership:
    """One membership of the user's partner; another partner's, or none, is a 404."""
    try:
        return team_members_of(user).get(pk=pk)
    except Membership.DoesNotExist:
        raise Http404 from None


def mpn_list_visible_to(user) -> QuerySet[MpnId]:
    partner = access.partner_of(user)
    if partner is None:
        return MpnId.objects.none()
    return MpnId.objects.filter(partner=partner).order_by("mpn_id")


def mpn_get_for_user(user, pk) -> MpnId:
    try:
        return mpn_list_visible_to(user).get(pk=pk)
    except MpnId.DoesNotExist:
        raise Http404 from None
