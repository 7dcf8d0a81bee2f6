from . import access


def partner(request):
    """The signed-in user's membership and what the navigation may offer them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "membership": access.membership_of(user),
        "can_file_claims": access.can_file_claims(user),
        "can_manage_users": access.can_manage_users(user),
        "is_reviewer": access.is_reviewer(user),
    }
