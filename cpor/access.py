"""The one place that decides what a user may see and do.

Views, the admin and templates ask here. Partner data is scoped to the user's own
partner; anything outside it is answered exactly like something that does not exist.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Role
from .reviewers import REVIEWERS_GROUP

# What each role may do, by capability. Reading claims, history and reports is open to
# every role of the partner.
FILE_CLAIMS = frozenset({Role.INCENTIVES_ADMIN})
VIEW_USAGE = frozenset({Role.INCENTIVES_ADMIN, Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER})
MANAGE_USERS = frozenset({Role.GLOBAL_ADMIN})


# The user's reverse one-to-one to Membership; its per-user cache is what `user.membership` reads.
_MEMBERSHIP = Membership.user.field.remote_field


def membership_of(user) -> Membership | None:
    """The active partner membership of a signed-in user, or None (staff, or nobody).

    Vendor staff never act as a partner: a staff account has no partner here even if a
    membership row exists (the models and the database refuse one; this is the last guard).
    Read with its partner once per request, and kept where `user.membership` finds it; a
    session's user comes with both already (cpor.backends.UserBackend)."""
    if not user.is_authenticated or not user.is_active or is_staff_account(user):
        return None
    if not _MEMBERSHIP.is_cached(user):
        _MEMBERSHIP.set_cached_value(user, _membership_query(user))
    return _MEMBERSHIP.get_cached_value(user)


def _membership_query(user) -> Membership | None:
    # get() rather than filter().first(): one membership a user at most, and no ORDER BY to
    # build on every page.
    try:
        return Membership.objects.select_related("partner").get(user=user)
    except Membership.DoesNotExist:
        return None


def is_staff_account(user) -> bool:
    """Vendor staff (reviewers, administrators): never a partner user."""
    return bool(user.is_staff or user.is_superuser)


def partner_of(user):
    membership = membership_of(user)
    return membership.partner if membership else None


def has_role(user, roles) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.role in roles


def can_file_claims(user) -> bool:
    return has_role(user, FILE_CLAIMS)


def can_manage_users(user) -> bool:
    return has_role(user, MANAGE_USERS)


def partner_acting_in_role(user, roles):
    """The partner a user acts for in a service that only `roles` may use; anyone else is
    refused (403), whatever they ask for."""
    if not has_role(user, roles):
        raise PermissionDenied
    return partner_of(user)


def lock_or_404(queryset, **lookup):
    """The row `lookup` names, locked for update (inside a transaction), scoped by the lookup
    to what the user may touch: a row outside that scope is a 404, exactly as a missing one."""
    row = queryset.select_for_update().filter(**lookup).first()
    if row is None:
        raise Http404
    return row


def is_reviewer(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.groups.filter(name=REVIEWERS_GROUP).exists())
    )


def partner_required(roles=None):
    """Guard a partner view: anonymous → sign-in, not a partner user or wrong role → 403.

    The view receives `request.membership`. Which partner's objects it may touch is the
    selectors' business; they answer 404 for anything outside that partner.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_of(request.user)
            if membership is None or (roles is not None and membership.role not in roles):
                raise PermissionDenied
            request.membership = membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
