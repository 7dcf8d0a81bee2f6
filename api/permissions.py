"""What a key's role may do through the API: the site's rules (cpor.access).

Every role reads its partner's claims; only a role that files claims (Incentives admin)
writes; usage data follows the site's VIEW_USAGE. The services check the role again.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from cpor import access

from .models import ApiKey


class PartnerKey(BasePermission):
    message = _("Your API key's role may not do this.")

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return False  # DRF answers 401: no key was sent
        roles = getattr(view, "read_roles", None) if request.method in SAFE_METHODS else view.write_roles
        return roles is None or access.has_role(request.user, roles)
