"""Writes on API keys: the Global admin creates and revokes them; each use is noted.

A key belongs to the partner and is scoped to one role. It acts as the Global admin who
created it, with the key's role: a Global admin may give any role to the partner's people,
so a key never does more than its creator could arrange, and it stops working as soon as
its creator is no longer an active Global admin of the partner (see api.authentication).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cpor import access
from cpor.models import Role

from .models import ApiKey

# What every key starts with, so that secret scanners and people recognise one.
KEY_PREFIX = "cpor_"
# The last use is recorded at most this often: a write per request would cost more than
# the information is worth.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


class ApiKeyError(Exception):
    """A rule on API keys was broken; the message is for the Global admin."""


def secret_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _log(*, actor, key: ApiKey, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=ApiKey.objects.filter(pk=key.pk), action_flag=flag, change_message=message
    )


def _manager_partner(actor):
    """The partner of an active Global admin; anyone else may not manage keys (403)."""
    if not access.can_manage_users(actor):
        raise PermissionDenied
    return access.partner_of(actor)


def api_key_create(*, actor, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key for the actor's partner, named and scoped to `role`. Returns the key and its
    secret, which is shown this once and never stored (only its SHA-256 is)."""
    partner = _manager_partner(actor)
    name = name.strip()
    if not name:
        raise ApiKeyError(_("Enter a name for this key."))
    role = Role(role)
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        if ApiKey.objects.filter(partner=partner, name__iexact=name, revoked_at__isnull=True).exists():
            raise ApiKeyError(_("Another key of your organisation already has this name."))
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    partner=partner,
                    created_by=actor,
                    name=name,
                    role=role,
                    prefix=prefix,
                    secret_sha256=secret_digest(raw_key),
                )
        except IntegrityError as clash:  # the same name created at the same moment in another tab
            raise ApiKeyError(_("Another key of your organisation already has this name.")) from clash
        _log(actor=actor, key=key, flag=ADDITION, message=f"API key {name} created with the role {role.label}.")
    return key, raw_key


def api_key_revoke(*, actor, key_id: int) -> ApiKey:
    """Revoke one of the partner's keys: from now on it answers 401. Revoking is final."""
    partner = _manager_partner(actor)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(pk=key_id, partner=partner).first()
        if key is None:
            raise Http404
        if key.revoked_at is not None:
            raise ApiKeyError(_("This key was already revoked."))
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        _log(actor=actor, key=key, flag=CHANGE, message=f"API key {key.name} revoked.")
    return key


def api_key_mark_used(key: ApiKey, *, now=None) -> None:
    """Note that the key was just used, unless that was noted less than a minute ago: one
    conditional UPDATE a minute at most, skipped without a query in between."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_PRECISION:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION), pk=key.pk
    ).update(last_used_at=now)
    key.last_used_at = now
