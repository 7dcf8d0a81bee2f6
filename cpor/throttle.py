"""Limits on signing in and on asking for a password reset.

Signing in is watched by django-axes (settings AXES_*): after AXES_FAILURE_LIMIT wrong
passwords for one account, or from one client address, within the cool-off, every sign-in
for that account or from that address is refused until the cool-off has passed since the
last failure. That covers the site's sign-in page and the admin's alike, since both go
through `django.contrib.auth.authenticate`. The functions here are the callables axes is
configured with.

django-axes watches only authentication, so password reset requests are counted by
`cpor.services.password_reset_request` in the database: the count is shared by every web
process without a cache server, and a test's rows go with its transaction.
"""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import ngettext


def client_ip(request) -> str | None:
    """The client's address: the connection's own, or, behind a reverse proxy, the one the
    proxy wrote into CLIENT_IP_HEADER (see cpor/settings/base.py and the README)."""
    header = settings.CLIENT_IP_HEADER
    if header:
        entries = [entry.strip() for entry in request.META.get(header, "").split(",") if entry.strip()]
        if entries:
            # Entries further left were written by the client, who could choose them; the
            # ones our own proxies append are on the right.
            return entries[-min(settings.CLIENT_IP_PROXY_COUNT, len(entries))]
    return request.META.get("REMOTE_ADDR")


def sign_in_username(request, credentials) -> str | None:
    """The account a sign-in attempt is for, as the sign-in compares it (case-insensitively),
    so that "Global@Fabrikam.example" counts against the same account as "global@…"."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    username = (username or "").strip().lower()
    return username or None


def wait_message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-in attempts for this account or from your address. "
        "Wait %(minutes)s minute, then try again.",
        "Too many failed sign-in attempts for this account or from your address. "
        "Wait %(minutes)s minutes, then try again.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets (429): what happened and how long to wait. The
    cool-off restarts with each refused attempt, so the wait is the whole cool-off."""
    minutes = settings.AXES_COOLOFF_MINUTES
    response = render(
        request,
        "registration/locked_out.html",
        {"wait_message": wait_message(minutes)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
