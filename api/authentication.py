"""API keys authenticate API requests: `Authorization: Bearer cpor_...`.

A valid key acts as the Global admin who created it, with the key's role in the key's
partner. The services then check that role exactly as they check a signed-in user's: an
Incentives admin key files claims, any other key only reads. The creator is recorded as
the actor of every change, in the History like on the site.

401 answers: no key, an unknown key, a revoked key, and a key whose creator is no longer
an active Global admin of the partner (deactivated, given another role, or moved).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cpor.models import Membership

from . import selectors, services

SCHEME = "Bearer"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != SCHEME.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the API key as: Authorization: Bearer <key>."))
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        key = selectors.api_key_for_secret(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if key.is_revoked:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if not selectors.creator_may_act(key):
            raise exceptions.AuthenticationFailed(
                _(
                    "This API key no longer works: the Global admin who created it no longer manages your "
                    "organisation. Ask a Global admin for a new key."
                )
            )
        user = key.created_by
        # The key's role, in memory only: cpor.access reads `user.membership`, so every
        # check the site makes on a user applies to the key's role.
        user.membership = Membership(user=user, partner=key.partner, role=key.role)
        services.api_key_mark_used(key)
        return user, key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with this challenge) rather than 403 to a request without a key.
        return f'{SCHEME} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key created by your organisation's Global admin on the site "
            "(Organisation › API keys), sent as `Authorization: Bearer cpor_...`.",
        }
