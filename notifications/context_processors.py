from cpor import access

from . import selectors


def unread_notifications(request):
    """The unread count for the top bar's badge, for partner users only."""
    user = getattr(request, "user", None)
    if user is None or access.membership_of(user) is None:
        return {}
    return {"unread_notifications": selectors.unread_count(user)}
