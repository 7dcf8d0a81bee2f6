"""GET /health/ for load balancers: is this machine able to serve? (database, broker, storage)

Answered by a middleware placed first, before anything else runs: no session, no CSRF, no
language, no host check and no redirect to https. A load balancer probes each machine by its
own address over plain HTTP, with whatever Host header it likes; every other middleware would
answer it with a 400 (unknown host) or a 301 (to https) and the machine would be taken out of
rotation although it is fine. The answer names no host, user or secret, only which part works.

200 {"database": "ok", "broker": "ok", "storage": "ok"}, or 503 with the failing part(s)
saying "error" (the reason goes to the log, not to whoever asks). Each check is bounded by a
short timeout, and the result is kept for HEALTH_CACHE_SECONDS in this process, so that a load
balancer polling every second costs one check every few seconds.
"""

import json
import logging
import os
import socket
import threading
import time
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import HttpResponse

logger = logging.getLogger(__name__)

PATH = "/health/"
TIMEOUT_SECONDS = 2.0

_lock = threading.Lock()
_last: tuple[float, dict[str, str]] | None = None


def check_database() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = %s", [int(TIMEOUT_SECONDS * 1000)])
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
        return
    # The local filesystem broker (a single machine): its queue folder must be writable.
    folder = (settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("data_folder_in")
    if folder and not os.access(folder, os.W_OK):
        raise OSError(f"broker folder {folder} is not writable")


def check_storage() -> None:
    """Write, read back and delete a small file where proofs of execution are kept (the
    filesystem or the S3 bucket): the web machines must be able to do all three."""
    name = default_storage.save(f"health/{socket.gethostname()}-{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != b"ok":
                raise OSError("storage returned other content than was written")
    finally:
        default_storage.delete(name)


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage}


def run_checks() -> dict[str, str]:
    results = {}
    for part, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("Health check: the %s is not available.", part)
            results[part] = "error"
        else:
            results[part] = "ok"
    return results


def status() -> dict[str, str]:
    """The checks' results, at most HEALTH_CACHE_SECONDS old."""
    global _last
    with _lock:
        now = time.monotonic()
        if _last is None or now - _last[0] >= settings.HEALTH_CACHE_SECONDS:
            _last = (now, run_checks())
        return _last[1]


def forget() -> None:
    """Drop the kept result (the tests, which change what the checks find)."""
    global _last
    with _lock:
        _last = None


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        results = status()
        healthy = all(value == "ok" for value in results.values())
        response = HttpResponse(json.dumps(results), status=200 if healthy else 503, content_type="application/json")
        response["Cache-Control"] = "no-store"
        return response
