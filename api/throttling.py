"""Each API key has its own rate limit (settings.API_RATE_LIMIT), counted in the shared
cache so that every web process sees the same count."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        # The key's random prefix, not its row ID: IDs are reused by a test database, prefixes never.
        return f"api-throttle:{request.auth.prefix}"
