"""Test settings: the base, with fast hashing and mail kept in memory.

The suite runs against the real services: PostgreSQL and Redis when `DATABASE_URL` /
`REDIS_URL` name them or when they answer on their local default ports, otherwise SQLite
and the filesystem broker. Under CI=true both must be there, or the run stops here.
"""

import os
import socket
import uuid

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, FRAGMENTS_CACHE, REDIS_SOCKET_TIMEOUTS, STORAGES, VAR_DIR, env_bool


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


IN_CI = env_bool("CI", False)

if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
    DATABASES["default"] = dj_database_url.parse("postgres://postgres@127.0.0.1:5432/postgres")
if not os.environ.get("REDIS_URL") and _reachable("127.0.0.1", 6379):
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, **REDIS_SOCKET_TIMEOUTS}
    # The shared cache is Redis as in production (rate limits are counted there). Each test run
    # keys its entries apart, the processes it starts included, so that counts an earlier run
    # left behind (for an API key whose ID this run reuses) never reach this one.
    os.environ.setdefault("CPOR_TEST_RUN", uuid.uuid4().hex[:12])
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"cpor-test-{os.environ['CPOR_TEST_RUN']}",
            "OPTIONS": REDIS_SOCKET_TIMEOUTS,
        },
        "fragments": FRAGMENTS_CACHE,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "test-broker"),
        "data_folder_out": str(VAR_DIR / "test-broker"),
        "control_folder": str(VAR_DIR / "test-broker" / "control"),
        "store_processed": False,
    }

if IN_CI:
    if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured("CI=true: the tests must run on PostgreSQL, and none is reachable.")
    if not REDIS_URL.startswith("redis"):
        raise ImproperlyConfigured("CI=true: the tests must run with Redis, and none is reachable.")

CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {**STORAGES, "default": {**STORAGES["default"], "OPTIONS": {"location": PRIVATE_MEDIA_ROOT}}}
# A failed outbox email may be tried again at once: the tests that retry do not wait; the
# backoff has its own tests (notifications/tests/test_outbox.py).
OUTBOX_BACKOFF_SECONDS = 0
