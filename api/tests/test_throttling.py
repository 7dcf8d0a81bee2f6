"""Requests are rate-limited per key, counted in the shared cache (Redis when REDIS_URL is set)."""

import pytest
from django.conf import settings as django_settings

from cpor.models import Role

pytestmark = pytest.mark.django_db


def test_the_cache_is_redis_when_redis_is_configured():
    if django_settings.REDIS_URL and django_settings.CACHES["default"]["LOCATION"] == django_settings.REDIS_URL:
        assert django_settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    elif not django_settings.REDIS_URL:
        assert django_settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def test_each_key_is_rate_limited_on_its_own(settings, api, make_key):
    settings.API_RATE_LIMIT = "3/minute"
    busy, quiet = api(make_key(Role.INCENTIVES_USER)), api(make_key(Role.INCENTIVES_USER))
    for _ in range(3):
        assert busy.get("/api/v1/mpn-ids/").status_code == 200
    limited = busy.get("/api/v1/mpn-ids/")
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited.json()["detail"].startswith("Request was throttled.")
    assert quiet.get("/api/v1/mpn-ids/").status_code == 200


def test_the_rate_limit_message_is_in_the_key_owners_language(settings, api, make_key, global_admin):
    settings.API_RATE_LIMIT = "1/minute"
    global_admin.language = "fr"
    global_admin.save(update_fields=["language"])
    client = api(make_key(Role.INCENTIVES_USER))
    client.get("/api/v1/mpn-ids/")
    limited = client.get("/api/v1/mpn-ids/")
    assert limited.status_code == 429
    assert limited["Content-Language"] == "fr"
    assert "Requête ralentie" in limited.json()["detail"] or "requête" in limited.json()["detail"].lower()
